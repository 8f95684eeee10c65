#include "cpp/store/index_service.h"

#include <filesystem>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "cpp/common/byte_order.h"
#include "cpp/store/index_file.h"
#include "cpp/store/store_test_util.h"
#include "gtest/gtest.h"

namespace cometmq::store {
namespace {

// Writes an index file of `size` bytes whose header says its entries end
// at commit log offset `end`.
void WriteIndexFile(const std::string& path, int64_t size, int64_t end) {
  std::string bytes(static_cast<size_t>(size), '\0');
  PutBig64(bytes.data() + 24, end);
  std::ofstream(path, std::ios::binary) << bytes;
}

// An index file written under other maxHashSlotNum/maxIndexNum values is
// not searched, and is deleted once retention has passed its entries
// rather than kept for ever.
TEST(IndexServiceTest, FileOfAnotherSizeIsDeletedOnceRetentionPassesIt) {
  const std::string dir = MakeTempDir("index_other_size");
  const std::string other = absl::StrCat(dir, "/20200101000000000");
  WriteIndexFile(other, IndexFile::FileSize(10, 10), 5000);
  IndexService index(dir, 16, 16);
  ASSERT_TRUE(index.Load().ok());

  EXPECT_EQ(index.DeleteBelow(4000), 0);
  EXPECT_TRUE(std::filesystem::exists(other));
  EXPECT_EQ(index.DeleteBelow(5001), 1);
  EXPECT_FALSE(std::filesystem::exists(other));
}

// Too short for a header: nothing in it to keep.
TEST(IndexServiceTest, FileShorterThanAHeaderGoesAtTheFirstRetention) {
  const std::string dir = MakeTempDir("index_short");
  const std::string other = absl::StrCat(dir, "/20200101000000000");
  std::ofstream(other, std::ios::binary) << "short";
  IndexService index(dir, 16, 16);
  ASSERT_TRUE(index.Load().ok());
  EXPECT_EQ(index.DeleteBelow(1), 1);
  EXPECT_FALSE(std::filesystem::exists(other));
}

}  // namespace
}  // namespace cometmq::store
