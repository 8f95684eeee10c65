#include "cpp/client/retry_copy.h"

#include <limits>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace cometmq::client {
namespace {

MessageExt Failed() {
  MessageExt m;
  m.topic = "Orders";  // as presented: the first topic
  m.body = "b";
  m.tags = "TagA";
  m.keys = {"k1"};
  m.msg_id = "UNIQ";
  m.broker_name = "broker-a";
  m.reconsume_times = 2;
  m.properties = {{"user", "v"},
                  {"TRAN_MSG", "true"},
                  {"REAL_TOPIC", "Orders"},
                  {"REAL_QID", "1"}};
  return m;
}

TEST(RetryCopyTest, CarriesTheMessageAndTheRetryCounts) {
  Message copy = MakeRetryCopy("G", Failed(), /*to_dlq=*/false, 16);
  EXPECT_EQ(copy.topic, "%RETRY%G");
  EXPECT_EQ(copy.body, "b");
  EXPECT_EQ(copy.tags, "TagA");
  EXPECT_EQ(copy.keys, std::vector<std::string>{"k1"});
  EXPECT_EQ(copy.delay_level, 5);  // 3 + reconsume times
  EXPECT_EQ(copy.properties["user"], "v");
  EXPECT_EQ(copy.properties["UNIQ_KEY"], "UNIQ");
  EXPECT_EQ(copy.properties["RETRY_TOPIC"], "Orders");
  EXPECT_EQ(copy.properties["ORIGIN_MESSAGE_ID"], "UNIQ");
  EXPECT_EQ(copy.properties["RECONSUME_TIME"], "3");
  EXPECT_EQ(copy.properties["MAX_RECONSUME_TIMES"], "16");
  for (const char* dropped : {"TRAN_MSG", "REAL_TOPIC", "REAL_QID"}) {
    EXPECT_EQ(copy.properties.count(dropped), 0u) << dropped;
  }
}

TEST(RetryCopyTest, KeepsTheFirstFailureOfARetriedMessage) {
  MessageExt m = Failed();
  m.properties["RETRY_TOPIC"] = "First";
  m.properties["ORIGIN_MESSAGE_ID"] = "FIRST-ID";
  Message copy = MakeRetryCopy("G", m, false, 16);
  EXPECT_EQ(copy.properties["RETRY_TOPIC"], "First");
  EXPECT_EQ(copy.properties["ORIGIN_MESSAGE_ID"], "FIRST-ID");
}

// A count at INT32_MAX used to overflow: a negative RECONSUME_TIME (retries
// without end) and a negative delay level, which the send refuses, so the
// copy could never be sent.
TEST(RetryCopyTest, CountsStopAtInt32Max) {
  MessageExt m = Failed();
  m.reconsume_times = std::numeric_limits<int32_t>::max();
  Message copy = MakeRetryCopy("G", m, false, 16);
  EXPECT_EQ(copy.properties["RECONSUME_TIME"], "2147483647");
  EXPECT_GT(copy.delay_level, 0);
}

TEST(RetryCopyTest, DeadLetterCopiesAreNotDelayed) {
  for (auto [to_dlq, max] : {std::pair{true, 16}, std::pair{false, 0}}) {
    Message copy = MakeRetryCopy("G", Failed(), to_dlq, max);
    EXPECT_EQ(copy.delay_level, to_dlq ? 0 : 5);
    EXPECT_EQ(copy.properties["MAX_RECONSUME_TIMES"], "-1");
  }
}

TopicRoute RouteOver(const std::vector<std::string>& brokers) {
  TopicRoute route;
  for (const std::string& broker : brokers) {
    for (int32_t q = 0; q < 2; ++q) {
      route.write_queues.push_back({"%RETRY%G", broker, q});
    }
  }
  return route;
}

std::vector<std::string> Brokers(const std::vector<MessageQueue>& queues) {
  std::vector<std::string> names;
  for (const MessageQueue& q : queues) names.push_back(q.broker_name);
  return names;
}

TEST(RetryCopyTest, TargetsAreOneQueuePerBrokerOriginLast) {
  const TopicRoute route = RouteOver({"broker-a", "broker-b", "broker-c"});
  EXPECT_EQ(Brokers(RetryCopyTargets(route, "broker-a", true)),
            (std::vector<std::string>{"broker-b", "broker-c", "broker-a"}));
  // A broker that did not answer is not asked again.
  EXPECT_EQ(Brokers(RetryCopyTargets(route, "broker-a", false)),
            (std::vector<std::string>{"broker-b", "broker-c"}));
  EXPECT_TRUE(
      RetryCopyTargets(RouteOver({"broker-a"}), "broker-a", false).empty());
}

}  // namespace
}  // namespace cometmq::client
