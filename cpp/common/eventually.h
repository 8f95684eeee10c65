#ifndef COMETMQ_COMMON_EVENTUALLY_H_
#define COMETMQ_COMMON_EVENTUALLY_H_

#include <functional>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace cometmq {

// For tests: polls `done` every few milliseconds until it holds (true) or
// `limit` passes (false), for conditions that nothing signals, such as what
// a server has received. The default limit is generous: a passing test
// never waits for it, and CI runs the tests side by side on two cores,
// also under the sanitizers, where a few seconds are not enough.
inline bool Eventually(const std::function<bool()>& done,
                       absl::Duration limit = absl::Seconds(30)) {
  const absl::Time deadline = absl::Now() + limit;
  while (!done()) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(2));
  }
  return true;
}

}  // namespace cometmq

#endif  // COMETMQ_COMMON_EVENTUALLY_H_
