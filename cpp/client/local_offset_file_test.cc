#include "cpp/client/local_offset_file.h"

#include <stdlib.h>

#include <memory>
#include <string>

#include "gtest/gtest.h"

namespace cometmq::client {
namespace {

TEST(LocalOffsetFileTest, EncodeDecodeRoundTrip) {
  OffsetTable table = {{{"T", "broker-a", 0}, 12},
                       {{"T", "broker-a", 3}, 0},
                       {{"%RETRY%g", "broker-b", 1}, 7}};
  absl::StatusOr<OffsetTable> decoded = DecodeOffsets(EncodeOffsets(table));
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(*decoded, table);
}

TEST(LocalOffsetFileTest, MalformedLineIsNamed) {
  absl::StatusOr<OffsetTable> decoded =
      DecodeOffsets("# c\nT\tb\t0\t5\nT\tb\tx\t5\n");
  ASSERT_FALSE(decoded.ok());
  EXPECT_NE(decoded.status().message().find("line 3"), std::string::npos)
      << decoded.status();
  EXPECT_FALSE(DecodeOffsets("T\tb\t0\t-1\n").ok());
  EXPECT_FALSE(DecodeOffsets("T\tb\t0\n").ok());
}

TEST(LocalOffsetFileTest, WriteCreatesDirectoriesAndReplaces) {
  char tmpl[] = "/tmp/offset_file_testXXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string path = std::string(tmpl) + "/a@b/group/offsets";
  absl::StatusOr<OffsetTable> missing = ReadOffsetFile(path);
  ASSERT_TRUE(missing.ok()) << missing.status();
  EXPECT_TRUE(missing->empty());
  ASSERT_TRUE(WriteOffsetFile(path, {{{"T", "b", 0}, 5}}).ok());
  ASSERT_TRUE(WriteOffsetFile(path, {{{"T", "b", 0}, 9}}).ok());
  absl::StatusOr<OffsetTable> read = ReadOffsetFile(path);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(*read, (OffsetTable{{{"T", "b", 0}, 9}}));
}

TEST(LocalOffsetFileTest, OneClaimPerFileAtATime) {
  char tmpl[] = "/tmp/offset_lock_testXXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string path = std::string(tmpl) + "/a@b/group/offsets";
  absl::StatusOr<std::unique_ptr<OffsetFileLock>> first =
      OffsetFileLock::Acquire(path);
  ASSERT_TRUE(first.ok()) << first.status();
  absl::StatusOr<std::unique_ptr<OffsetFileLock>> second =
      OffsetFileLock::Acquire(path);
  EXPECT_TRUE(absl::IsFailedPrecondition(second.status())) << second.status();
  // Another file is another claim.
  EXPECT_TRUE(OffsetFileLock::Acquire(path + "2").ok());
  first->reset();
  EXPECT_TRUE(OffsetFileLock::Acquire(path).ok());
}

}  // namespace
}  // namespace cometmq::client
