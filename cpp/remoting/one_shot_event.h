#ifndef COMETMQ_REMOTING_ONE_SHOT_EVENT_H_
#define COMETMQ_REMOTING_ONE_SHOT_EVENT_H_

#include <atomic>
#include <cstdint>

#include "absl/time/time.h"

namespace cometmq::remoting {

// Lets one thread wait, with a deadline, for a single Notify() from another.
//
// A synchronous request parks its caller on one of these until the I/O
// thread has its response. It is a bare futex word: the waiter sleeps in
// the kernel at once and Notify() makes a system call only when the waiter
// sleeps, where absl::Notification's timed wait went through Mutex's slow
// path (waiter queue, spin lock, per-thread semaphore) on every request.
// Notify() may be called at most once; waiting is for one thread.
class OneShotEvent {
 public:
  OneShotEvent() = default;
  OneShotEvent(const OneShotEvent&) = delete;
  OneShotEvent& operator=(const OneShotEvent&) = delete;

  void Notify();

  // True once notified; false when `deadline` passed first.
  bool WaitUntil(absl::Time deadline);

  // Waits without a deadline.
  void Wait();

  bool notified() const {
    return state_.load(std::memory_order_acquire) == kNotified;
  }

 private:
  static constexpr uint32_t kIdle = 0;
  static constexpr uint32_t kWaiting = 1;
  static constexpr uint32_t kNotified = 2;

  // Sleeps while the word is kWaiting, at most `timeout` (infinite when
  // absl::InfiniteDuration()).
  void Sleep(absl::Duration timeout);

  std::atomic<uint32_t> state_{kIdle};
};

}  // namespace cometmq::remoting

#endif  // COMETMQ_REMOTING_ONE_SHOT_EVENT_H_
