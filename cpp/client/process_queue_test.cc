#include "cpp/client/process_queue.h"

#include <memory>
#include <optional>
#include <vector>

#include "gtest/gtest.h"

namespace cometmq::client {
namespace {

std::vector<MessageExt> AtOffsets(std::vector<int64_t> offsets) {
  std::vector<MessageExt> messages;
  for (int64_t offset : offsets) {
    MessageExt message;
    message.queue_offset = offset;
    message.body = "0123456789";
    messages.push_back(message);
  }
  return messages;
}

TEST(ProcessQueueTest, CommitsLowestUnconsumedOffset) {
  ProcessQueue pq({"T", "b", 0}, 100);
  EXPECT_EQ(pq.CommittableOffset(), 100);
  pq.OnPulled(AtOffsets({100, 101, 102, 103}), 104);
  EXPECT_EQ(pq.CommittableOffset(), 100);
  EXPECT_EQ(pq.cached_count(), 4);
  EXPECT_EQ(pq.cached_bytes(), 40);
  pq.Remove(102);
  pq.Remove(101);
  EXPECT_EQ(pq.CommittableOffset(), 100);  // 100 still in flight
  pq.Remove(100);
  EXPECT_EQ(pq.CommittableOffset(), 103);
  pq.Remove(103);
  EXPECT_EQ(pq.CommittableOffset(), 104);  // everything pulled is consumed
  EXPECT_EQ(pq.cached_bytes(), 0);
}

TEST(ProcessQueueTest, MaxSpanIsThatOfTheMessagesStillHeld) {
  ProcessQueue pq({"T", "b", 0}, 0);
  EXPECT_EQ(pq.MaxSpan(), 0);
  pq.OnPulled(AtOffsets({0, 1, 2, 7}), 8);
  EXPECT_EQ(pq.MaxSpan(), 7);
  pq.Remove(7);
  pq.Remove(1);
  EXPECT_EQ(pq.MaxSpan(), 2);
  pq.Remove(2);
  EXPECT_EQ(pq.MaxSpan(), 0);  // only the slow one is left
}

// Only the lowest messages whose call began long enough ago are taken, as
// RocketMQ's cleanExpiredMsg; a taken one's call no longer owns its result.
TEST(ProcessQueueTest, TakeExpiredTakesTheLowestOverdueCalls) {
  ProcessQueue pq({"T", "b", 0}, 0);
  std::vector<MessageExt> pulled = AtOffsets({0, 1, 2, 3});
  pq.OnPulled(pulled, 4);
  const absl::Time t0 = absl::FromUnixSeconds(1000);
  auto start = [&](int64_t offset, absl::Time at) {
    pq.ConsumeStarted(offset, std::make_shared<MessageExt>(pulled[offset]), at);
  };
  start(0, t0);
  start(1, t0 + absl::Seconds(5));
  start(3, t0);  // above 2, which has not started: not reached
  const absl::Duration timeout = absl::Seconds(10);
  EXPECT_TRUE(pq.TakeExpired(t0 + absl::Seconds(10), timeout, 16).empty());

  std::vector<MessageExt> expired =
      pq.TakeExpired(t0 + absl::Seconds(11), timeout, 16);
  ASSERT_EQ(expired.size(), 1u);
  EXPECT_EQ(expired[0].queue_offset, 0);
  // Being sent back: not taken twice, and its call's result is not its own.
  EXPECT_TRUE(pq.TakeExpired(t0 + absl::Seconds(12), timeout, 16).empty());
  // The send-back failed, its call still running: taken again at the next
  // check.
  EXPECT_FALSE(pq.ReturnExpired(0));
  expired = pq.TakeExpired(t0 + absl::Seconds(20), timeout, 1);
  ASSERT_EQ(expired.size(), 1u);
  EXPECT_EQ(expired[0].queue_offset, 0);
  EXPECT_FALSE(pq.ConsumeEnded(0));
  // The send-back succeeded: removed; 1 is next once overdue.
  pq.Remove(0);
  EXPECT_EQ(pq.CommittableOffset(), 1);
  expired = pq.TakeExpired(t0 + absl::Seconds(20), timeout, 16);
  ASSERT_EQ(expired.size(), 1u);
  EXPECT_EQ(expired[0].queue_offset, 1);
  // A call that ended in time owns its result and is no longer timed.
  EXPECT_TRUE(pq.ConsumeEnded(3));
  EXPECT_FALSE(pq.ConsumeEnded(0));  // gone
}

// A call that ended (late, failed) while its message was being sent back
// left it to that send-back: when the send-back fails, the message is
// handed back for a local redelivery, still held, and no longer timed.
TEST(ProcessQueueTest, AFailedSendBackOfAnEndedCallHandsTheMessageBack) {
  ProcessQueue pq({"T", "b", 0}, 0);
  std::vector<MessageExt> pulled = AtOffsets({0, 1});
  pq.OnPulled(pulled, 2);
  const absl::Time t0 = absl::FromUnixSeconds(1000);
  const absl::Duration timeout = absl::Seconds(10);
  pq.ConsumeStarted(0, std::make_shared<MessageExt>(pulled[0]), t0);
  ASSERT_EQ(pq.TakeExpired(t0 + absl::Seconds(11), timeout, 16).size(), 1u);
  EXPECT_FALSE(pq.ConsumeEnded(0));  // the late failure
  EXPECT_TRUE(pq.ReturnExpired(0));  // the send-back failed
  EXPECT_EQ(pq.CommittableOffset(), 0);
  EXPECT_TRUE(pq.TakeExpired(t0 + absl::Hours(1), timeout, 16).empty());
  // Its next call is timed afresh and owns its result.
  pq.ConsumeStarted(0, std::make_shared<MessageExt>(pulled[0]),
                    t0 + absl::Hours(1));
  EXPECT_TRUE(pq.ConsumeEnded(0));
}

TEST(ProcessQueueTest, FilteredGapsAdvanceTheOffset) {
  ProcessQueue pq({"T", "b", 0}, 0);
  // Offsets 0..9 pulled, only 3 and 7 matched the tags.
  pq.OnPulled(AtOffsets({3, 7}), 10);
  EXPECT_EQ(pq.CommittableOffset(), 3);
  pq.Remove(3);
  EXPECT_EQ(pq.CommittableOffset(), 7);
  pq.Remove(7);
  EXPECT_EQ(pq.CommittableOffset(), 10);
  EXPECT_EQ(pq.next_offset(), 10);
}

TEST(ProcessQueueTest, RepeatedRemoveAndRedeliveryAreHarmless) {
  ProcessQueue pq({"T", "b", 0}, 0);
  pq.OnPulled(AtOffsets({0, 1}), 2);
  pq.Remove(1);
  pq.Remove(1);
  EXPECT_EQ(pq.cached_count(), 1);
  EXPECT_EQ(pq.cached_bytes(), 10);
}

TEST(ProcessQueueTest, WaitConsumeIdle) {
  ProcessQueue pq({"T", "b", 0}, 0);
  EXPECT_TRUE(pq.WaitConsumeIdle(absl::ZeroDuration()));
  pq.BeginConsume();
  EXPECT_FALSE(pq.WaitConsumeIdle(absl::Milliseconds(10)));
  pq.EndConsume();
  EXPECT_TRUE(pq.WaitConsumeIdle(absl::ZeroDuration()));
}

TEST(ProcessQueueTest, OrderlyBufferHandsOutLowestOffsetFirstToOneTask) {
  ProcessQueue pq({"T", "b", 0}, 0);
  EXPECT_TRUE(pq.PutOrderly(AtOffsets({5, 3})));  // starts the task
  EXPECT_FALSE(pq.PutOrderly(AtOffsets({4})));    // the task is running
  EXPECT_EQ(pq.TakeOrderly()->queue_offset, 3);
  std::optional<MessageExt> four = pq.TakeOrderly();
  EXPECT_EQ(four->queue_offset, 4);
  pq.PutBackOrderly(*four);  // a local retry is taken again first
  EXPECT_EQ(pq.TakeOrderly()->queue_offset, 4);
  EXPECT_EQ(pq.TakeOrderly()->queue_offset, 5);
  EXPECT_FALSE(pq.TakeOrderly().has_value());  // ends the task
  EXPECT_FALSE(pq.PutOrderly({}));             // nothing to consume
  EXPECT_TRUE(pq.PutOrderly(AtOffsets({6})));  // a new task
}

TEST(ProcessQueueTest, ConsumeLockIsExclusiveAndTimesOut) {
  ProcessQueue pq({"T", "b", 0}, 0);
  EXPECT_TRUE(pq.TryLockConsume(absl::ZeroDuration()));
  EXPECT_FALSE(pq.TryLockConsume(absl::Milliseconds(10)));
  pq.UnlockConsume();
  EXPECT_TRUE(pq.TryLockConsume(absl::ZeroDuration()));
  pq.UnlockConsume();
}

TEST(ProcessQueueTest, BrokerLockIsFreshForTtlAfterTheLastRenewal) {
  ProcessQueue pq({"T", "b", 0}, 0);
  const absl::Time t0 = absl::FromUnixSeconds(1000);
  const absl::Duration ttl = absl::Seconds(30);
  EXPECT_FALSE(pq.LockFresh(t0, ttl));
  pq.SetLocked(true, t0);
  EXPECT_TRUE(pq.locked());
  EXPECT_TRUE(pq.LockFresh(t0 + ttl, ttl));
  EXPECT_FALSE(pq.LockFresh(t0 + ttl + absl::Seconds(1), ttl));
  pq.SetLocked(true, t0 + absl::Seconds(20));
  EXPECT_TRUE(pq.LockFresh(t0 + ttl + absl::Seconds(1), ttl));
  pq.SetLocked(false, t0 + absl::Seconds(21));
  EXPECT_FALSE(pq.LockFresh(t0 + absl::Seconds(21), ttl));
}

// A reset replaced the process queue: whatever the consumption still
// running on it reaches, it commits the reset offset.
TEST(ProcessQueueTest, APinnedOffsetIsCommittedWhateverIsConsumedAfter) {
  ProcessQueue pq({"T", "b", 0}, 0);
  pq.OnPulled(AtOffsets({0, 1, 2}), 3);
  pq.PinCommittable(20);
  EXPECT_EQ(pq.CommittableOffset(), 20);
  pq.Remove(0);
  pq.Remove(1);
  pq.Remove(2);
  EXPECT_EQ(pq.CommittableOffset(), 20);
  pq.PinCommittable(1);  // a later reset back
  EXPECT_EQ(pq.CommittableOffset(), 1);
}

TEST(ProcessQueueTest, AReplacementInheritsTheBrokerLockAndItsAge) {
  const absl::Time t0 = absl::FromUnixSeconds(1000);
  const absl::Duration ttl = absl::Seconds(30);
  ProcessQueue old({"T", "b", 0}, 0);
  old.SetLocked(true, t0);
  ProcessQueue replacement({"T", "b", 0}, 7);
  replacement.InheritLock(old);
  EXPECT_TRUE(replacement.locked());
  EXPECT_TRUE(replacement.LockFresh(t0 + ttl, ttl));
  EXPECT_FALSE(replacement.LockFresh(t0 + ttl + absl::Seconds(1), ttl));
}

}  // namespace
}  // namespace cometmq::client
