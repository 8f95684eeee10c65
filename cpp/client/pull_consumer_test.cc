#include "cpp/client/pull_consumer.h"

#include <stdlib.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "cpp/client/fake_broker.h"
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

// Polls until `n` messages came (or 10 s passed); their offsets.
std::vector<int64_t> PollOffsets(DefaultLitePullConsumer& consumer, size_t n) {
  std::vector<int64_t> offsets;
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (offsets.size() < n && absl::Now() < deadline) {
    absl::StatusOr<std::vector<MessageExt>> polled =
        consumer.Poll(absl::Milliseconds(100));
    EXPECT_TRUE(polled.ok()) << polled.status();
    if (!polled.ok()) break;
    for (const MessageExt& message : *polled) {
      offsets.push_back(message.queue_offset);
    }
  }
  return offsets;
}

// A manually committing consumer: 10 messages in one queue, pulled 4 at a
// time; the first 4 polled and committed, the other 6 polled only.
class ManualCommitTest : public ::testing::Test {
 protected:
  void SetUp() override {
    broker_.Append("TopicM", 0, 10);
    ConsumerOptions options = cluster_.consumer_options("manual-commit");
    options.auto_commit = false;
    options.pull_batch_size = 4;
    options.rebalance_interval = absl::Milliseconds(100);
    consumer_ = std::make_unique<DefaultLitePullConsumer>("CGManual", options);
    consumer_->Assign({queue_});
    ASSERT_TRUE(consumer_->Start().ok());
    ASSERT_EQ(PollOffsets(*consumer_, 4).size(), 4u);
    ASSERT_TRUE(consumer_->Commit().ok());
    ASSERT_EQ(broker_.committed("TopicM", 0), 4);
    ASSERT_EQ(PollOffsets(*consumer_, 6).size(), 6u);
  }

  const MessageQueue queue_{"TopicM", "broker-a", 0};
  testing::OneBrokerCluster cluster_{{"TopicM"}, 1};
  testing::FakeBroker& broker_ = cluster_.broker();
  std::unique_ptr<DefaultLitePullConsumer> consumer_;
};

// Without auto_commit the application commits (as RocketMQ's lite pull
// consumer with autoCommit false): messages polled but not committed when
// the consumer shuts down are delivered again, since the application may
// not have processed them.
TEST_F(ManualCommitTest, ShutdownCommitsNothingTheApplicationDidNot) {
  consumer_->Shutdown();
  EXPECT_EQ(broker_.committed("TopicM", 0), 4);
}

// Likewise for a queue given up (here by a new assignment).
TEST_F(ManualCommitTest, AGivenUpQueueKeepsTheApplicationsCommit) {
  consumer_->Assign({});
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (!consumer_->OwnedQueues().empty() && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  ASSERT_TRUE(consumer_->OwnedQueues().empty());
  EXPECT_EQ(broker_.committed("TopicM", 0), 4);
  consumer_->Shutdown();
  EXPECT_EQ(broker_.committed("TopicM", 0), 4);
}

// With auto_commit (the default) polling is consuming: shutdown commits
// every polled message.
TEST(PullConsumerTest, AutoCommitCommitsWhatWasPolledAtShutdown) {
  testing::OneBrokerCluster cluster({"TopicA"}, 1);
  testing::FakeBroker& broker = cluster.broker();
  broker.Append("TopicA", 0, 10);
  ConsumerOptions options = cluster.consumer_options("auto-commit");
  options.pull_batch_size = 4;
  DefaultLitePullConsumer consumer("CGAuto", options);
  consumer.Assign({MessageQueue{"TopicA", "broker-a", 0}});
  ASSERT_TRUE(consumer.Start().ok());
  ASSERT_EQ(PollOffsets(consumer, 10).size(), 10u);
  consumer.Shutdown();
  EXPECT_EQ(broker.committed("TopicA", 0), 10);
}

// RocketMQ's unsubscribe(topic) on a lite pull consumer: the topic's queue
// is given up at once with what was polled of it committed, its messages
// pulled ahead are not polled any more, and the other topic goes on.
TEST(PullConsumerTest, UnsubscribeGivesTheTopicUpAndCommitsWhatWasPolled) {
  testing::OneBrokerCluster cluster({"TopicU", "TopicK"}, 1);
  testing::FakeBroker& broker = cluster.broker();
  broker.Append("TopicU", 0, 10);
  broker.Append("TopicK", 0, 10);
  ConsumerOptions options = cluster.consumer_options("pull-unsubscribe");
  options.consume_from = ConsumeFrom::kFirstOffset;
  options.pull_batch_size = 4;
  options.rebalance_interval = absl::Milliseconds(100);
  DefaultLitePullConsumer consumer("CGUnsub", options);
  ASSERT_TRUE(consumer.Subscribe("TopicU", "*").ok());
  ASSERT_TRUE(consumer.Subscribe("TopicK", "*").ok());
  ASSERT_TRUE(consumer.Start().ok());
  // Everything pulled ahead (the first rebalance may come before the
  // broker lists this client), then 4 polled: most of TopicU is buffered.
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (broker.served() < 20 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  ASSERT_EQ(broker.served(), 20);
  absl::StatusOr<std::vector<MessageExt>> first =
      consumer.Poll(absl::Seconds(1));
  ASSERT_TRUE(first.ok()) << first.status();
  int64_t polled_u = 0;
  for (const MessageExt& message : *first) {
    if (message.topic == "TopicU") ++polled_u;
  }

  ASSERT_TRUE(consumer.Unsubscribe("TopicU").ok());
  EXPECT_EQ(consumer.OwnedQueues(),
            (std::vector<MessageQueue>{{"TopicK", "broker-a", 0}}));
  EXPECT_EQ(broker.committed("TopicU", 0), polled_u);
  // Only TopicK's messages come, all of them, and nothing of TopicU.
  std::vector<MessageExt> rest;
  const absl::Time until = absl::Now() + absl::Seconds(10);
  int64_t k = static_cast<int64_t>(first->size()) - polled_u;
  while (k < 10 && absl::Now() < until) {
    absl::StatusOr<std::vector<MessageExt>> polled =
        consumer.Poll(absl::Milliseconds(100));
    ASSERT_TRUE(polled.ok()) << polled.status();
    for (MessageExt& message : *polled) {
      EXPECT_EQ(message.topic, "TopicK") << message.queue_offset;
      if (message.topic == "TopicK") ++k;
    }
  }
  EXPECT_EQ(k, 10);
  EXPECT_EQ(consumer.OwnedQueues().size(), 1u);
  consumer.Shutdown();
  EXPECT_EQ(broker.committed("TopicU", 0), polled_u);
  EXPECT_EQ(broker.committed("TopicK", 0), 10);
}

// Per-queue flow control: pulling pauses while a queue holds
// pull_threshold_for_queue messages (or pull_threshold_bytes_for_queue body
// bytes) not yet polled, and resumes once they are.
void ExpectFlowControl(const ConsumerOptions& base, int64_t limit) {
  testing::OneBrokerCluster cluster({"TopicF"}, 1);
  testing::FakeBroker& broker = cluster.broker();
  constexpr int kMessages = 3000;
  broker.Append("TopicF", 0, kMessages);
  ConsumerOptions options = base;
  options.client = cluster.consumer_options("flow-control").client;
  options.flow_control_delay = absl::Milliseconds(10);
  DefaultLitePullConsumer consumer("CGFlow", options);
  consumer.Assign({MessageQueue{"TopicF", "broker-a", 0}});
  ASSERT_TRUE(consumer.Start().ok());
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (broker.served() < limit && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  ASSERT_GE(broker.served(), limit);
  // Long enough for dozens of flow-control rounds: none pulls more.
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_LT(broker.served(), limit + options.pull_batch_size);
  std::vector<int64_t> offsets = PollOffsets(consumer, kMessages);
  ASSERT_EQ(offsets.size(), static_cast<size_t>(kMessages));
  for (int i = 0; i < kMessages; ++i) ASSERT_EQ(offsets[i], i);
  consumer.Shutdown();
}

TEST(PullConsumerTest, FlowControlByMessageCountPausesAndResumes) {
  ConsumerOptions options;  // 1000 messages
  ExpectFlowControl(options, options.pull_threshold_for_queue);
}

TEST(PullConsumerTest, FlowControlByBytesPausesAndResumes) {
  ConsumerOptions options;
  options.pull_threshold_bytes_for_queue = 400;
  // Bodies are "m<offset>": how many messages first hold 400 bytes.
  int64_t count = 0;
  for (int64_t bytes = 0; bytes < options.pull_threshold_bytes_for_queue;
       ++count) {
    bytes += static_cast<int64_t>(absl::StrCat("m", count).size());
  }
  ExpectFlowControl(options, count);
}

// Two running broadcasting consumers with one offset file (the same group,
// instance name and host; here in two client instances, of two name
// servers, as two processes would be) would each overwrite the other's
// offsets with their own table: a restart could then resume past messages
// it never consumed. The second is refused until the first shut down.
TEST(PullConsumerTest, TwoRunningConsumersNeverShareAnOffsetFile) {
  testing::TestNameServer namesrv1;
  testing::TestNameServer namesrv2;
  char dir[] = "/tmp/pull_consumer_testXXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  auto make = [&](const testing::TestNameServer& namesrv) {
    ConsumerOptions options;
    options.client.namesrv_addr = namesrv.address();
    options.client.instance_name = "shared-file";
    options.model = MessageModel::kBroadcasting;
    options.local_offset_dir = dir;
    auto consumer = std::make_unique<DefaultLitePullConsumer>("CGB", options);
    consumer->Assign({MessageQueue{"TopicB", "broker-a", 0}});
    return consumer;
  };
  std::unique_ptr<DefaultLitePullConsumer> first = make(namesrv1);
  ASSERT_TRUE(first->Start().ok());
  std::unique_ptr<DefaultLitePullConsumer> second = make(namesrv2);
  absl::Status refused = second->Start();
  EXPECT_TRUE(absl::IsFailedPrecondition(refused)) << refused;
  EXPECT_NE(refused.message().find("instance_name"), std::string::npos)
      << refused;
  second.reset();
  first->Shutdown();
  std::unique_ptr<DefaultLitePullConsumer> third = make(namesrv2);
  EXPECT_TRUE(third->Start().ok());
  third->Shutdown();
}

}  // namespace
}  // namespace cometmq::client
