#include "cpp/remoting/one_shot_event.h"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "absl/time/clock.h"

namespace cometmq::remoting {

void OneShotEvent::Notify() {
  if (state_.exchange(kNotified, std::memory_order_acq_rel) == kWaiting) {
    syscall(SYS_futex, reinterpret_cast<uint32_t*>(&state_), FUTEX_WAKE_PRIVATE,
            1, nullptr, nullptr, 0);
  }
}

void OneShotEvent::Sleep(absl::Duration timeout) {
  timespec ts;
  timespec* ts_ptr = nullptr;
  if (timeout != absl::InfiniteDuration()) {
    ts = absl::ToTimespec(timeout);
    ts_ptr = &ts;
  }
  // Returns at once if Notify() already changed the word (EAGAIN), on a
  // wake, a signal (EINTR) or the timeout; callers re-check the state.
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(&state_), FUTEX_WAIT_PRIVATE,
          kWaiting, ts_ptr, nullptr, 0);
}

bool OneShotEvent::WaitUntil(absl::Time deadline) {
  uint32_t expected = kIdle;
  if (!state_.compare_exchange_strong(expected, kWaiting,
                                      std::memory_order_acq_rel) &&
      expected == kNotified) {
    return true;
  }
  while (!notified()) {
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) return false;
    Sleep(left);
  }
  return true;
}

void OneShotEvent::Wait() { WaitUntil(absl::InfiniteFuture()); }

}  // namespace cometmq::remoting
