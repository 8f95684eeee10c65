#include "cpp/client/consume_orderly_service.h"

#include <algorithm>
#include <atomic>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "cpp/common/eventually.h"
#include "cpp/common/monotonic_clock.h"
#include "gtest/gtest.h"

namespace cometmq::client {
namespace {

std::vector<MessageExt> Messages(int32_t queue_id, int64_t from, int64_t to) {
  std::vector<MessageExt> messages;
  for (int64_t offset = from; offset < to; ++offset) {
    MessageExt message;
    message.topic = "T";
    message.queue_id = queue_id;
    message.queue_offset = offset;
    message.body = "x";
    messages.push_back(std::move(message));
  }
  return messages;
}

// Records listener calls and answers with `fail` for chosen offsets.
class Recorder {
 public:
  ConsumeResult Call(const MessageExt& message) {
    bool fail = false;
    {
      absl::MutexLock lock(&mu_);
      int& running = running_[message.queue_id];
      ++running;
      max_running_ = std::max(max_running_, running);
      calls_.push_back(message);
      fail = fail_offsets_.count(message.queue_offset) > 0;
      auto released = [&]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
        return held_offset_ != message.queue_offset;
      };
      mu_.Await(absl::Condition(&released));
    }
    // Stays "in" the listener a moment, so an overlapping call would show.
    absl::SleepFor(absl::Microseconds(200));
    absl::MutexLock lock(&mu_);
    --running_[message.queue_id];
    return fail ? ConsumeResult::kReconsumeLater : ConsumeResult::kSuccess;
  }
  bool WaitForCalls(size_t n) {
    absl::MutexLock lock(&mu_);
    auto enough = [&]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
      return calls_.size() >= n;
    };
    return mu_.AwaitWithTimeout(absl::Condition(&enough), absl::Seconds(10));
  }
  std::vector<MessageExt> calls() {
    absl::MutexLock lock(&mu_);
    return calls_;
  }
  int max_running() {
    absl::MutexLock lock(&mu_);
    return max_running_;
  }
  // The call on `offset` does not return until Unhold().
  void Hold(int64_t offset) {
    absl::MutexLock lock(&mu_);
    held_offset_ = offset;
  }
  void Unhold() {
    absl::MutexLock lock(&mu_);
    held_offset_ = -1;
  }
  void FailOffset(int64_t offset) {
    absl::MutexLock lock(&mu_);
    fail_offsets_[offset] = true;
  }

 private:
  absl::Mutex mu_;
  std::vector<MessageExt> calls_ ABSL_GUARDED_BY(mu_);
  std::map<int32_t, int> running_ ABSL_GUARDED_BY(mu_);
  int max_running_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t held_offset_ ABSL_GUARDED_BY(mu_) = -1;
  std::map<int64_t, bool> fail_offsets_ ABSL_GUARDED_BY(mu_);
};

class ConsumeOrderlyServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    options_.suspend_time = absl::Milliseconds(10);
    options_.max_reconsume_times = 2;
  }
  void TearDown() override {
    if (service_) service_->Shutdown();
    pool_.Shutdown();
    scheduler_.Shutdown();
  }
  void Make(bool check_locks) {
    service_ = std::make_shared<ConsumeOrderlyService>(
        "g", options_, check_locks,
        [this](const MessageExt& m) { return recorder_.Call(m); }, nullptr,
        &pool_, &scheduler_,
        [this](const MessageExt& m) {
          absl::MutexLock lock(&dlq_mu_);
          dlq_.push_back(m);
          return true;
        },
        [this] {
          absl::MutexLock lock(&dlq_mu_);
          ++dropped_idle_;
        });
  }
  // With a batch listener that records each call's (offset, reconsume
  // times) and fails the calls `fail` picks.
  void MakeBatch(std::function<bool(const std::vector<MessageExt>&)> fail) {
    service_ = std::make_shared<ConsumeOrderlyService>(
        "g", options_, /*check_locks=*/false, nullptr,
        [this, fail](const std::vector<MessageExt>& batch) {
          std::vector<std::pair<int64_t, int32_t>> call;
          for (const MessageExt& m : batch) {
            call.emplace_back(m.queue_offset, m.reconsume_times);
          }
          absl::MutexLock lock(&dlq_mu_);
          batches_.push_back(call);
          return fail(batch) ? ConsumeResult::kReconsumeLater
                             : ConsumeResult::kSuccess;
        },
        &pool_, &scheduler_,
        [this](const MessageExt& m) {
          absl::MutexLock lock(&dlq_mu_);
          dlq_.push_back(m);
          return true;
        },
        nullptr);
  }
  std::vector<std::vector<std::pair<int64_t, int32_t>>> batches() {
    absl::MutexLock lock(&dlq_mu_);
    return batches_;
  }
  int dropped_idle() {
    absl::MutexLock lock(&dlq_mu_);
    return dropped_idle_;
  }
  std::shared_ptr<ProcessQueue> Queue(int32_t id) {
    return std::make_shared<ProcessQueue>(MessageQueue{"T", "b", id}, 0);
  }
  // As the consumer core does: in flight, then to the consume service.
  void Pull(const std::shared_ptr<ProcessQueue>& pq, int64_t from, int64_t to) {
    std::vector<MessageExt> messages = Messages(pq->queue().queue_id, from, to);
    pq->OnPulled(messages, to);
    service_->Submit(pq, std::move(messages));
  }

  ConsumerOptions options_;
  ThreadPool pool_{"test-consume", 4};
  Scheduler scheduler_{"test-timer"};
  Recorder recorder_;
  std::shared_ptr<ConsumeOrderlyService> service_;
  absl::Mutex dlq_mu_;
  std::vector<MessageExt> dlq_ ABSL_GUARDED_BY(dlq_mu_);
  int dropped_idle_ ABSL_GUARDED_BY(dlq_mu_) = 0;
  std::vector<std::vector<std::pair<int64_t, int32_t>>> batches_
      ABSL_GUARDED_BY(dlq_mu_);
};

bool Holds(const std::vector<MessageExt>& batch, int64_t offset) {
  return std::any_of(batch.begin(), batch.end(), [&](const MessageExt& m) {
    return m.queue_offset == offset;
  });
}

using Batch = std::vector<std::pair<int64_t, int32_t>>;

// Up to consume_batch_max_size consecutive messages per call, in order; a
// failed batch suspends the queue and comes again as it was, each of its
// messages counting a reconsume, before anything after it.
TEST_F(ConsumeOrderlyServiceTest, BatchesInOrderAndASuspendRetriesTheBatch) {
  options_.consume_batch_max_size = 4;
  std::atomic<bool> failed{false};
  MakeBatch([&](const std::vector<MessageExt>& batch) {
    return Holds(batch, 5) && !failed.exchange(true);
  });
  auto pq = Queue(0);
  Pull(pq, 0, 10);
  ASSERT_TRUE(Eventually([&] { return pq->CommittableOffset() == 10; }));
  EXPECT_EQ(batches(), (std::vector<Batch>{{{0, 0}, {1, 0}, {2, 0}, {3, 0}},
                                           {{4, 0}, {5, 0}, {6, 0}, {7, 0}},
                                           {{4, 1}, {5, 1}, {6, 1}, {7, 1}},
                                           {{8, 0}, {9, 0}}}));
}

// A failed batch whose messages differ in reconsumes: those past
// max_reconsume_times go to the DLQ, the others are retried, and the queue
// moves on once they succeed.
TEST_F(ConsumeOrderlyServiceTest, BatchMessagesPastTheMaxGoToTheDlqAlone) {
  options_.consume_batch_max_size = 3;
  options_.max_reconsume_times = 1;
  options_.suspend_time = absl::Milliseconds(300);
  MakeBatch(
      [](const std::vector<MessageExt>& batch) { return Holds(batch, 0); });
  auto pq = Queue(0);
  Pull(pq, 0, 2);
  ASSERT_TRUE(Eventually([&] { return !batches().empty(); }));
  Pull(pq, 2, 4);  // while [0, 1] is suspended
  ASSERT_TRUE(Eventually([&] { return pq->CommittableOffset() == 4; }));
  EXPECT_EQ(batches(),
            (std::vector<Batch>{
                {{0, 0}, {1, 0}}, {{0, 1}, {1, 1}, {2, 0}}, {{2, 1}, {3, 0}}}));
  absl::MutexLock lock(&dlq_mu_);
  ASSERT_EQ(dlq_.size(), 2u);
  EXPECT_EQ(dlq_[0].queue_offset, 0);
  EXPECT_EQ(dlq_[1].queue_offset, 1);
}

TEST_F(ConsumeOrderlyServiceTest, EachQueueInOrderOnOneThreadAtATime) {
  Make(/*check_locks=*/false);
  auto a = Queue(0);
  auto b = Queue(1);
  for (int64_t from = 0; from < 200; from += 20) {
    Pull(a, from, from + 20);
    Pull(b, from, from + 20);
  }
  ASSERT_TRUE(recorder_.WaitForCalls(400));
  ASSERT_TRUE(Eventually([&] {
    return a->CommittableOffset() == 200 && b->CommittableOffset() == 200;
  }));
  std::map<int32_t, int64_t> next;
  for (const MessageExt& m : recorder_.calls()) {
    EXPECT_EQ(m.queue_offset, next[m.queue_id]++) << "queue " << m.queue_id;
  }
  EXPECT_EQ(next[0], 200);
  EXPECT_EQ(next[1], 200);
  EXPECT_EQ(recorder_.max_running(), 1);
}

TEST_F(ConsumeOrderlyServiceTest, FailureSuspendsThenGoesToDlqAndQueueMovesOn) {
  Make(/*check_locks=*/false);
  recorder_.FailOffset(1);
  auto pq = Queue(0);
  Pull(pq, 0, 3);
  ASSERT_TRUE(recorder_.WaitForCalls(5));
  ASSERT_TRUE(Eventually([&] { return pq->CommittableOffset() == 3; }));
  std::vector<std::pair<int64_t, int32_t>> seen;
  for (const MessageExt& m : recorder_.calls()) {
    seen.emplace_back(m.queue_offset, m.reconsume_times);
  }
  // Offset 1 is retried in place (2 is held back) until max_reconsume_times.
  EXPECT_EQ(seen, (std::vector<std::pair<int64_t, int32_t>>{
                      {0, 0}, {1, 0}, {1, 1}, {1, 2}, {2, 0}}));
  {
    absl::MutexLock lock(&dlq_mu_);
    ASSERT_EQ(dlq_.size(), 1u);
    EXPECT_EQ(dlq_[0].queue_offset, 1);
  }
}

// max_reconsume_times as RocketMQ's orderly consumer reads it: -1 (the
// default) retries without end, 0 sends the first failure to the DLQ. -1
// used to send it to the DLQ at its first failure too.
TEST_F(ConsumeOrderlyServiceTest, MinusOneRetriesWithoutEndAndZeroNever) {
  options_.max_reconsume_times = -1;
  Make(/*check_locks=*/false);
  recorder_.FailOffset(0);
  auto pq = Queue(0);
  Pull(pq, 0, 1);
  ASSERT_TRUE(recorder_.WaitForCalls(25));  // 16 and more retries
  {
    absl::MutexLock lock(&dlq_mu_);
    EXPECT_TRUE(dlq_.empty());
  }
  EXPECT_EQ(pq->CommittableOffset(), 0);
  service_->Shutdown();
  service_.reset();

  options_.max_reconsume_times = 0;
  Make(/*check_locks=*/false);
  auto other = Queue(1);
  recorder_.FailOffset(5);
  Pull(other, 5, 6);
  ASSERT_TRUE(Eventually([&] { return other->CommittableOffset() == 6; }));
  int calls_of_5 = 0;
  for (const MessageExt& m : recorder_.calls()) {
    calls_of_5 += m.queue_id == 1 && m.queue_offset == 5;
  }
  EXPECT_EQ(calls_of_5, 1);
  absl::MutexLock lock(&dlq_mu_);
  ASSERT_EQ(dlq_.size(), 1u);
  EXPECT_EQ(dlq_[0].queue_offset, 5);
}

TEST(MaxReconsumeTimesTest,
     MinusOneIsRocketMqsDefaultAndOtherNegativesAreRefused) {
  EXPECT_EQ(ConsumerOptions{}.max_reconsume_times, -1);
  EXPECT_EQ(EffectiveMaxReconsumeTimes(-1, /*orderly=*/false), 16);
  EXPECT_EQ(EffectiveMaxReconsumeTimes(-1, /*orderly=*/true),
            std::numeric_limits<int>::max());
  for (bool orderly : {false, true}) {
    EXPECT_EQ(EffectiveMaxReconsumeTimes(0, orderly), 0);
    EXPECT_EQ(EffectiveMaxReconsumeTimes(3, orderly), 3);
  }
  for (int ok : {-1, 0, 1, std::numeric_limits<int>::max()}) {
    EXPECT_TRUE(ValidateMaxReconsumeTimes(ok).ok()) << ok;
  }
  for (int bad : {-2, -16, std::numeric_limits<int>::min()}) {
    absl::Status status = ValidateMaxReconsumeTimes(bad);
    EXPECT_TRUE(absl::IsInvalidArgument(status)) << bad;
    EXPECT_NE(status.message().find("max_reconsume_times"), std::string::npos);
  }
}

TEST_F(ConsumeOrderlyServiceTest, ConsumesOnlyWhileTheBrokerLockIsFresh) {
  Make(/*check_locks=*/true);
  auto pq = Queue(0);
  Pull(pq, 0, 2);
  // Absence needs a while to show: several not-locked rounds pass.
  absl::SleepFor(absl::Milliseconds(500));
  EXPECT_TRUE(recorder_.calls().empty());
  pq->SetLocked(true, MonotonicNow());
  ASSERT_TRUE(recorder_.WaitForCalls(2));
  EXPECT_TRUE(Eventually([&] { return pq->CommittableOffset() == 2; }));
}

TEST_F(ConsumeOrderlyServiceTest, DroppedUnderTheConsumeLockStopsDelivery) {
  Make(/*check_locks=*/false);
  auto pq = Queue(0);
  // A rebalance giving the queue up: drop, then take the consume lock.
  pq->Drop();
  ASSERT_TRUE(pq->TryLockConsume(absl::Seconds(1)));
  Pull(pq, 0, 5);
  pq->UnlockConsume();
  Pull(pq, 5, 6);
  // Nothing may be consumed; give the pool a moment to prove it.
  absl::SleepFor(absl::Milliseconds(100));
  EXPECT_TRUE(recorder_.calls().empty());
  EXPECT_EQ(pq->CommittableOffset(), 0);
}

// The message a consume task took while a rebalance held the consume lock
// (the task waits for it in ConsumeOne) is not consumed once the lock is
// free: whoever takes the consume lock away from the task (Release(),
// Shutdown()) drops the queue first, and the queue is the next owner's,
// however fresh its broker lock looked when the task took the message.
TEST_F(ConsumeOrderlyServiceTest,
       MessageTakenBeforeARebalanceIsNotConsumedAfterIt) {
  Make(/*check_locks=*/true);
  auto pq = Queue(0);
  pq->SetLocked(true, MonotonicNow());
  ASSERT_TRUE(pq->TryLockConsume(absl::Seconds(1)));
  Pull(pq, 0, 1);
  // Lets the task take the message and wait for the consume lock; had it
  // not got there yet, it would stop at the dropped queue all the same.
  absl::SleepFor(absl::Milliseconds(100));
  pq->Drop();
  pq->SetLocked(false, MonotonicNow());
  pq->UnlockConsume();
  absl::SleepFor(absl::Milliseconds(100));
  EXPECT_TRUE(recorder_.calls().empty());
  EXPECT_EQ(pq->CommittableOffset(), 0);
}

// A rebalance gives a queue up without waiting for the message being
// consumed (a wait would hold up the client's lock renewals): the service
// says when that call has ended, so the queue is released then, and not
// before.
TEST_F(ConsumeOrderlyServiceTest, AQueueDroppedMidCallIsReportedIdleAfterIt) {
  Make(/*check_locks=*/false);
  auto pq = Queue(0);
  recorder_.Hold(0);
  Pull(pq, 0, 3);
  ASSERT_TRUE(recorder_.WaitForCalls(1));
  pq->Drop();
  EXPECT_FALSE(pq->TryLockConsume(absl::ZeroDuration()));
  EXPECT_EQ(dropped_idle(), 0);
  recorder_.Unhold();
  ASSERT_TRUE(Eventually([&] { return dropped_idle() == 1; }));
  EXPECT_TRUE(pq->TryLockConsume(absl::ZeroDuration()));
  EXPECT_EQ(recorder_.calls().size(), 1u);
  EXPECT_EQ(pq->CommittableOffset(), 1);
  pq->UnlockConsume();
}

}  // namespace
}  // namespace cometmq::client
