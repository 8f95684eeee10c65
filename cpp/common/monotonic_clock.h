#ifndef COMETMQ_COMMON_MONOTONIC_CLOCK_H_
#define COMETMQ_COMMON_MONOTONIC_CLOCK_H_

#include <chrono>
#include <cstdint>

#include "absl/time/time.h"

namespace cometmq {

// Readings of the monotonic clock, for measuring intervals such as a
// connection's idle time or how long a broker has been silent: a step of the
// wall clock (NTP, a changed date) must not close, expire or keep alive
// everything at once. Only the difference of two readings means anything;
// a reading is not a date.
inline int64_t MonotonicNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// The same reading as an absl::Time, for interfaces that take "now" as one.
inline absl::Time MonotonicNow() {
  return absl::FromUnixNanos(MonotonicNanos());
}

}  // namespace cometmq

#endif  // COMETMQ_COMMON_MONOTONIC_CLOCK_H_
