#include "cpp/broker/long_polling.h"

#include <atomic>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace cometmq::broker {
namespace {

// Records how each held pull was resumed.
struct Recorder {
  absl::Mutex mu;
  std::vector<std::pair<int, WakeReason>> woken;

  LongPollingService::Resume For(int id) {
    return [this, id](WakeReason reason) {
      absl::MutexLock lock(&mu);
      woken.emplace_back(id, reason);
    };
  }
  // Waits until `n` pulls were resumed or `limit` passes.
  bool WaitFor(size_t n, absl::Duration limit) {
    absl::MutexLock lock(&mu);
    auto enough = [&] { return woken.size() >= n; };
    return mu.AwaitWithTimeout(absl::Condition(&enough), limit);
  }
};

TEST(LongPollingTest, ArrivalWakesOnlyPullsBelowTheNewMax) {
  std::atomic<int64_t> max{5};
  LongPollingService service(
      [&](absl::string_view, int32_t) { return max.load(); });
  service.Start();
  Recorder rec;
  const absl::Time far = absl::Now() + absl::Hours(1);
  service.Hold("T", 0, 5, far, rec.For(1));
  service.Hold("T", 0, 7, far, rec.For(2));
  service.Hold("T", 1, 5, far, rec.For(3));
  EXPECT_EQ(service.held(), 3u);
  max = 6;
  service.OnArrival("T", 0, 6);
  ASSERT_TRUE(rec.WaitFor(1, absl::Seconds(5)));
  {
    absl::MutexLock lock(&rec.mu);
    ASSERT_EQ(rec.woken.size(), 1u);
    EXPECT_EQ(rec.woken[0].first, 1);
    EXPECT_EQ(rec.woken[0].second, WakeReason::kArrived);
  }
  EXPECT_EQ(service.held(), 2u);
  service.Shutdown();
  ASSERT_TRUE(rec.WaitFor(3, absl::Seconds(5)));
  absl::MutexLock lock(&rec.mu);
  EXPECT_EQ(rec.woken[1].second, WakeReason::kShutdown);
  EXPECT_EQ(rec.woken[2].second, WakeReason::kShutdown);
}

TEST(LongPollingTest, DeadlineResumesWithTimeout) {
  LongPollingService service([](absl::string_view, int32_t) { return 0; });
  service.Start();
  Recorder rec;
  const absl::Time start = absl::Now();
  service.Hold("T", 0, 0, start + absl::Milliseconds(200), rec.For(1));
  ASSERT_TRUE(rec.WaitFor(1, absl::Seconds(10)));
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(200));
  absl::MutexLock lock(&rec.mu);
  EXPECT_EQ(rec.woken[0].second, WakeReason::kTimedOut);
}

TEST(LongPollingTest, MessageArrivedBeforeHoldResumesAtOnce) {
  // The queue already holds offset 3 when the pull for offset 3 is held:
  // the arrival happened between the pull's read and its hold.
  LongPollingService service([](absl::string_view, int32_t) { return 4; });
  service.Start();
  Recorder rec;
  service.Hold("T", 0, 3, absl::Now() + absl::Hours(1), rec.For(1));
  absl::MutexLock lock(&rec.mu);
  ASSERT_EQ(rec.woken.size(), 1u);
  EXPECT_EQ(rec.woken[0].second, WakeReason::kArrived);
}

TEST(LongPollingTest, HoldAfterShutdownAnswersAtOnce) {
  LongPollingService service([](absl::string_view, int32_t) { return 0; });
  service.Start();
  service.Shutdown();
  Recorder rec;
  service.Hold("T", 0, 0, absl::Now() + absl::Hours(1), rec.For(1));
  absl::MutexLock lock(&rec.mu);
  ASSERT_EQ(rec.woken.size(), 1u);
  EXPECT_EQ(rec.woken[0].second, WakeReason::kShutdown);
}

}  // namespace
}  // namespace cometmq::broker
