#include "cpp/store/group_commit_pacer.h"

#include "gtest/gtest.h"

namespace cometmq::store {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1700000000);

absl::Time At(int64_t micros) { return kT0 + absl::Microseconds(micros); }

// 16 synchronous producers on a disk whose flush takes 2 ms: 8 waited in
// the last flush, 8 arrived 10 us apart while it ran.
GroupCommitPacer SlowDiskWithTwoCohorts() {
  GroupCommitPacer pacer;
  pacer.OnBatch(8, At(0), At(70));
  pacer.OnFlushed(At(2000), absl::Milliseconds(2), 8, 8);
  return pacer;
}

TEST(GroupCommitPacerTest, NothingLearnedMeansNoHold) {
  GroupCommitPacer pacer;
  EXPECT_FALSE(pacer.HoldFor(At(0), 1).has_value());
  pacer.OnFlushed(At(100), absl::Microseconds(100), 1, 0);
  EXPECT_FALSE(pacer.HoldFor(At(110), 1).has_value()) << "no spacing yet";
}

TEST(GroupCommitPacerTest, SlowFlushHoldsUntilTheReleasedCohortIsBack) {
  GroupCommitPacer pacer = SlowDiskWithTwoCohorts();
  std::optional<GroupCommitPacer::Hold> hold = pacer.HoldFor(At(2010), 8);
  ASSERT_TRUE(hold.has_value());
  EXPECT_EQ(hold->waiters, 16);
  // At most half a flush, and never more than kMaxHold.
  EXPECT_EQ(hold->deadline, At(2010) + GroupCommitPacer::kMaxHold);
}

TEST(GroupCommitPacerTest, HoldIsAtMostHalfAFlush) {
  GroupCommitPacer pacer;
  pacer.OnBatch(4, At(0), At(30));
  pacer.OnFlushed(At(400), absl::Microseconds(400), 4, 0);
  std::optional<GroupCommitPacer::Hold> hold = pacer.HoldFor(At(420), 1);
  ASSERT_TRUE(hold.has_value());
  EXPECT_EQ(hold->waiters, 4);
  EXPECT_EQ(hold->deadline, At(620));
}

TEST(GroupCommitPacerTest, FastFlushDoesNotHold) {
  // Flushes of 80 us, producers arriving 11 us apart: the 8 still out
  // would take longer than half a flush to come back.
  GroupCommitPacer pacer;
  pacer.OnBatch(8, At(0), At(77));
  pacer.OnFlushed(At(80), absl::Microseconds(80), 8, 8);
  EXPECT_FALSE(pacer.HoldFor(At(90), 8).has_value());
}

TEST(GroupCommitPacerTest, NoHoldOnceEveryoneInFlightWaits) {
  GroupCommitPacer pacer = SlowDiskWithTwoCohorts();
  EXPECT_FALSE(pacer.HoldFor(At(2010), 16).has_value());
  EXPECT_FALSE(pacer.HoldFor(At(2010), 20).has_value());
}

TEST(GroupCommitPacerTest, NoHoldLongAfterTheLastFlush) {
  // Appends not in step with the flushes (a lone producer after a pause)
  // are flushed at once.
  GroupCommitPacer pacer = SlowDiskWithTwoCohorts();
  EXPECT_FALSE(pacer.HoldFor(At(2000 + 2001), 1).has_value());
}

TEST(GroupCommitPacerTest, FlushDurationAndSpacingAreSmoothed) {
  GroupCommitPacer pacer = SlowDiskWithTwoCohorts();
  EXPECT_EQ(pacer.flush_estimate(), absl::Milliseconds(2));
  EXPECT_EQ(pacer.spacing_estimate(), absl::Microseconds(10));
  // One fast flush moves the estimate a quarter of the way.
  pacer.OnFlushed(At(2100), absl::Microseconds(400), 8, 0);
  EXPECT_EQ(pacer.flush_estimate(), absl::Microseconds(1600));
  pacer.OnBatch(2, At(3000), At(3050));
  EXPECT_EQ(pacer.spacing_estimate(), absl::Microseconds(20));
  // A batch of one tells nothing about spacing.
  pacer.OnBatch(1, At(4000), At(4000));
  EXPECT_EQ(pacer.spacing_estimate(), absl::Microseconds(20));
}

TEST(GroupCommitPacerTest, FewerProducersThanEstimatedOnlyCostOneHold) {
  GroupCommitPacer pacer = SlowDiskWithTwoCohorts();
  ASSERT_TRUE(pacer.HoldFor(At(2010), 8).has_value());
  // Only 12 came; the flush at the deadline re-estimates from them.
  pacer.OnBatch(12, At(1000), At(2100));
  pacer.OnFlushed(At(5000), absl::Milliseconds(2), 12, 0);
  std::optional<GroupCommitPacer::Hold> hold = pacer.HoldFor(At(5010), 1);
  ASSERT_TRUE(hold.has_value());
  EXPECT_EQ(hold->waiters, 12);
}

}  // namespace
}  // namespace cometmq::store
