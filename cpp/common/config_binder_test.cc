#include "cpp/common/config_binder.h"

#include "gtest/gtest.h"

namespace cometmq {
namespace {

struct Sample {
  int64_t id = 0;
  int32_t port = 10911;
  bool enabled = false;
  double ratio = 0.75;
  std::string role = "ASYNC_MASTER";
  std::string name;
};

ConfigBinder MakeBinder(Sample* s) {
  ConfigBinder b;
  b.Bind("brokerId", &s->id);
  b.Bind("listenPort", &s->port);
  b.Bind("autoCreateTopicEnable", &s->enabled);
  b.Bind("diskMaxUsedSpaceRatio", &s->ratio);
  b.BindEnum("brokerRole", &s->role, {"ASYNC_MASTER", "SYNC_MASTER", "SLAVE"});
  b.Bind("brokerName", &s->name);
  b.Alias("brokerNameOld", "brokerName");
  return b;
}

TEST(ConfigBinderTest, AppliesTypedValues) {
  Sample s;
  ConfigBinder b = MakeBinder(&s);
  std::vector<std::string> warnings;
  ASSERT_TRUE(b.Apply(ParseProperties("brokerId = 2\nlistenPort=1\n"
                                      "autoCreateTopicEnable=TRUE\n"
                                      "diskMaxUsedSpaceRatio=0.5\n"
                                      "brokerRole=SLAVE\nbrokerNameOld=x\n",
                                      "f"),
                      &warnings)
                  .ok());
  EXPECT_EQ(s.id, 2);
  EXPECT_EQ(s.port, 1);
  EXPECT_TRUE(s.enabled);
  EXPECT_DOUBLE_EQ(s.ratio, 0.5);
  EXPECT_EQ(s.role, "SLAVE");
  EXPECT_EQ(s.name, "x");
  EXPECT_TRUE(warnings.empty());
}

TEST(ConfigBinderTest, BadValueNamesFileLineAndKey) {
  Sample s;
  ConfigBinder b = MakeBinder(&s);
  std::vector<std::string> warnings;
  absl::Status st = b.Apply(
      ParseProperties("brokerName=a\nbrokerId=abc\n", "b.conf"), &warnings);
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("b.conf:2"), std::string::npos) << st;
  EXPECT_NE(st.message().find("brokerId"), std::string::npos) << st;

  st = b.Apply(ParseProperties("brokerRole=SOMETIMES\n", "c.conf"), &warnings);
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("c.conf:1"), std::string::npos) << st;
  EXPECT_NE(st.message().find("SYNC_MASTER"), std::string::npos) << st;

  st =
      b.Apply(ParseProperties("listenPort=99999999999\n", "d.conf"), &warnings);
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
}

TEST(ConfigBinderTest, UnknownKeyWarnsWithClosestKey) {
  Sample s;
  ConfigBinder b = MakeBinder(&s);
  std::vector<std::string> warnings;
  ASSERT_TRUE(b.Apply(ParseProperties(
                          "brokerNme=x\nzzzzzzzzzzzzzzzzzzzzzzzzzz=1\n", "f"),
                      &warnings)
                  .ok());
  ASSERT_EQ(warnings.size(), 2u);
  EXPECT_NE(warnings[0].find("did you mean 'brokerName'"), std::string::npos)
      << warnings[0];
  EXPECT_EQ(warnings[1].find("did you mean"), std::string::npos) << warnings[1];
}

TEST(ConfigBinderTest, LaterEntriesWin) {
  Sample s;
  ConfigBinder b = MakeBinder(&s);
  std::vector<std::string> warnings;
  std::vector<PropertyEntry> overrides = {{"brokerId", "7", "command line", 0}};
  auto entries = ParseProperties("brokerId=1\n", "f");
  entries.insert(entries.end(), overrides.begin(), overrides.end());
  ASSERT_TRUE(b.Apply(entries, &warnings).ok());
  EXPECT_EQ(s.id, 7);
  EXPECT_NE(b.Dump().find("brokerId=7\n"), std::string::npos);
}

}  // namespace
}  // namespace cometmq
