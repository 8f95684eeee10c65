#include "cpp/broker/runtime_config.h"

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cometmq::broker {
namespace {

using ::testing::HasSubstr;

TEST(RuntimeConfigTest, BrokerPermissionChangesAndTheRestIsKept) {
  BrokerConfig current;
  current.brokerName = "broker-x";
  absl::StatusOr<BrokerConfig> updated =
      ConfigWithUpdate(current, "brokerPermission", "4");
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_EQ(updated->brokerPermission.load(), 4);
  EXPECT_EQ(updated->brokerName, "broker-x");
  EXPECT_EQ(current.brokerPermission.load(), 6);  // not touched yet

  ApplyRuntimeKeys(*updated, &current);
  EXPECT_EQ(current.brokerPermission.load(), 4);
}

TEST(RuntimeConfigTest, UnknownKeyIsRefusedWithTheClosestKey) {
  absl::StatusOr<BrokerConfig> updated =
      ConfigWithUpdate(BrokerConfig(), "brokerPermision", "4");
  ASSERT_TRUE(absl::IsInvalidArgument(updated.status()));
  EXPECT_THAT(updated.status().message(), HasSubstr("unknown key"));
  EXPECT_THAT(updated.status().message(),
              HasSubstr("did you mean 'brokerPermission'"));
}

TEST(RuntimeConfigTest, KeyFixedAtStartIsRefused) {
  absl::StatusOr<BrokerConfig> updated =
      ConfigWithUpdate(BrokerConfig(), "listenPort", "10000");
  ASSERT_TRUE(absl::IsInvalidArgument(updated.status()));
  EXPECT_THAT(updated.status().message(),
              HasSubstr("cannot change while the broker runs"));
}

TEST(RuntimeConfigTest, BadValuesAreRefused) {
  for (const char* value : {"rw", "", "8", "-1", "4.5"}) {
    absl::StatusOr<BrokerConfig> updated =
        ConfigWithUpdate(BrokerConfig(), "brokerPermission", value);
    ASSERT_TRUE(absl::IsInvalidArgument(updated.status())) << value;
    EXPECT_THAT(updated.status().message(), HasSubstr("brokerPermission"));
  }
}

TEST(RuntimeConfigTest, SetPropertyReplacesTheKeysLinesOnly) {
  EXPECT_EQ(SetPropertyInText("# comment\nbrokerName = a\n"
                              "brokerPermission = 6   # rw\nbrokerId=0\n",
                              "brokerPermission", "4"),
            "# comment\nbrokerName = a\nbrokerPermission=4\nbrokerId=0\n");
  // A key not yet in the file is appended, keeping the last line ending.
  EXPECT_EQ(SetPropertyInText("brokerName=a\n", "brokerPermission", "4"),
            "brokerName=a\nbrokerPermission=4\n");
  EXPECT_EQ(SetPropertyInText("brokerName=a", "brokerPermission", "4"),
            "brokerName=a\nbrokerPermission=4");
  EXPECT_EQ(SetPropertyInText("", "brokerPermission", "4"),
            "brokerPermission=4\n");
  // A commented-out assignment is not the key; CRLF lines stay CRLF.
  EXPECT_EQ(SetPropertyInText("#brokerPermission=2\r\nbrokerPermission:6\r\n",
                              "brokerPermission", "4"),
            "#brokerPermission=2\r\nbrokerPermission=4\r\n");
}

TEST(RuntimeConfigTest, PersistPropertyRewritesTheFile) {
  const std::string path =
      std::string(std::getenv("TEST_TMPDIR")) + "/broker.conf";
  {
    std::ofstream out(path);
    out << "brokerName=a\nbrokerPermission=6\n";
  }
  ASSERT_TRUE(PersistProperty(path, "brokerPermission", "4").ok());
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(text.str(), "brokerName=a\nbrokerPermission=4\n");
}

}  // namespace
}  // namespace cometmq::broker
