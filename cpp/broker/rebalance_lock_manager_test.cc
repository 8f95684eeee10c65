#include "cpp/broker/rebalance_lock_manager.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cometmq::broker {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Optional;

LockedQueue Q(int32_t id) { return LockedQueue{"T", "broker-a", id}; }

class RebalanceLockManagerTest : public ::testing::Test {
 protected:
  RebalanceLockManager locks_{absl::Seconds(60)};
  absl::Time t0_ = absl::FromUnixSeconds(1000000);
};

TEST_F(RebalanceLockManagerTest, FreeQueuesAreLockedForTheCaller) {
  EXPECT_THAT(locks_.TryLockBatch("g", "c1", {Q(0), Q(1)}, t0_),
              ElementsAre(Q(0), Q(1)));
  EXPECT_THAT(locks_.Holder("g", Q(0), t0_), Optional(std::string("c1")));
  EXPECT_EQ(locks_.Holder("g", Q(2), t0_), std::nullopt);
}

TEST_F(RebalanceLockManagerTest, OtherClientIsRefusedWhileTheLockLives) {
  locks_.TryLockBatch("g", "c1", {Q(0), Q(1)}, t0_);
  EXPECT_THAT(
      locks_.TryLockBatch("g", "c2", {Q(1), Q(2)}, t0_ + absl::Seconds(59)),
      ElementsAre(Q(2)));
  EXPECT_THAT(locks_.Holder("g", Q(1), t0_), Optional(std::string("c1")));
  // Another group's locks are independent.
  EXPECT_THAT(locks_.TryLockBatch("g2", "c2", {Q(1)}, t0_), ElementsAre(Q(1)));
}

TEST_F(RebalanceLockManagerTest, ExpiredLockGoesToTheNextClient) {
  locks_.TryLockBatch("g", "c1", {Q(0)}, t0_);
  EXPECT_THAT(locks_.TryLockBatch("g", "c2", {Q(0)}, t0_ + absl::Seconds(60)),
              IsEmpty());  // exactly at the limit it still lives
  const absl::Time later = t0_ + absl::Seconds(61);
  EXPECT_EQ(locks_.Holder("g", Q(0), later), std::nullopt);
  EXPECT_THAT(locks_.TryLockBatch("g", "c2", {Q(0)}, later), ElementsAre(Q(0)));
  EXPECT_THAT(locks_.Holder("g", Q(0), later), Optional(std::string("c2")));
  // The former holder cannot take it back.
  EXPECT_THAT(locks_.TryLockBatch("g", "c1", {Q(0)}, later), IsEmpty());
}

TEST_F(RebalanceLockManagerTest, RenewalKeepsTheLockAlive) {
  locks_.TryLockBatch("g", "c1", {Q(0)}, t0_);
  EXPECT_THAT(locks_.TryLockBatch("g", "c1", {Q(0)}, t0_ + absl::Seconds(40)),
              ElementsAre(Q(0)));
  // 80 s after the first lock but 40 s after the renewal: still held.
  EXPECT_THAT(locks_.TryLockBatch("g", "c2", {Q(0)}, t0_ + absl::Seconds(80)),
              IsEmpty());
  EXPECT_THAT(locks_.TryLockBatch("g", "c2", {Q(0)}, t0_ + absl::Seconds(101)),
              ElementsAre(Q(0)));
}

TEST_F(RebalanceLockManagerTest, OnlyTheHolderUnlocks) {
  locks_.TryLockBatch("g", "c1", {Q(0), Q(1)}, t0_);
  locks_.UnlockBatch("g", "c2", {Q(0)});
  EXPECT_THAT(locks_.Holder("g", Q(0), t0_), Optional(std::string("c1")));
  locks_.UnlockBatch("g", "c1", {Q(0)});
  EXPECT_EQ(locks_.Holder("g", Q(0), t0_), std::nullopt);
  EXPECT_THAT(locks_.TryLockBatch("g", "c2", {Q(0), Q(1)}, t0_),
              ElementsAre(Q(0)));
  locks_.UnlockBatch("nope", "c1", {Q(1)});  // unknown group: no effect
  EXPECT_THAT(locks_.Holder("g", Q(1), t0_), Optional(std::string("c1")));
}

}  // namespace
}  // namespace cometmq::broker
