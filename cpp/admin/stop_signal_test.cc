#include "cpp/admin/stop_signal.h"

#include <csignal>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace cometmq::admin {
namespace {

TEST(StopSignalTest, TimesOutWithoutASignal) {
  auto stop = StopSignal::Install();
  ASSERT_TRUE(stop.ok()) << stop.status();
  const absl::Time start = absl::Now();
  EXPECT_FALSE((*stop)->WaitFor(absl::Milliseconds(30)));
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(30));
}

TEST(StopSignalTest, SigtermAndSigintWakeTheWaitAndStayLatched) {
  for (int signo : {SIGTERM, SIGINT}) {
    auto stop = StopSignal::Install();
    ASSERT_TRUE(stop.ok()) << stop.status();
    ASSERT_EQ(raise(signo), 0);  // handled: the test process lives on
    const absl::Time start = absl::Now();
    EXPECT_TRUE((*stop)->WaitFor(absl::Seconds(30))) << signo;
    EXPECT_LT(absl::Now() - start, absl::Seconds(5));
    EXPECT_TRUE((*stop)->WaitFor(absl::Seconds(30)));  // no second signal
  }
}

TEST(StopSignalTest, OneAtATimeAndThePreviousHandlerComesBack) {
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  sigemptyset(&ignore.sa_mask);
  struct sigaction saved {};
  ASSERT_EQ(sigaction(SIGTERM, &ignore, &saved), 0);
  {
    auto stop = StopSignal::Install();
    ASSERT_TRUE(stop.ok()) << stop.status();
    EXPECT_TRUE(absl::IsFailedPrecondition(StopSignal::Install().status()));
    struct sigaction now {};
    ASSERT_EQ(sigaction(SIGTERM, nullptr, &now), 0);
    EXPECT_NE(now.sa_handler, SIG_IGN);
  }
  struct sigaction after {};
  ASSERT_EQ(sigaction(SIGTERM, nullptr, &after), 0);
  EXPECT_EQ(after.sa_handler, SIG_IGN);
  ASSERT_EQ(sigaction(SIGTERM, &saved, nullptr), 0);
  EXPECT_TRUE(StopSignal::Install().ok());  // free again
}

}  // namespace
}  // namespace cometmq::admin
