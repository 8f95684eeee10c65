#ifndef COMETMQ_COMMON_LOCK_CHECKING_H_
#define COMETMQ_COMMON_LOCK_CHECKING_H_

namespace cometmq {

// Chooses whether absl::Mutex checks lock order in this process.
//
// The check records every acquisition in one process-wide graph guarded by
// a global spin lock, which serialises all threads that take any lock: in a
// producer with 16 sending threads it cost a fifth of the CPU. Binaries and
// the Python module call this once at start: the check is on in debug
// builds and off in optimised ones, and COMETMQ_CHECK_LOCK_ORDER=1 (or 0)
// overrides either way. The test suite sets it to 1, so the integration
// tests abort on a lock-order cycle. Unit tests keep Abseil's default.
// Call it before other threads take any absl::Mutex: the mode is global to
// the process's Abseil (in Python, shared with other extensions using the
// same libabsl), and turning the check on while a lock is held makes its
// release look like one never taken.
void ConfigureLockOrderChecking();

// Whether ConfigureLockOrderChecking() turned the check on.
bool LockOrderCheckingEnabled();

}  // namespace cometmq

#endif  // COMETMQ_COMMON_LOCK_CHECKING_H_
