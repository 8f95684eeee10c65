#include "cpp/client/subscription.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cometmq::client {
namespace {

using ::testing::HasSubstr;

TEST(SubscriptionTest, TagExpressionsMatchByExactTag) {
  auto sub = ParseSubscription("T", "TagA || TagB");
  ASSERT_TRUE(sub.ok());
  EXPECT_EQ(sub->type, ExpressionType::kTag);
  EXPECT_TRUE(sub->Matches("TagA"));
  EXPECT_FALSE(sub->Matches("TagC"));
  auto all = ParseSubscription("T", MessageSelector::ByTag("*"));
  ASSERT_TRUE(all.ok());
  EXPECT_TRUE(all->Matches("anything"));
}

TEST(SubscriptionTest, SqlSelectorKeepsEveryMessageTheBrokerReturned) {
  // The broker filters SQL92 subscriptions; the client's exact-tag recheck
  // must not drop what it selected (whatever the messages' tags).
  auto sub =
      ParseSubscription("T", MessageSelector::BySql("TAGS = 'TagA' AND a > 5"));
  ASSERT_TRUE(sub.ok()) << sub.status();
  EXPECT_EQ(sub->type, ExpressionType::kSql92);
  EXPECT_EQ(sub->expression, "TAGS = 'TagA' AND a > 5");
  EXPECT_TRUE(sub->Matches("TagA"));
  EXPECT_TRUE(sub->Matches("TagB"));
  EXPECT_TRUE(sub->Matches(""));
}

TEST(SubscriptionTest, BadSqlSelectorIsRefusedWithItsPosition) {
  auto sub = ParseSubscription("T", MessageSelector::BySql("a > 'x'"));
  ASSERT_FALSE(sub.ok());
  EXPECT_EQ(sub.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(sub.status().message(), HasSubstr("position 5"));
  EXPECT_FALSE(ParseSubscription("", MessageSelector::BySql("a > 1")).ok());
  EXPECT_FALSE(ParseSubscription("T", MessageSelector::BySql("")).ok());
}

}  // namespace
}  // namespace cometmq::client
