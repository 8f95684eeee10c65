// RocketMQ's consumeConcurrentlyMaxSpan in the consumer core, against a
// fake broker.

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "cpp/client/client_instance.h"
#include "cpp/client/consumer_core.h"
#include "cpp/client/fake_broker.h"
#include "cpp/client/test_cluster.h"
#include "gtest/gtest.h"

namespace cometmq::client {
namespace {

// Waits up to 10 s for `done`.
bool Eventually(const std::function<bool()>& done) {
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (!done()) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(5));
  }
  return true;
}

// A consumer core whose sink holds every delivered message (nothing is
// consumed) until release_above_zero(): from then on every message but
// offset 0 is consumed, those held and those delivered later.
class SpanTest : public ::testing::Test {
 protected:
  void Start(bool orderly) {
    namesrv_.RegisterBroker("broker-a", broker_.address(), {"TopicSpan"}, 1);
    broker_.Append("TopicSpan", 0, 20);
    ConsumerOptions options;
    options.client.namesrv_addr = namesrv_.address();
    options.client.instance_name = orderly ? "span-orderly" : "span";
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

  testing::TestNameServer namesrv_;
  testing::FakeBroker broker_;
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

}  // namespace
}  // namespace cometmq::client
