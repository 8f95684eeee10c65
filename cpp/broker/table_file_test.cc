#include "cpp/broker/table_file.h"

#include <filesystem>
#include <string>

#include "cpp/broker/config_file.h"
#include "gtest/gtest.h"

namespace cometmq::broker {
namespace {

std::string TempDir(const std::string& name) {
  std::filesystem::path dir =
      std::filesystem::path(::testing::TempDir()) / ("table_file_" + name);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir.string();
}

TEST(ReadTableFileTest, AbsentIsNothingAndCompleteIsItsContent) {
  const std::string path = TempDir("read") + "/topics.json";
  absl::StatusOr<std::optional<std::string>> absent =
      ReadTableFile(path, "no topics");
  ASSERT_TRUE(absent.ok()) << absent.status();
  EXPECT_FALSE(absent->has_value());
  ASSERT_TRUE(WriteFileAtomically(path, "# header\nT=1\n").ok());
  absl::StatusOr<std::optional<std::string>> read =
      ReadTableFile(path, "no topics");
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(**read, "# header\nT=1\n");
}

TEST(ReadTableFileTest, AFileCutShortIsDataLoss) {
  const std::string path = TempDir("cut") + "/consumerOffset.json";
  for (const std::string cut : {"", "# header\nG@T=0:1"}) {
    ASSERT_TRUE(WriteFileAtomically(path, cut).ok());
    absl::StatusOr<std::optional<std::string>> read =
        ReadTableFile(path, "no committed offsets");
    EXPECT_EQ(read.status().code(), absl::StatusCode::kDataLoss) << cut;
    EXPECT_EQ(read.status().message(),
              path + " is truncated (" + std::to_string(cut.size()) +
                  " bytes, no line break at the end); restore it, or remove "
                  "it to start with no committed offsets");
  }
}

TEST(TableFileTest, WritesOnlyWhatChanged) {
  const std::string path = TempDir("changed") + "/groups.json";
  TableFile file(path);
  int encoded = 0;
  auto encode = [&] {
    ++encoded;
    return std::string("v1\n");
  };
  ASSERT_TRUE(file.Persist(encode).ok());
  EXPECT_FALSE(std::filesystem::exists(path));
  EXPECT_EQ(encoded, 0);

  file.MarkChanged();
  ASSERT_TRUE(file.Persist(encode).ok());
  EXPECT_EQ(**ReadFileIfExists(path), "v1\n");
  EXPECT_EQ(encoded, 1);

  // Unchanged since: not written again.
  std::filesystem::remove(path);
  ASSERT_TRUE(file.Persist(encode).ok());
  EXPECT_FALSE(std::filesystem::exists(path));
  EXPECT_EQ(encoded, 1);
}

TEST(TableFileTest, AFailedWriteIsTriedAgainAtTheNextPersist) {
  const std::string path = TempDir("retry") + "/consumerOffset.json";
  TableFile file(path);
  // Writes to /dev/full fail with ENOSPC, as on a full disk; the temp copy
  // is opened through this link (removed by the failed write).
  std::filesystem::create_symlink("/dev/full", path + ".tmp");
  file.MarkChanged();
  absl::Status full = file.Persist([] { return std::string("v1\n"); });
  EXPECT_EQ(full.code(), absl::StatusCode::kResourceExhausted) << full;
  EXPECT_FALSE(std::filesystem::exists(path));
  // No new change, but the lost write is made now.
  ASSERT_TRUE(file.Persist([] { return std::string("v2\n"); }).ok());
  EXPECT_EQ(**ReadFileIfExists(path), "v2\n");
}

}  // namespace
}  // namespace cometmq::broker
