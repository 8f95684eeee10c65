#include "cpp/client/pull_consumer.h"

#include <string>
#include <vector>

#include "cpp/client/subscription.h"
#include "cpp/client/test_cluster.h"
#include "gtest/gtest.h"

namespace cometmq::client {
namespace {

// Poll and Commit outside Start()..Shutdown() are refused: before Start()
// there is no offset store to commit to, and an empty Poll would let a
// poll loop spin.
TEST(PullConsumerTest, PollAndCommitNeedARunningConsumer) {
  testing::TestNameServer namesrv;
  ConsumerOptions options;
  options.client.namesrv_addr = namesrv.address();
  DefaultLitePullConsumer consumer("CGIdle", options);
  ASSERT_TRUE(consumer.Subscribe("TopicIdle", "*").ok());

  EXPECT_EQ(consumer.Commit().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(consumer.Poll(absl::Milliseconds(10)).status().code(),
            absl::StatusCode::kFailedPrecondition);

  ASSERT_TRUE(consumer.Start().ok());
  EXPECT_TRUE(consumer.Commit().ok());
  absl::StatusOr<std::vector<MessageExt>> polled =
      consumer.Poll(absl::Milliseconds(10));
  ASSERT_TRUE(polled.ok()) << polled.status();
  EXPECT_TRUE(polled->empty());

  consumer.Shutdown();
  EXPECT_EQ(consumer.Commit().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(consumer.Poll(absl::Milliseconds(10)).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(PullConsumerTest, StartRefusesAGroupTheBrokerWouldRefuse) {
  testing::TestNameServer namesrv;
  ConsumerOptions options;
  options.client.namesrv_addr = namesrv.address();
  for (const std::string& group : std::vector<std::string>{
           "", "orders.v2", "orders v2", std::string(128, 'g')}) {
    DefaultLitePullConsumer consumer(group, options);
    ASSERT_TRUE(consumer.Subscribe("TopicGroup", "*").ok());
    EXPECT_EQ(consumer.Start().code(), absl::StatusCode::kInvalidArgument)
        << group;
  }
  EXPECT_TRUE(ValidateConsumerGroup("Orders_v2-%|").ok());
  EXPECT_TRUE(ValidateConsumerGroup(std::string(127, 'g')).ok());
}

}  // namespace
}  // namespace cometmq::client
