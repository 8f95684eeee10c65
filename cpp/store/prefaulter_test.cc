#include "cpp/store/prefaulter.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "cpp/store/store_test_util.h"
#include "gtest/gtest.h"

namespace cometmq::store {
namespace {

constexpr int64_t kPage = 4096;
constexpr int64_t kSegment = 4 << 20;
constexpr int64_t kWindow = 1 << 20;

// Pages of [from, to) of `file` that this process has mapped (present in
// its page table, so touching them takes no fault), from /proc/self/pagemap.
int64_t MappedPages(const MappedFile& file, int64_t from, int64_t to) {
  int fd = ::open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
  EXPECT_GE(fd, 0);
  int64_t n = 0;
  for (int64_t pos = from; pos < to; pos += kPage) {
    uint64_t entry = 0;
    auto page = reinterpret_cast<uintptr_t>(file.data() + pos) / kPage;
    EXPECT_EQ(::pread(fd, &entry, sizeof(entry),
                      static_cast<off_t>(page * sizeof(entry))),
              static_cast<ssize_t>(sizeof(entry)));
    n += static_cast<int64_t>((entry >> 63) & 1);
  }
  ::close(fd);
  return n;
}

class PrefaulterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    log_ = std::make_unique<MappedFileQueue>(MakeTempDir("prefault"), kSegment);
    ASSERT_TRUE(log_->Load().ok());
  }

  std::shared_ptr<MappedFile> Append(int64_t bytes, char fill) {
    absl::StatusOr<std::shared_ptr<MappedFile>> file =
        log_->LastFileForWrite(0);
    EXPECT_TRUE(file.ok());
    EXPECT_TRUE((*file)->Append(std::string(static_cast<size_t>(bytes), fill)));
    return *file;
  }

  std::unique_ptr<MappedFileQueue> log_;
};

TEST_F(PrefaulterTest, PagesAheadOfTheEndAreMappedAndStayZero) {
  std::shared_ptr<MappedFile> file = Append(10000, 'a');
  ASSERT_EQ(MappedPages(*file, 16 * kPage, kWindow), 0)
      << "pages past the written ones start unmapped";

  Prefaulter prefaulter(log_.get(), kWindow, absl::Milliseconds(1));
  prefaulter.Start();
  // It keeps at least half a window ready past the end.
  ASSERT_TRUE(prefaulter.AwaitReady(10000 + kWindow / 2, absl::Seconds(10)));
  EXPECT_EQ(MappedPages(*file, 3 * kPage, 3 * kPage + kWindow / 2),
            kWindow / 2 / kPage);
  EXPECT_EQ(std::string(file->data(), 10000), std::string(10000, 'a'));
  EXPECT_EQ(std::memcmp(file->data() + 10000, std::string(kWindow, '\0').data(),
                        kWindow),
            0);
  EXPECT_EQ(file->wrote_position(), 10000);
}

TEST_F(PrefaulterTest, FollowsTheWriterIntoTheNextSegment) {
  Prefaulter prefaulter(log_.get(), kWindow, absl::Milliseconds(1));
  std::shared_ptr<MappedFile> first = Append(kSegment - kWindow / 4, 'b');
  prefaulter.Start();
  // Ready stops at the segment's end: the next one does not exist yet.
  ASSERT_TRUE(prefaulter.AwaitReady(kSegment, absl::Seconds(10)));
  EXPECT_EQ(MappedPages(*first, kSegment - kPage, kSegment), 1);

  first->set_wrote_position(kSegment);
  std::shared_ptr<MappedFile> second = Append(100, 'c');
  ASSERT_EQ(second->start_offset(), kSegment);
  ASSERT_TRUE(
      prefaulter.AwaitReady(kSegment + 100 + kWindow / 2, absl::Seconds(10)));
  EXPECT_EQ(MappedPages(*second, kPage, kWindow / 2), kWindow / 2 / kPage - 1);
  EXPECT_EQ(MappedPages(*second, 2 * kWindow, kSegment), 0)
      << "only a window ahead is prefaulted";
  EXPECT_EQ(std::string(second->data(), 100), std::string(100, 'c'));
}

}  // namespace
}  // namespace cometmq::store
