#include "cpp/client/callback_executor.h"

#include <memory>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace cometmq::client {
namespace {

TEST(CallbackExecutorTest, RunsInPostingOrderOnItsOwnThread) {
  EXPECT_FALSE(CallbackExecutor::InCallbackThread());
  CallbackExecutor executor("test-callback");
  absl::Notification release;
  // The first task holds the thread while the rest queue up: they are
  // taken as one batch and still run in order.
  ASSERT_TRUE(executor.Post([&] { release.WaitForNotification(); }));
  absl::Mutex mu;
  std::vector<int> order;
  bool on_callback_thread = true;
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(executor.Post([&, i] {
      absl::MutexLock lock(&mu);
      order.push_back(i);
      on_callback_thread &= CallbackExecutor::InCallbackThread();
    }));
  }
  release.Notify();
  executor.Shutdown();  // runs what was posted before it
  absl::MutexLock lock(&mu);
  ASSERT_EQ(order.size(), 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(order[i], i);
  EXPECT_TRUE(on_callback_thread);
  EXPECT_FALSE(executor.Post([] {}));
}

TEST(CallbackExecutorTest, ARefusedTaskIsLeftToTheCaller) {
  CallbackExecutor executor("test-callback");
  executor.Shutdown();
  int runs = 0;
  std::function<void()> task = [&runs] { ++runs; };
  ASSERT_FALSE(executor.Post(std::move(task)));
  task();  // still there
  EXPECT_EQ(runs, 1);
}

TEST(CallbackExecutorTest, MayBeDestroyedFromItsOwnThread) {
  auto executor = std::make_unique<CallbackExecutor>("test-callback");
  absl::Notification posted, destroyed;
  ASSERT_TRUE(executor->Post([&] { posted.WaitForNotification(); }));
  ASSERT_TRUE(executor->Post([&] {
    executor.reset();  // would join itself
    destroyed.Notify();
  }));
  posted.Notify();
  EXPECT_TRUE(destroyed.WaitForNotificationWithTimeout(absl::Seconds(30)));
}

}  // namespace
}  // namespace cometmq::client
