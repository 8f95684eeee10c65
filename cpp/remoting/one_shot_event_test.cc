#include "cpp/remoting/one_shot_event.h"

#include <atomic>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace cometmq::remoting {
namespace {

TEST(OneShotEventTest, NotifiedBeforeWaitReturnsAtOnce) {
  OneShotEvent event;
  event.Notify();
  EXPECT_TRUE(event.WaitUntil(absl::Now() - absl::Seconds(1)));
  EXPECT_TRUE(event.notified());
}

TEST(OneShotEventTest, DeadlinePassesWithoutNotify) {
  OneShotEvent event;
  const absl::Time start = absl::Now();
  EXPECT_FALSE(event.WaitUntil(start + absl::Milliseconds(20)));
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(20));
  EXPECT_FALSE(event.notified());
  // A Notify after a timed-out wait still lets a later wait finish.
  event.Notify();
  event.Wait();
  EXPECT_TRUE(event.notified());
}

TEST(OneShotEventTest, WakesASleepingWaiterAndPublishesWrites) {
  // Many rounds so the notify lands both before and during the sleep.
  for (int round = 0; round < 2000; ++round) {
    OneShotEvent event;
    int value = 0;
    std::thread notifier([&] {
      value = round;
      event.Notify();
    });
    ASSERT_TRUE(event.WaitUntil(absl::Now() + absl::Seconds(10)));
    EXPECT_EQ(value, round);
    notifier.join();
  }
}

}  // namespace
}  // namespace cometmq::remoting
