#include "cpp/store/mapped_file_queue.h"

#include <string>

#include "cpp/store/store_test_util.h"
#include "gtest/gtest.h"

namespace cometmq::store {
namespace {

constexpr int64_t kPage = 4096;

// ASYNC_FLUSH flushes only once `least_pages` pages are dirty, but a full
// segment never gets another dirty page: as in RocketMQ, its last pages go
// at the next flush rather than holding back the flush of the segments
// after it until the thorough flush.
TEST(MappedFileQueueTest, FullSegmentIsFlushedWhateverItsDirtyPages) {
  MappedFileQueue queue(MakeTempDir("mfq-full"), 16 * kPage);
  ASSERT_TRUE(queue.Load().ok());
  std::shared_ptr<MappedFile> first = *queue.LastFileForWrite(0);
  ASSERT_TRUE(first->Append(std::string(15 * kPage, 'a')));
  ASSERT_EQ(*queue.Flush(4), 15 * kPage);
  // The segment's last page, then eight pages of the next segment.
  ASSERT_TRUE(first->Append(std::string(kPage, 'b')));
  ASSERT_TRUE(first->full());
  std::shared_ptr<MappedFile> second = *queue.LastFileForWrite(0);
  ASSERT_NE(second, first);
  ASSERT_TRUE(second->Append(std::string(8 * kPage, 'c')));
  EXPECT_EQ(*queue.Flush(4), 16 * kPage + 8 * kPage);
}

}  // namespace
}  // namespace cometmq::store
