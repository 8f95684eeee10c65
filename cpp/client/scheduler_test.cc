#include "cpp/client/scheduler.h"

#include "absl/synchronization/notification.h"
#include "cpp/client/thread_pool.h"
#include "gtest/gtest.h"

namespace cometmq::client {
namespace {

TEST(SchedulerTest, TaskDueNowRunsWhileALaterTaskIsPending) {
  Scheduler scheduler("test-timer");
  // Queue the far task from the timer thread itself, so the thread goes to
  // sleep until it right after.
  absl::Notification sleeping_on_far_task;
  scheduler.Schedule(absl::ZeroDuration(), [&] {
    scheduler.Schedule(absl::Minutes(10), [] {});
    sleeping_on_far_task.Notify();
  });
  sleeping_on_far_task.WaitForNotification();
  absl::Notification ran;
  scheduler.Schedule(absl::ZeroDuration(), [&] { ran.Notify(); });
  // Without a wake-up the loop would sleep until the 10-minute task.
  EXPECT_TRUE(ran.WaitForNotificationWithTimeout(absl::Seconds(5)));
}

TEST(SchedulerTest, RunsTasksInDueOrder) {
  Scheduler scheduler("test-timer");
  absl::Mutex mu;
  std::vector<int> order;
  absl::Notification done;
  scheduler.Schedule(absl::Milliseconds(40), [&] {
    absl::MutexLock lock(&mu);
    order.push_back(2);
    done.Notify();
  });
  scheduler.Schedule(absl::Milliseconds(10), [&] {
    absl::MutexLock lock(&mu);
    order.push_back(1);
  });
  done.WaitForNotification();
  absl::MutexLock lock(&mu);
  EXPECT_EQ(order, (std::vector<int>{1, 2}));
}

TEST(SchedulerTest, PeriodicTaskStopsWhenItReturnsFalse) {
  Scheduler scheduler("test-timer");
  std::atomic<int> runs{0};
  absl::Notification third;
  scheduler.SchedulePeriodic(absl::Milliseconds(1), [&] {
    if (++runs == 3) {
      third.Notify();
      return false;
    }
    return true;
  });
  third.WaitForNotification();
  scheduler.Shutdown();
  EXPECT_EQ(runs.load(), 3);
}

TEST(ThreadPoolTest, KnowsItsOwnThreads) {
  ThreadPool pool("test-pool", 2);
  ThreadPool other("test-other", 1);
  EXPECT_FALSE(pool.InWorkerThread());
  absl::Notification ran;
  bool in_pool = false;
  bool in_other = true;
  ASSERT_TRUE(pool.Submit([&] {
    in_pool = pool.InWorkerThread();
    in_other = other.InWorkerThread();
    ran.Notify();
  }));
  ran.WaitForNotification();
  EXPECT_TRUE(in_pool);
  EXPECT_FALSE(in_other);
}

}  // namespace
}  // namespace cometmq::client
