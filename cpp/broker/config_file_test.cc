#include "cpp/broker/config_file.h"

#include <filesystem>
#include <string>

#include "gtest/gtest.h"

namespace cometmq::broker {
namespace {

std::string TempDir(const std::string& name) {
  std::filesystem::path dir =
      std::filesystem::path(::testing::TempDir()) / ("config_file_" + name);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir.string();
}

TEST(ConfigFileTest, WritesAndReadsBack) {
  const std::string path = TempDir("roundtrip") + "/topics.json";
  EXPECT_FALSE(ReadFileIfExists(path)->has_value());
  ASSERT_TRUE(WriteFileAtomically(path, "{\"a\": 1}\n").ok());
  ASSERT_TRUE(WriteFileAtomically(path, "{\"b\": 2}\n").ok());
  EXPECT_EQ(**ReadFileIfExists(path), "{\"b\": 2}\n");
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
}

TEST(ConfigFileTest, FullDiskKeepsTheOldFileAndLeavesNoTempCopy) {
  const std::string path = TempDir("full") + "/consumerOffset.json";
  ASSERT_TRUE(WriteFileAtomically(path, "old\n").ok());
  // Writes to /dev/full fail with ENOSPC, as on a full disk; the temp copy
  // is opened through this link.
  std::filesystem::create_symlink("/dev/full", path + ".tmp");
  absl::Status s = WriteFileAtomically(path, "new\n");
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted) << s;
  EXPECT_NE(s.message().find("No space left on device"), std::string::npos)
      << s;
  EXPECT_FALSE(
      std::filesystem::exists(std::filesystem::symlink_status(path + ".tmp")));
  EXPECT_EQ(**ReadFileIfExists(path), "old\n");
  ASSERT_TRUE(WriteFileAtomically(path, "new\n").ok());
  EXPECT_EQ(**ReadFileIfExists(path), "new\n");
}

}  // namespace
}  // namespace cometmq::broker
