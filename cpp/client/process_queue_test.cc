#include "cpp/client/process_queue.h"

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

}  // namespace
}  // namespace cometmq::client
