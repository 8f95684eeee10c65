#include "cpp/client/consumer_core.h"

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "cpp/client/fake_broker.h"
#include "cpp/client/pull_consumer.h"
#include "cpp/client/push_consumer.h"
#include "cpp/client/test_cluster.h"
#include "cpp/common/eventually.h"
#include "gtest/gtest.h"

namespace cometmq::client {
namespace {

std::set<std::string> HeartbeatTopics(const ConsumerCore& core) {
  std::set<std::string> topics;
  const proto::ConsumerData data = core.HeartbeatData();
  for (const auto& sub : data.subscriptions()) {
    topics.insert(sub.topic());
  }
  return topics;
}

std::set<std::string> OwnedTopics(const ConsumerCore& core) {
  std::set<std::string> topics;
  for (const MessageQueue& queue : core.OwnedQueues()) {
    topics.insert(queue.topic);
  }
  return topics;
}

TEST(ConsumerCoreTest, UnsubscribeWhileRunningGivesTheTopicsQueuesUp) {
  testing::OneBrokerCluster cluster({"TopicA", "TopicB"}, 2);
  testing::FakeBroker& broker = cluster.broker();
  // Pulls find no messages and stay parked: an owned queue stays quiet.
  constexpr int64_t kStartOffset = 5;
  broker.set_default_offset(kStartOffset);
  ConsumerOptions options = cluster.consumer_options("unsubscribe-test");
  options.drop_wait = absl::Seconds(1);
  auto core = std::make_shared<ConsumerCore>(
      "CG", options, "CONSUME_PASSIVELY",
      [](const std::shared_ptr<ProcessQueue>&, std::vector<MessageExt>) {});
  ASSERT_TRUE(core->Subscribe("TopicA", "*").ok());
  ASSERT_TRUE(core->Subscribe("TopicB", "*").ok());
  absl::StatusOr<std::shared_ptr<ClientInstance>> instance =
      ClientInstance::Get(options.client);
  ASSERT_TRUE(instance.ok()) << instance.status();
  ASSERT_TRUE(core->Start(instance->get()).ok());
  // The first rebalance may run before the broker listed this client.
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (core->OwnedQueues().size() < 4 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  ASSERT_EQ(core->OwnedQueues().size(), 4u);
  EXPECT_EQ(broker.heartbeat_topics(),
            (std::set<std::string>{"TopicA", "TopicB"}));

  ASSERT_TRUE(core->Unsubscribe("TopicA").ok());
  // At once, not at the next rebalance: the queues are gone, their offsets
  // committed, and the broker heard that only TopicB is subscribed.
  EXPECT_EQ(OwnedTopics(*core), std::set<std::string>{"TopicB"});
  EXPECT_EQ(core->OwnedQueues().size(), 2u);
  EXPECT_EQ(broker.updated_offsets(),
            (std::map<testing::FakeBroker::QueueKey, int64_t>{
                {{"TopicA", 0}, kStartOffset}, {{"TopicA", 1}, kStartOffset}}));
  EXPECT_EQ(broker.heartbeat_topics(), std::set<std::string>{"TopicB"});
  // A rebalance does not take them back.
  core->Rebalance();
  EXPECT_EQ(OwnedTopics(*core), std::set<std::string>{"TopicB"});
  core->Shutdown();
}

TEST(ConsumerCoreTest, SqlSubscriptionIsCheckedInTheBrokersAtStart) {
  // The fake broker, like one that cannot filter by SQL92, refuses
  // CHECK_CLIENT_CONFIG: Start() fails with its reason, as RocketMQ's
  // checkClientInBroker makes start() fail.
  testing::OneBrokerCluster cluster({"TopicA"}, 1);
  ConsumerOptions options = cluster.consumer_options("sql-check-test");
  auto core = std::make_shared<ConsumerCore>(
      "CG", options, "CONSUME_PASSIVELY",
      [](const std::shared_ptr<ProcessQueue>&, std::vector<MessageExt>) {});
  ASSERT_TRUE(core->Subscribe("TopicA", MessageSelector::BySql("a > 5")).ok());
  const proto::ConsumerData data = core->HeartbeatData();
  ASSERT_EQ(data.subscriptions_size(), 1);
  EXPECT_EQ(data.subscriptions(0).expression_type(), proto::EXPRESSION_SQL92);
  EXPECT_EQ(data.subscriptions(0).expression(), "a > 5");
  absl::StatusOr<std::shared_ptr<ClientInstance>> instance =
      ClientInstance::Get(options.client);
  ASSERT_TRUE(instance.ok()) << instance.status();
  absl::Status started = core->Start(instance->get());
  EXPECT_FALSE(started.ok());
  EXPECT_NE(started.message().find("refused the subscription of topic TopicA"),
            std::string::npos)
      << started;
  EXPECT_EQ(cluster.broker().pulls(), 0);
}

TEST(ConsumerCoreTest, UnsubscribeBeforeStartOnlyRemovesTheSubscription) {
  auto core = std::make_shared<ConsumerCore>(
      "CG", ConsumerOptions{}, "CONSUME_PASSIVELY",
      [](const std::shared_ptr<ProcessQueue>&, std::vector<MessageExt>) {});
  ASSERT_TRUE(core->Subscribe("TopicA", "*").ok());
  ASSERT_TRUE(core->Subscribe("TopicB", "TagB").ok());
  ASSERT_TRUE(core->Unsubscribe("TopicA").ok());
  EXPECT_EQ(HeartbeatTopics(*core), std::set<std::string>{"TopicB"});
  // As RocketMQ: a topic not subscribed is no error.
  EXPECT_TRUE(core->Unsubscribe("TopicNever").ok());
  EXPECT_EQ(HeartbeatTopics(*core), std::set<std::string>{"TopicB"});
  // Subscribing again works as the first time.
  ASSERT_TRUE(core->Subscribe("TopicA", "*").ok());
  EXPECT_EQ(HeartbeatTopics(*core),
            (std::set<std::string>{"TopicA", "TopicB"}));
}

TEST(ConsumerCoreTest, AnAssignedConsumerHasNothingToUnsubscribe) {
  auto core = std::make_shared<ConsumerCore>(
      "CG", ConsumerOptions{}, "CONSUME_PASSIVELY",
      [](const std::shared_ptr<ProcessQueue>&, std::vector<MessageExt>) {});
  core->Assign({MessageQueue{"TopicA", "broker-a", 0}});
  EXPECT_TRUE(absl::IsFailedPrecondition(core->Unsubscribe("TopicA")));
}

TEST(PushConsumerTest, TheGroupsRetryTopicCannotBeUnsubscribed) {
  DefaultPushConsumer consumer("CG");
  ASSERT_TRUE(consumer.Subscribe("TopicA", "*").ok());
  EXPECT_TRUE(absl::IsInvalidArgument(consumer.Unsubscribe("%RETRY%CG")));
  EXPECT_TRUE(consumer.Unsubscribe("TopicA").ok());
}

// A push consumer has no Commit(): without auto_commit it would never
// commit anything, so Start() refuses it.
TEST(PushConsumerTest, StartRefusesManualCommit) {
  testing::TestNameServer namesrv;
  ConsumerOptions options;
  options.client.namesrv_addr = namesrv.address();
  options.client.instance_name = "manual-push";
  options.auto_commit = false;
  DefaultPushConsumer consumer("CG", options);
  ASSERT_TRUE(consumer.Subscribe("TopicA", "*").ok());
  consumer.RegisterListener(
      [](const MessageExt&) { return ConsumeResult::kSuccess; });
  absl::Status status = consumer.Start();
  EXPECT_TRUE(absl::IsInvalidArgument(status)) << status;
  EXPECT_NE(status.message().find("auto_commit"), std::string::npos) << status;
}

// Two consumers of one group in one client instance (the same instance
// name) are refused, as in RocketMQ; the one refused must leave the running
// one in the group: not unregister the group from the client instance and
// its brokers, which would stop the running one's heartbeats and let the
// group's other members take its queues while it still consumes them.
TEST(ConsumerCoreTest, ARefusedSecondConsumerOfAGroupLeavesTheFirstInIt) {
  testing::OneBrokerCluster cluster({"TopicA", "%RETRY%CGTwice"}, 1);
  testing::FakeBroker& broker = cluster.broker();
  ConsumerOptions options = cluster.consumer_options("twice");
  auto listener = [](const MessageExt&) { return ConsumeResult::kSuccess; };
  DefaultPushConsumer first("CGTwice", options);
  ASSERT_TRUE(first.Subscribe("TopicA", "*").ok());
  first.RegisterListener(listener);
  ASSERT_TRUE(first.Start().ok());
  absl::StatusOr<std::shared_ptr<ClientInstance>> instance =
      ClientInstance::Get(options.client);
  ASSERT_TRUE(instance.ok()) << instance.status();
  auto groups = [&] {
    (*instance)->SendHeartbeats();
    return broker.heartbeat_groups();
  };
  ASSERT_EQ(groups(), std::set<std::string>{"CGTwice"});

  DefaultPushConsumer second("CGTwice", options);
  ASSERT_TRUE(second.Subscribe("TopicA", "*").ok());
  second.RegisterListener(listener);
  EXPECT_TRUE(absl::IsAlreadyExists(second.Start()));
  DefaultLitePullConsumer third("CGTwice", options);
  ASSERT_TRUE(third.Subscribe("TopicA", "*").ok());
  EXPECT_TRUE(absl::IsAlreadyExists(third.Start()));

  EXPECT_EQ(groups(), std::set<std::string>{"CGTwice"});
  EXPECT_EQ(broker.unregisters(), 0);
  // The running one leaves the group as usual.
  first.Shutdown();
  EXPECT_EQ(broker.unregisters(), 1);
}

// A failed message that no broker takes back (the fake broker answers
// neither CONSUMER_SEND_MSG_BACK nor a copy's SEND_MESSAGE) stays
// uncommitted while the messages after it are consumed and committed
// around it, is handed to the listener again, and only its success lets
// the offset pass it.
TEST(PushConsumerTest, AFailedMessageNoBrokerTookBackHoldsTheOffset) {
  testing::OneBrokerCluster cluster({"TopicS", "%RETRY%CGSendBack"}, 1);
  testing::FakeBroker& broker = cluster.broker();
  broker.Append("TopicS", 0, 10);
  ConsumerOptions options = cluster.consumer_options("send-back");
  options.consume_from = ConsumeFrom::kFirstOffset;
  options.offset_commit_interval = absl::Milliseconds(20);
  options.reconsume_backoff = absl::Milliseconds(20);
  absl::Mutex mu;
  bool fail_3 = true;  // until the test has seen the offset held
  int calls_of_3 = 0;
  std::set<int64_t> consumed;
  DefaultPushConsumer consumer("CGSendBack", options);
  ASSERT_TRUE(consumer.Subscribe("TopicS", "*").ok());
  consumer.RegisterListener([&](const MessageExt& message) {
    absl::MutexLock lock(&mu);
    if (message.queue_offset == 3) {
      ++calls_of_3;
      if (fail_3) return ConsumeResult::kReconsumeLater;
    }
    consumed.insert(message.queue_offset);
    return ConsumeResult::kSuccess;
  });
  ASSERT_TRUE(consumer.Start().ok());
  ASSERT_TRUE(Eventually([&] {
    absl::MutexLock lock(&mu);
    return consumed.size() == 9 && calls_of_3 >= 2;
  }));
  // Committed up to the failed message, never past it.
  ASSERT_TRUE(Eventually([&] { return broker.committed("TopicS", 0) == 3; }));
  {
    absl::MutexLock lock(&mu);
    fail_3 = false;
  }
  ASSERT_TRUE(Eventually([&] {
    absl::MutexLock lock(&mu);
    return consumed.size() == 10;
  }));
  EXPECT_TRUE(Eventually([&] { return broker.committed("TopicS", 0) == 10; }));
  consumer.Shutdown();
  EXPECT_EQ(broker.committed("TopicS", 0), 10);
  absl::MutexLock lock(&mu);
  EXPECT_GE(calls_of_3, 3);
}

// A queue given up while a listener call on it is still running: the
// final commit (made anyway once drop_wait passed) stops at that message,
// and its late success commits nothing more, so the next owner gets it
// again rather than never.
TEST(PushConsumerTest, AQueueGivenUpMidCallCommitsBelowTheRunningMessage) {
  testing::OneBrokerCluster cluster({"TopicD", "%RETRY%CGDrop"}, 1);
  testing::FakeBroker& broker = cluster.broker();
  broker.Append("TopicD", 0, 10);
  ConsumerOptions options = cluster.consumer_options("drop-mid-call");
  options.drop_wait = absl::Milliseconds(300);
  options.consume_threads = 10;  // one listener call per message at once
  absl::Mutex mu;
  bool hold_2 = true;
  std::set<int64_t> consumed;
  DefaultPushConsumer consumer("CGDrop", options);
  ASSERT_TRUE(consumer.Subscribe("TopicD", "*").ok());
  consumer.RegisterListener([&](const MessageExt& message) {
    absl::MutexLock lock(&mu);
    if (message.queue_offset == 2) {
      mu.Await(absl::Condition(
          +[](bool* hold) { return !*hold; }, &hold_2));
    }
    consumed.insert(message.queue_offset);
    return ConsumeResult::kSuccess;
  });
  ASSERT_TRUE(consumer.Start().ok());
  ASSERT_TRUE(Eventually([&] {
    absl::MutexLock lock(&mu);
    return consumed.size() == 9;
  }));
  ASSERT_TRUE(consumer.Unsubscribe("TopicD").ok());
  EXPECT_TRUE(consumer.OwnedQueues().size() == 1);  // the retry queue
  // Given up, but not committed while the call runs (periodic commits of
  // it have stopped); once drop_wait passed, committed anyway at the
  // running message.
  const int64_t commits = broker.commits("TopicD", 0);
  ASSERT_TRUE(
      Eventually([&] { return broker.commits("TopicD", 0) > commits; }));
  EXPECT_EQ(broker.committed("TopicD", 0), 2);
  const int64_t pulls = broker.pulls();
  {
    absl::MutexLock lock(&mu);
    hold_2 = false;
  }
  ASSERT_TRUE(Eventually([&] {
    absl::MutexLock lock(&mu);
    return consumed.size() == 10;
  }));
  consumer.Shutdown();
  EXPECT_EQ(broker.committed("TopicD", 0), 2);
  EXPECT_EQ(broker.pulls(), pulls);  // nothing pulled the queue again
}

// A broker's offset reset (resetOffsetByTime, skipAccumulatedMessage)
// reaches a push consumer while a listener call runs and more messages wait
// behind it: those are never delivered, pulling resumes at the reset
// offset, and no commit after the reset (the periodic ones, the call that
// ends afterwards, the shutdown's) carries an offset from before it.
TEST(PushConsumerTest, AResetDropsWhatIsHeldAndNoLaterCommitUndoesIt) {
  testing::OneBrokerCluster cluster({"TopicR", "%RETRY%CGReset"}, 1);
  testing::FakeBroker& broker = cluster.broker();
  broker.Append("TopicR", 0, 10);
  ConsumerOptions options = cluster.consumer_options("reset-mid-call");
  options.consume_threads = 1;  // 3..9 wait behind the call on 2
  options.offset_commit_interval = absl::Milliseconds(20);
  absl::Mutex mu;
  bool hold_2 = true;
  bool in_2 = false;
  bool left_2 = false;
  std::vector<int64_t> consumed;
  DefaultPushConsumer consumer("CGReset", options);
  ASSERT_TRUE(consumer.Subscribe("TopicR", "*").ok());
  consumer.RegisterListener([&](const MessageExt& message) {
    if (message.topic != "TopicR") return ConsumeResult::kSuccess;
    absl::MutexLock lock(&mu);
    consumed.push_back(message.queue_offset);
    if (message.queue_offset == 2) {
      in_2 = true;
      mu.Await(absl::Condition(
          +[](bool* hold) { return !*hold; }, &hold_2));
      left_2 = true;
    }
    return ConsumeResult::kSuccess;
  });
  ASSERT_TRUE(consumer.Start().ok());
  ASSERT_TRUE(Eventually([&] {
    absl::MutexLock lock(&mu);
    return in_2;
  }));
  // The periodic commit holds the queue at the running message.
  ASSERT_TRUE(Eventually([&] { return broker.committed("TopicR", 0) == 2; }));

  constexpr int64_t kReset = 20;
  ASSERT_TRUE(broker.SendResetOffset("TopicR", "CGReset", {{0, kReset}}));
  // The consumer takes the offset as its own (a commit of it)...
  ASSERT_TRUE(
      Eventually([&] { return broker.committed("TopicR", 0) == kReset; }));
  {
    absl::MutexLock lock(&mu);
    hold_2 = false;
  }
  ASSERT_TRUE(Eventually([&] {
    absl::MutexLock lock(&mu);
    return left_2;
  }));
  // ...and pulls from there.
  broker.Append("TopicR", 0, kReset + 5 - 10);
  ASSERT_TRUE(Eventually([&] {
    absl::MutexLock lock(&mu);
    return consumed.size() == 3 + 5;
  }));
  // The periodic commit after the old call ended.
  ASSERT_TRUE(
      Eventually([&] { return broker.committed("TopicR", 0) == kReset + 5; }));
  consumer.Shutdown();
  {
    absl::MutexLock lock(&mu);
    EXPECT_EQ(consumed, (std::vector<int64_t>{0, 1, 2, 20, 21, 22, 23, 24}));
  }
  EXPECT_EQ(broker.committed("TopicR", 0), kReset + 5);
  std::vector<int64_t> history = broker.commit_history("TopicR", 0);
  auto reset_at = std::find(history.begin(), history.end(), kReset);
  ASSERT_NE(reset_at, history.end());
  for (auto it = reset_at; it != history.end(); ++it) {
    EXPECT_GE(*it, kReset) << "a commit after the reset went back";
  }
}

// A reset that reaches the consumer while a rebalance is taking the queue
// (after it read the queue's offset, before it made the process queue)
// still applies: the queue starts at the reset offset, not at the offset
// read before the reset, which a pull would then commit over the reset.
TEST(PushConsumerTest, AResetRacingTheTakingOfAQueueStillApplies) {
  testing::OneBrokerCluster cluster({"TopicN", "%RETRY%CGNew"}, 1);
  testing::FakeBroker& broker = cluster.broker();
  broker.Append("TopicN", 0, 30);
  constexpr int64_t kReset = 20;
  broker.SendResetBeforeNextOffsetAnswer("TopicN", "CGNew", {{0, kReset}});
  ConsumerOptions options = cluster.consumer_options("reset-while-taking");
  options.offset_commit_interval = absl::Milliseconds(20);
  absl::Mutex mu;
  std::vector<int64_t> consumed;
  DefaultPushConsumer consumer("CGNew", options);
  ASSERT_TRUE(consumer.Subscribe("TopicN", "*").ok());
  consumer.RegisterListener([&](const MessageExt& message) {
    if (message.topic != "TopicN") return ConsumeResult::kSuccess;
    absl::MutexLock lock(&mu);
    consumed.push_back(message.queue_offset);
    return ConsumeResult::kSuccess;
  });
  ASSERT_TRUE(consumer.Start().ok());
  ASSERT_TRUE(Eventually([&] { return broker.committed("TopicN", 0) == 30; }));
  consumer.Shutdown();
  absl::MutexLock lock(&mu);
  ASSERT_FALSE(consumed.empty());
  EXPECT_EQ(*std::min_element(consumed.begin(), consumed.end()), kReset)
      << "messages before the reset offset were consumed";
  EXPECT_EQ(consumed.size(), 30 - kReset);
}

// A reset that reaches the consumer while the final commit of a queue it
// gave up is on its way, and which that commit replaced at the broker, is
// committed again: the group goes on from the reset offset, not from where
// this client stopped.
TEST(PushConsumerTest, AResetCrossingTheFinalCommitOfAQueueGivenUpStays) {
  testing::OneBrokerCluster cluster({"TopicG", "%RETRY%CGGiveUp"}, 1);
  testing::FakeBroker& broker = cluster.broker();
  broker.Append("TopicG", 0, 10);
  ConsumerOptions options = cluster.consumer_options("reset-while-giving-up");
  options.offset_commit_interval = absl::Hours(1);  // no periodic commit
  absl::Mutex mu;
  int consumed = 0;
  DefaultPushConsumer consumer("CGGiveUp", options);
  ASSERT_TRUE(consumer.Subscribe("TopicG", "*").ok());
  consumer.RegisterListener([&](const MessageExt& message) {
    if (message.topic != "TopicG") return ConsumeResult::kSuccess;
    absl::MutexLock lock(&mu);
    ++consumed;
    return ConsumeResult::kSuccess;
  });
  ASSERT_TRUE(consumer.Start().ok());
  ASSERT_TRUE(Eventually([&] {
    absl::MutexLock lock(&mu);
    return consumed == 10;
  }));
  constexpr int64_t kReset = 4;
  broker.SendResetBeforeNextCommitAnswer("TopicG", "CGGiveUp", {{0, kReset}});
  ASSERT_TRUE(consumer.Unsubscribe("TopicG").ok());
  ASSERT_TRUE(Eventually([&] {
    return broker.committed("TopicG", 0) == kReset;
  })) << "last commit "
      << broker.committed("TopicG", 0).value_or(-1);
  consumer.Shutdown();
  EXPECT_EQ(broker.commit_history("TopicG", 0).back(), kReset);
}

// An orderly consumer reset mid-message goes on from the reset offset only
// once that message finished: never two of the queue's messages at once,
// and nothing of what it had pulled before the reset.
TEST(PushConsumerTest, AnOrderlyQueueResetMidMessageResumesAfterIt) {
  testing::OneBrokerCluster cluster({"TopicOR", "%RETRY%CGOrderReset"}, 1);
  testing::FakeBroker& broker = cluster.broker();
  broker.Append("TopicOR", 0, 6);
  ConsumerOptions options = cluster.consumer_options("orderly-reset");
  options.orderly = true;
  absl::Mutex mu;
  bool hold = true;
  int running = 0;
  int most_running = 0;
  std::vector<int64_t> consumed;
  DefaultPushConsumer consumer("CGOrderReset", options);
  ASSERT_TRUE(consumer.Subscribe("TopicOR", "*").ok());
  consumer.RegisterListener([&](const MessageExt& message) {
    if (message.topic != "TopicOR") return ConsumeResult::kSuccess;
    absl::MutexLock lock(&mu);
    most_running = std::max(most_running, ++running);
    consumed.push_back(message.queue_offset);
    if (message.queue_offset == 1) {
      mu.Await(absl::Condition(
          +[](bool* h) { return !*h; }, &hold));
    }
    --running;
    return ConsumeResult::kSuccess;
  });
  ASSERT_TRUE(consumer.Start().ok());
  ASSERT_TRUE(Eventually([&] {
    absl::MutexLock lock(&mu);
    return consumed.size() == 2;  // 0, and 1 running
  }));
  ASSERT_TRUE(broker.SendResetOffset("TopicOR", "CGOrderReset", {{0, 4}}));
  ASSERT_TRUE(Eventually([&] { return broker.committed("TopicOR", 0) == 4; }));
  {
    absl::MutexLock lock(&mu);
    EXPECT_EQ(consumed.size(), 2u);  // 4 waits for 1
    hold = false;
  }
  ASSERT_TRUE(Eventually([&] {
    absl::MutexLock lock(&mu);
    return consumed.size() == 4;
  }));
  consumer.Shutdown();
  absl::MutexLock lock(&mu);
  EXPECT_EQ(consumed, (std::vector<int64_t>{0, 1, 4, 5}));
  EXPECT_EQ(most_running, 1);
  EXPECT_EQ(broker.committed("TopicOR", 0), 6);
}

// An orderly consumer whose broker lock a renewal finds lost stops
// consuming the queue and commits nothing for it (another client may own
// it now), and goes on, in order, once a renewal locks it again.
TEST(PushConsumerTest, AnOrderlyQueueWhoseLockIsLostPausesUntilRelocked) {
  testing::OneBrokerCluster cluster({"TopicO", "%RETRY%CGLock"}, 1);
  testing::FakeBroker& broker = cluster.broker();
  broker.Append("TopicO", 0, 5);
  ConsumerOptions options = cluster.consumer_options("lock-lost");
  options.orderly = true;
  options.lock_interval = absl::Milliseconds(20);
  options.offset_commit_interval = absl::Milliseconds(20);
  absl::Mutex mu;
  std::vector<int64_t> consumed;
  DefaultPushConsumer consumer("CGLock", options);
  ASSERT_TRUE(consumer.Subscribe("TopicO", "*").ok());
  consumer.RegisterListener([&](const MessageExt& message) {
    absl::MutexLock lock(&mu);
    if (message.topic == "TopicO") consumed.push_back(message.queue_offset);
    return ConsumeResult::kSuccess;
  });
  ASSERT_TRUE(consumer.Start().ok());
  ASSERT_TRUE(Eventually([&] { return broker.committed("TopicO", 0) == 5; }));

  broker.set_lockable(false);
  // Two renewals later the client knows.
  const int64_t asked = broker.lock_requests();
  ASSERT_TRUE(Eventually([&] { return broker.lock_requests() >= asked + 2; }));
  const int64_t commits = broker.commits("TopicO", 0);
  broker.Append("TopicO", 0, 5);  // answers the pull parked before
  // Long enough for a dozen renewals and commit rounds.
  absl::SleepFor(absl::Milliseconds(300));
  {
    absl::MutexLock lock(&mu);
    EXPECT_EQ(consumed.size(), 5u);
  }
  EXPECT_EQ(broker.commits("TopicO", 0), commits);

  broker.set_lockable(true);
  ASSERT_TRUE(Eventually([&] { return broker.committed("TopicO", 0) == 10; }));
  consumer.Shutdown();
  absl::MutexLock lock(&mu);
  EXPECT_EQ(consumed, (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
}

// An orderly queue given up while its message is still in the listener
// keeps its broker lock, renewed every lock_interval, until that message
// ends, and is released (committed past it, unlocked) as soon as it does.
// The rebalance does not wait for the message: such a wait held the timer
// thread, so renewals stopped and the broker let the next owner lock the
// queue and consume that very message at the same time.
TEST(PushConsumerTest, AnOrderlyQueueGivenUpMidMessageStaysLockedUntilItEnds) {
  testing::OneBrokerCluster cluster({"TopicG", "%RETRY%CGGiveUp"}, 1);
  testing::FakeBroker& broker = cluster.broker();
  broker.Append("TopicG", 0, 3);
  ConsumerOptions options = cluster.consumer_options("given-up-mid-message");
  options.orderly = true;
  options.lock_interval = absl::Milliseconds(50);
  absl::Mutex mu;
  bool hold = true;
  bool in_call = false;
  std::vector<int64_t> consumed;
  DefaultPushConsumer consumer("CGGiveUp", options);
  ASSERT_TRUE(consumer.Subscribe("TopicG", "*").ok());
  consumer.RegisterListener([&](const MessageExt& message) {
    absl::MutexLock lock(&mu);
    if (message.topic != "TopicG") return ConsumeResult::kSuccess;
    in_call = true;
    mu.Await(absl::Condition(
        +[](bool* h) { return !*h; }, &hold));
    consumed.push_back(message.queue_offset);
    return ConsumeResult::kSuccess;
  });
  ASSERT_TRUE(consumer.Start().ok());
  ASSERT_TRUE(Eventually([&] {
    absl::MutexLock lock(&mu);
    return in_call;
  }));
  const absl::Time given_up = absl::Now();
  const int64_t unlocks = broker.unlock_requests();
  ASSERT_TRUE(consumer.Unsubscribe("TopicG").ok());
  // Renewed a dozen times while the message runs, not released.
  ASSERT_TRUE(Eventually([&] {
    const std::vector<absl::Time> times = broker.lock_times();
    return std::count_if(times.begin(), times.end(),
                         [&](absl::Time t) { return t > given_up; }) >= 12;
  }));
  EXPECT_EQ(broker.unlock_requests(), unlocks);
  EXPECT_NE(broker.committed("TopicG", 0), std::optional<int64_t>(1));
  {
    absl::MutexLock lock(&mu);
    hold = false;
  }
  ASSERT_TRUE(Eventually([&] { return broker.unlock_requests() > unlocks; }));
  EXPECT_EQ(broker.committed("TopicG", 0), 1);
  // No gap between renewals anywhere near a broker's lock expiry.
  absl::Time last = given_up;
  absl::Duration longest;
  for (absl::Time t : broker.lock_times()) {
    if (t <= given_up) continue;
    longest = std::max(longest, t - last);
    last = t;
  }
  EXPECT_LT(longest, absl::Seconds(3));
  consumer.Shutdown();
  absl::MutexLock lock(&mu);
  EXPECT_EQ(consumed, std::vector<int64_t>{0});
}

// Consumers of one client share its timer thread. A concurrent consumer
// giving up queues whose listener calls still run must not wait for them
// there: the waits held up an orderly consumer's lock renewals (and every
// heartbeat and rebalance of the client) for a second per busy queue,
// every retry round. The queues are released when their calls end.
TEST(PushConsumerTest, BusyQueuesGivenUpDoNotHoldTheClientsTimer) {
  testing::OneBrokerCluster cluster(
      {"TopicC", "TopicO", "%RETRY%CGBusy", "%RETRY%CGO"}, 2);
  testing::FakeBroker& broker = cluster.broker();
  broker.Append("TopicC", 0, 1);
  broker.Append("TopicC", 1, 1);
  ConsumerOptions options =
      cluster.consumer_options("shared-timer");  // one client instance
  options.consume_threads = 4;
  absl::Mutex mu;
  bool hold = true;
  int in_calls = 0;
  DefaultPushConsumer busy("CGBusy", options);
  ASSERT_TRUE(busy.Subscribe("TopicC", "*").ok());
  busy.RegisterListener([&](const MessageExt& message) {
    absl::MutexLock lock(&mu);
    if (message.topic != "TopicC") return ConsumeResult::kSuccess;
    ++in_calls;
    mu.Await(absl::Condition(
        +[](bool* h) { return !*h; }, &hold));
    return ConsumeResult::kSuccess;
  });
  ConsumerOptions orderly_options = options;
  orderly_options.orderly = true;
  orderly_options.lock_interval = absl::Milliseconds(50);
  DefaultPushConsumer orderly("CGO", orderly_options);
  ASSERT_TRUE(orderly.Subscribe("TopicO", "*").ok());
  orderly.RegisterListener(
      [](const MessageExt&) { return ConsumeResult::kSuccess; });
  ASSERT_TRUE(busy.Start().ok());
  ASSERT_TRUE(orderly.Start().ok());
  ASSERT_TRUE(Eventually([&] {
    absl::MutexLock lock(&mu);
    return in_calls == 2;
  }));

  ASSERT_TRUE(busy.Unsubscribe("TopicC").ok());
  // Long enough for retry rounds (one a second) to find both calls busy.
  const absl::Time from = absl::Now();
  const absl::Time until = from + absl::Seconds(4);
  ASSERT_TRUE(Eventually([&] {
    const std::vector<absl::Time> times = broker.lock_times();
    return !times.empty() && times.back() > until;
  }));
  absl::Time last = from;
  absl::Duration longest;
  for (absl::Time t : broker.lock_times()) {
    if (t <= from || t > until) continue;
    longest = std::max(longest, t - last);
    last = t;
  }
  EXPECT_LT(longest, absl::Seconds(1));
  EXPECT_NE(broker.committed("TopicC", 0), std::optional<int64_t>(1));
  {
    absl::MutexLock lock(&mu);
    hold = false;
  }
  EXPECT_TRUE(Eventually([&] {
    return broker.committed("TopicC", 0) == 1 &&
           broker.committed("TopicC", 1) == 1;
  }));
  orderly.Shutdown();
  busy.Shutdown();
}

}  // namespace
}  // namespace cometmq::client
