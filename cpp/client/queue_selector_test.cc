#include "cpp/client/queue_selector.h"

#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace cometmq::client {
namespace {

std::vector<MessageQueue> TwoBrokers() {
  std::vector<MessageQueue> queues;
  for (const char* broker : {"a", "b"}) {
    for (int q = 0; q < 4; ++q) queues.push_back({"T", broker, q});
  }
  return queues;
}

const absl::Time kNow = absl::FromUnixSeconds(1000000);

TEST(QueueSelectorTest, RoundRobinVisitsEveryQueueEvenly) {
  LatencyFaultTolerance faults;
  QueueSelector selector(&faults);
  auto queues = TwoBrokers();
  std::map<MessageQueue, int> hits;
  for (int i = 0; i < 80; ++i) ++hits[selector.Select(queues, "", kNow)];
  ASSERT_EQ(hits.size(), queues.size());
  for (const auto& [queue, count] : hits)
    EXPECT_EQ(count, 10) << queue.ToString();
}

TEST(QueueSelectorTest, SkipsFailedBrokerUntilIsolationEnds) {
  LatencyFaultTolerance faults(absl::Milliseconds(550), absl::Seconds(30));
  QueueSelector selector(&faults);
  auto queues = TwoBrokers();
  faults.Record("a", absl::Milliseconds(5), /*failed=*/true, kNow);
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(selector.Select(queues, "", kNow + absl::Seconds(1)).broker_name,
              "b");
  }
  std::map<std::string, int> later;
  for (int i = 0; i < 16; ++i) {
    ++later[selector.Select(queues, "", kNow + absl::Seconds(31)).broker_name];
  }
  EXPECT_EQ(later["a"], 8);
}

TEST(QueueSelectorTest, SkipsSlowBrokerButNotFastOne) {
  LatencyFaultTolerance faults;
  faults.Record("a", absl::Milliseconds(600), false, kNow);
  faults.Record("b", absl::Milliseconds(100), false, kNow);
  EXPECT_FALSE(faults.IsAvailable("a", kNow));
  EXPECT_TRUE(faults.IsAvailable("b", kNow));
  // A fast answer later clears the mark.
  faults.Record("a", absl::Milliseconds(10), false, kNow);
  EXPECT_TRUE(faults.IsAvailable("a", kNow));
}

TEST(QueueSelectorTest, UsesFaultyBrokerWhenItIsTheOnlyOne) {
  LatencyFaultTolerance faults;
  QueueSelector selector(&faults);
  std::vector<MessageQueue> queues = {{"T", "a", 0}, {"T", "a", 1}};
  faults.Record("a", absl::ZeroDuration(), true, kNow);
  EXPECT_EQ(selector.Select(queues, "a", kNow).broker_name, "a");
}

TEST(QueueSelectorTest, RetryAvoidsTheLastBroker) {
  LatencyFaultTolerance faults;
  QueueSelector selector(&faults);
  auto queues = TwoBrokers();
  for (int i = 0; i < 16; ++i) {
    EXPECT_EQ(selector.Select(queues, "b", kNow).broker_name, "a");
  }
}

TEST(QueueSelectorTest, ShardingKeyIsStableAndSpreads) {
  // Java: "order-42".hashCode() == 1234255197.
  EXPECT_EQ(ShardingIndex("order-42", 8), 1234255197 % 8);
  std::map<int, int> spread;
  for (int i = 0; i < 1000; ++i) {
    std::string key = absl::StrCat("order-", i);
    int index = ShardingIndex(key, 8);
    EXPECT_EQ(index, ShardingIndex(key, 8));
    ASSERT_GE(index, 0);
    ASSERT_LT(index, 8);
    ++spread[index];
  }
  EXPECT_EQ(spread.size(), 8u);
}

}  // namespace
}  // namespace cometmq::client
