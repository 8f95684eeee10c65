#include "cpp/admin/command.h"

#include "absl/time/civil_time.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
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

TEST(FormatMillisTest, DashForUnsetAndLocalTimeOtherwise) {
  EXPECT_EQ(FormatMillis(0), "-");
  const absl::Time civil = absl::FromCivil(
      absl::CivilSecond(2026, 1, 2, 3, 4, 5), absl::LocalTimeZone());
  EXPECT_EQ(FormatMillis(absl::ToUnixMillis(civil) + 7),
            "2026-01-02 03:04:05.007");
}

}  // namespace
}  // namespace cometmq::admin
