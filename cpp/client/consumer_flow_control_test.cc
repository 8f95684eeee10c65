// RocketMQ's consumeConcurrentlyMaxSpan and consumeTimeout in the push
// consumer, against a fake broker.

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "cpp/client/client_instance.h"
#include "cpp/client/consumer_core.h"
#include "cpp/client/fake_broker.h"
#include "cpp/client/push_consumer.h"
#include "cpp/client/test_cluster.h"
#include "cpp/common/eventually.h"
#include "cpp/common/thread_count.h"
#include "gtest/gtest.h"

namespace cometmq::client {
namespace {

// A consumer core whose sink holds every delivered message (nothing is
// consumed) until release_above_zero(): from then on every message but
// offset 0 is consumed, those held and those delivered later.
class SpanTest : public ::testing::Test {
 protected:
  void Start(bool orderly) {
    broker_.Append("TopicSpan", 0, 20);
    ConsumerOptions options =
        cluster_.consumer_options(orderly ? "span-orderly" : "span");
    options.consume_from = ConsumeFrom::kFirstOffset;
    options.orderly = orderly;
    options.pull_batch_size = 2;
    options.consume_concurrently_max_span = 5;
    options.flow_control_delay = absl::Milliseconds(10);
    core_ = std::make_shared<ConsumerCore>(
        "CGSpan", options, "CONSUME_PASSIVELY",
        [this](const std::shared_ptr<ProcessQueue>& pq,
               std::vector<MessageExt> messages) {
          absl::MutexLock lock(&mu_);
          for (const MessageExt& message : messages) {
            if (release_ && message.queue_offset != 0) {
              pq->Remove(message.queue_offset);
            } else {
              held_.emplace_back(pq, message.queue_offset);
            }
          }
        });
    ASSERT_TRUE(core_->Subscribe("TopicSpan", "*").ok());
    absl::StatusOr<std::shared_ptr<ClientInstance>> instance =
        ClientInstance::Get(options.client);
    ASSERT_TRUE(instance.ok()) << instance.status();
    instance_ = *std::move(instance);
    ASSERT_TRUE(core_->Start(instance_.get()).ok());
  }
  void TearDown() override {
    if (core_) core_->Shutdown();
  }

  void ReleaseAboveZero() {
    absl::MutexLock lock(&mu_);
    release_ = true;
    for (const auto& [pq, offset] : held_) {
      if (offset != 0) pq->Remove(offset);
    }
  }

  testing::OneBrokerCluster cluster_{{"TopicSpan"}, 1};
  testing::FakeBroker& broker_ = cluster_.broker();
  std::shared_ptr<ClientInstance> instance_;
  std::shared_ptr<ConsumerCore> core_;
  absl::Mutex mu_;
  bool release_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::pair<std::shared_ptr<ProcessQueue>, int64_t>> held_
      ABSL_GUARDED_BY(mu_);
};

// Offset 0 is never consumed. Held messages spanning more than 5 offsets
// stop the pulls (well below the 1000 messages pull_threshold_for_queue
// allows); they go on, one pull at a time, as the messages above offset 0
// are consumed.
TEST_F(SpanTest, AConcurrentQueueIsNotPulledWhileItsHeldMessagesSpanTooMuch) {
  Start(/*orderly=*/false);
  // Pulls of 2: 0-1, 2-3, 4-5 (span 5, not above the limit), 6-7 (span 7):
  // then put off, again and again.
  ASSERT_TRUE(Eventually([&] { return core_->span_flow_controls() >= 3; }));
  EXPECT_EQ(broker_.served(), 8);

  ReleaseAboveZero();
  ASSERT_TRUE(Eventually([&] { return broker_.served() == 20; }));
  // The slow message still holds what may be committed.
  for (const auto& pq : core_->OwnedProcessQueues()) {
    EXPECT_EQ(pq->CommittableOffset(), 0);
    EXPECT_EQ(pq->MaxSpan(), 0);
  }
}

// Orderly consumption is exempt, as in RocketMQ: everything is pulled.
TEST_F(SpanTest, AnOrderlyQueueIsNotLimitedBySpan) {
  Start(/*orderly=*/true);
  ASSERT_TRUE(Eventually([&] { return broker_.served() == 20; }));
  EXPECT_EQ(core_->span_flow_controls(), 0);
}

// A push consumer of 10 messages whose listener holds offset 2 (until the
// test ends it with `late_result`), with a 200 ms consume timeout.
class ConsumeTimeoutTest : public ::testing::Test {
 protected:
  void Start() {
    broker_.Append("TopicT", 0, 10);
    ConsumerOptions options = cluster_.consumer_options("consume-timeout");
    options.consume_from = ConsumeFrom::kFirstOffset;
    options.consume_threads = 10;  // one listener call per message at once
    options.consume_timeout = absl::Milliseconds(200);
    options.offset_commit_interval = absl::Milliseconds(20);
    options.reconsume_backoff = absl::Milliseconds(20);
    consumer_ = std::make_unique<DefaultPushConsumer>("CGTimeout", options);
    ASSERT_TRUE(consumer_->Subscribe("TopicT", "*").ok());
    consumer_->RegisterListener([this](const MessageExt& message) {
      absl::MutexLock lock(&mu_);
      ++calls_[message.queue_offset];
      if (message.queue_offset == 2) {
        mu_.Await(absl::Condition(
            +[](std::optional<ConsumeResult>* r) { return r->has_value(); },
            &late_result_));
        return *late_result_;
      }
      return ConsumeResult::kSuccess;
    });
    ASSERT_TRUE(consumer_->Start().ok());
  }
  void TearDown() override {
    End(ConsumeResult::kSuccess);
    if (consumer_) consumer_->Shutdown();
  }
  void End(ConsumeResult result) {
    absl::MutexLock lock(&mu_);
    if (!late_result_.has_value()) late_result_ = result;
  }
  int calls(int64_t offset) {
    absl::MutexLock lock(&mu_);
    return calls_[offset];
  }

  testing::OneBrokerCluster cluster_{{"TopicT", "%RETRY%CGTimeout"}, 1};
  testing::FakeBroker& broker_ = cluster_.broker();
  std::unique_ptr<DefaultPushConsumer> consumer_;
  absl::Mutex mu_;
  std::optional<ConsumeResult> late_result_ ABSL_GUARDED_BY(mu_);
  std::map<int64_t, int> calls_ ABSL_GUARDED_BY(mu_);
};

// The held message is sent back once (delay level 3, RocketMQ's
// cleanExpireMsg) and the committed offset moves past it while its call
// still runs; the call's late failure sends nothing back again.
TEST_F(ConsumeTimeoutTest, AMessagePastItIsSentBackAndHoldsTheOffsetNoLonger) {
  broker_.set_accept_send_back(true);
  Start();
  ASSERT_TRUE(Eventually([&] { return broker_.committed("TopicT", 0) == 10; }));
  std::vector<proto::ConsumerSendMsgBackRequest> backs = broker_.send_backs();
  ASSERT_EQ(backs.size(), 1u);
  EXPECT_EQ(backs[0].commit_log_offset(), 2 * 1000);  // the fake's offsets
  EXPECT_EQ(backs[0].delay_level(), 3);
  EXPECT_EQ(backs[0].group(), "CGTimeout");
  EXPECT_EQ(backs[0].original_topic(), "TopicT");

  End(ConsumeResult::kReconsumeLater);
  consumer_->Shutdown();  // waits for the listener call
  EXPECT_EQ(broker_.send_backs().size(), 1u);
  EXPECT_EQ(broker_.committed("TopicT", 0), 10);
  EXPECT_EQ(calls(2), 1);  // not redelivered locally either
}

// A send-back the broker refuses (and no retry copy taken either) leaves
// the message holding the offset; each check tries again, and the call's
// late success then lets the offset pass it.
TEST_F(ConsumeTimeoutTest, AMessageNoBrokerTookBackStillHoldsTheOffset) {
  Start();
  ASSERT_TRUE(Eventually([&] { return broker_.send_backs().size() >= 2; }));
  ASSERT_TRUE(Eventually([&] { return broker_.committed("TopicT", 0) == 2; }));
  EXPECT_EQ(broker_.send_backs()[0].delay_level(), 3);

  End(ConsumeResult::kSuccess);
  ASSERT_TRUE(Eventually([&] { return broker_.committed("TopicT", 0) == 10; }));
  consumer_->Shutdown();
  EXPECT_EQ(broker_.committed("TopicT", 0), 10);
  EXPECT_EQ(calls(2), 1);
}

// A queue given up while a timed-out message's send-back is on its way,
// its call ended meanwhile (late, with a failure that is no longer its
// own), is committed at that message, not past it: the send-back then
// fails, and only the queue's next owner brings the message back.
TEST_F(ConsumeTimeoutTest, AQueueGivenUpDuringASendBackIsCommittedAtIt) {
  broker_.set_park_send_backs(true);
  Start();
  ASSERT_TRUE(Eventually([&] { return broker_.send_backs().size() == 1; }));
  End(ConsumeResult::kReconsumeLater);
  ASSERT_TRUE(consumer_->Unsubscribe("TopicT").ok());
  ASSERT_TRUE(consumer_->OwnedQueues().empty() ||
              consumer_->OwnedQueues()[0].topic != "TopicT");
  broker_.AnswerSendBacks();  // refused, and no retry copy taken either
  consumer_->Shutdown();      // waits for the check that sent it
  EXPECT_EQ(broker_.committed("TopicT", 0), 2);
  EXPECT_EQ(broker_.send_backs().size(), 1u);
  EXPECT_EQ(calls(2), 1);
}

// A call that fails late while its message's send-back is on its way
// leaves the message to that send-back; when no broker takes it back
// either, the message is handed to the listener again, as any failed
// message no broker took back (RocketMQ's late failure is sent back and
// then consumed again locally too), and its success lets the offset pass.
TEST_F(ConsumeTimeoutTest, ALateFailureWhoseSendBackFailedIsConsumedAgain) {
  broker_.set_park_send_backs(true);
  Start();
  ASSERT_TRUE(Eventually([&] { return broker_.send_backs().size() == 1; }));
  // The late failure; its call ends long before the refusal below reaches
  // the check (had it not, its own failure would be sent back and
  // redelivered as usual: the message comes again either way).
  End(ConsumeResult::kReconsumeLater);
  broker_.set_park_send_backs(false);
  broker_.AnswerSendBacks();  // refused, and no retry copy taken either
  ASSERT_TRUE(Eventually([&] { return calls(2) >= 2; }))
      << "the message was not handed to the listener again";
}

// A consumer whose Start() failed (here: its group already runs in this
// client) stops every thread it made, its consume-timeout checker too, as
// the failed Start() returns: Shutdown() does nothing for a consumer that
// never ran.
TEST(ConsumeTimeoutStartTest, AFailedStartLeavesNoThreadRunning) {
  testing::OneBrokerCluster cluster({"TopicT", "%RETRY%CGTimeoutTwice"}, 1);
  ConsumerOptions options = cluster.consumer_options("consume-timeout-twice");
  auto listener = [](const MessageExt&) { return ConsumeResult::kSuccess; };
  DefaultPushConsumer first("CGTimeoutTwice", options);
  ASSERT_TRUE(first.Subscribe("TopicT", "*").ok());
  first.RegisterListener(listener);
  ASSERT_TRUE(first.Start().ok());
  const int threads = ThreadCount();

  DefaultPushConsumer second("CGTimeoutTwice", options);
  ASSERT_TRUE(second.Subscribe("TopicT", "*").ok());
  second.RegisterListener(listener);
  ASSERT_TRUE(absl::IsAlreadyExists(second.Start()));
  second.Shutdown();
  EXPECT_TRUE(Eventually([&] { return ThreadCount() == threads; }))
      << ThreadCount() << " threads, " << threads << " before";
}

}  // namespace
}  // namespace cometmq::client
