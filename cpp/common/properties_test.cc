#include "cpp/common/properties.h"

#include "gtest/gtest.h"

namespace cometmq {
namespace {

TEST(PropertiesTest, SpacesCommentsAndInlineComments) {
  auto entries = ParseProperties(
      "# comment\n"
      "! also a comment\n"
      "\n"
      "brokerName = broker-a       #Broker的名字\n"
      "brokerId=0\n"
      "path = /a#b\n"
      "colon: value\n"
      "  empty =  \n",
      "x.conf");
  ASSERT_EQ(entries.size(), 5u);
  EXPECT_EQ(entries[0].key, "brokerName");
  EXPECT_EQ(entries[0].value, "broker-a");
  EXPECT_EQ(entries[0].line, 4);
  EXPECT_EQ(entries[1].value, "0");
  EXPECT_EQ(entries[2].value, "/a#b");
  EXPECT_EQ(entries[3].key, "colon");
  EXPECT_EQ(entries[3].value, "value");
  EXPECT_EQ(entries[4].key, "empty");
  EXPECT_EQ(entries[4].value, "");
}

TEST(PropertiesTest, CrLfLineEndings) {
  auto entries = ParseProperties("a = 1\r\nb=2\r\n", "x");
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0].value, "1");
  EXPECT_EQ(entries[1].value, "2");
}

TEST(PropertiesTest, CommandLineOverridesAreExtracted) {
  std::vector<std::string> args = {"-c", "broker.conf", "--brokerId=3",
                                   "--flag", "--listenPort=10921"};
  auto overrides = ExtractCommandLineOverrides(&args);
  ASSERT_EQ(overrides.size(), 2u);
  EXPECT_EQ(overrides[0].key, "brokerId");
  EXPECT_EQ(overrides[0].value, "3");
  EXPECT_EQ(overrides[1].key, "listenPort");
  EXPECT_EQ(args, (std::vector<std::string>{"-c", "broker.conf", "--flag"}));
}

TEST(PropertiesTest, MissingFileIsNotFound) {
  auto result = LoadPropertiesFile("/nonexistent/broker.conf");
  EXPECT_EQ(result.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(result.status().message().find("/nonexistent/broker.conf"),
            std::string::npos);
}

TEST(PropertiesTest, DirectoryIsAnErrorNotAnEmptyFile) {
  const std::string dir = ::testing::TempDir();
  auto result = LoadPropertiesFile(dir);
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.status().message().find(dir), std::string::npos);
  EXPECT_NE(result.status().message().find("directory"), std::string::npos)
      << result.status();
}

}  // namespace
}  // namespace cometmq
