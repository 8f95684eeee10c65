#include "cpp/store/consume_queue.h"

#include "cpp/store/store_test_util.h"
#include "gtest/gtest.h"

namespace cometmq::store {
namespace {

ConsumeQueue::Entry At(int64_t commit_log_offset) {
  return ConsumeQueue::Entry{commit_log_offset, 50, 0};
}

// Entries 0 and 3, with slots 1 and 2 left empty (as a crash before their
// entries were written leaves them).
std::unique_ptr<ConsumeQueue> QueueWithHoles(const std::string& name) {
  auto queue =
      std::make_unique<ConsumeQueue>("T", 0, MakeTempDir(name), 20 * 1000);
  EXPECT_TRUE(queue->Load().ok());
  EXPECT_TRUE(queue->Put(At(0), 0).ok());
  EXPECT_TRUE(queue->Put(At(300), 3).ok());
  return queue;
}

TEST(ConsumeQueueTest, RetentionMovesTheMinimumPastDeletedAndEmptySlots) {
  std::unique_ptr<ConsumeQueue> queue = QueueWithHoles("cq_min");
  EXPECT_EQ(queue->min_offset(), 0);
  queue->DeleteBelow(250);
  EXPECT_EQ(queue->min_offset(), 3);
}

TEST(ConsumeQueueTest, HoleRefilledBelowTheMinimumLowersItOnlyIfRetained) {
  std::unique_ptr<ConsumeQueue> queue = QueueWithHoles("cq_refill");
  queue->DeleteBelow(250);
  // Re-dispatch read this record before retention deleted it: its entry is
  // written, but the queue must not start at a deleted record.
  ASSERT_TRUE(queue->Put(At(100), 1).ok());
  EXPECT_EQ(queue->min_offset(), 3);
  // A record retention kept does become the start.
  ASSERT_TRUE(queue->Put(At(260), 2).ok());
  EXPECT_EQ(queue->min_offset(), 2);
  // And the next retention round keeps it.
  queue->DeleteBelow(250);
  EXPECT_EQ(queue->min_offset(), 2);
}

}  // namespace
}  // namespace cometmq::store
