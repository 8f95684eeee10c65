#include "cpp/admin/command.h"

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cpp/admin/command_table.h"
#include "gtest/gtest.h"

namespace cometmq::admin {
namespace {

TEST(ParseTimestampTest, AcceptsMillisNowAndRocketMqDates) {
  EXPECT_EQ(*ParseTimestamp("0"), 0);
  EXPECT_EQ(*ParseTimestamp("1700000000123"), 1700000000123);

  const int64_t before = absl::ToUnixMillis(absl::Now());
  const int64_t now = *ParseTimestamp("now");
  EXPECT_GE(now, before);
  EXPECT_LE(now, absl::ToUnixMillis(absl::Now()));

  const absl::Time civil = absl::FromCivil(
      absl::CivilSecond(2026, 1, 2, 3, 4, 5), absl::LocalTimeZone());
  EXPECT_EQ(*ParseTimestamp("2026-01-02#03:04:05:678"),
            absl::ToUnixMillis(civil) + 678);
}

TEST(ParseTimestampTest, RejectsOtherText) {
  for (const char* text : {"", "-5", "yesterday", "2026-01-02 03:04:05",
                           "2026-01-02#03:04:05", "2026-01-02#03:04:05:6789"}) {
    EXPECT_TRUE(absl::IsInvalidArgument(ParseTimestamp(text).status())) << text;
  }
}

TEST(ParsePermTest, OnlyRocketMqsTwoFourSix) {
  EXPECT_EQ(*ParsePerm("2"), 2);
  EXPECT_EQ(*ParsePerm("4"), 4);
  EXPECT_EQ(*ParsePerm("6"), 6);
  for (const char* text :
       {"", "0", "1", "3", "5", "7", "8", "-2", "rw", "6x"}) {
    absl::StatusOr<int32_t> perm = ParsePerm(text);
    ASSERT_TRUE(absl::IsInvalidArgument(perm.status())) << text;
    EXPECT_NE(perm.status().message().find("-p must be 2 (write only)"),
              std::string::npos);
  }
  EXPECT_EQ(PermName(6), "RW");
  EXPECT_EQ(PermName(4), "R");
  EXPECT_EQ(PermName(2), "W");
  EXPECT_EQ(PermName(0), "-");
}

TEST(ParseBoolTest, TrueOrFalseInAnyCase) {
  EXPECT_TRUE(*ParseBool('o', "true"));
  EXPECT_TRUE(*ParseBool('o', "TRUE"));
  EXPECT_FALSE(*ParseBool('o', "false"));
  EXPECT_FALSE(*ParseBool('o', "False"));
  for (const char* text : {"", "maybe", "1", "yes", "truee"}) {
    absl::StatusOr<bool> value = ParseBool('o', text);
    ASSERT_TRUE(absl::IsInvalidArgument(value.status())) << text;
    EXPECT_EQ(value.status().message(),
              absl::StrCat("-o must be true or false, got '", text, "'"));
  }
}

TEST(CommandHelpTest, DocumentsTheRocketMqFlags) {
  const std::vector<CommandSpec> all = AllCommands();
  const std::string update = CommandHelp(*FindCommand(all, "updateTopic"));
  EXPECT_NE(update.find("[-p PERM]"), std::string::npos) << update;
  EXPECT_NE(update.find("[-o true|false]"), std::string::npos) << update;
  EXPECT_NE(update.find("4 read only"), std::string::npos) << update;
  const std::string list = CommandHelp(*FindCommand(all, "topicList"));
  EXPECT_NE(list.find("[-c]"), std::string::npos) << list;
  EXPECT_NE(list.find("#Consumer Group"), std::string::npos) << list;
  const std::string cluster = CommandHelp(*FindCommand(all, "clusterList"));
  EXPECT_NE(cluster.find("[-m]"), std::string::npos) << cluster;
  EXPECT_NE(cluster.find("[-i SECONDS]"), std::string::npos) << cluster;
  EXPECT_NE(cluster.find("SIGTERM"), std::string::npos) << cluster;
}

TEST(FormatMillisTest, DashForUnsetAndLocalTimeOtherwise) {
  EXPECT_EQ(FormatMillis(0), "-");
  const absl::Time civil = absl::FromCivil(
      absl::CivilSecond(2026, 1, 2, 3, 4, 5), absl::LocalTimeZone());
  EXPECT_EQ(FormatMillis(absl::ToUnixMillis(civil) + 7),
            "2026-01-02 03:04:05.007");
}

}  // namespace
}  // namespace cometmq::admin
