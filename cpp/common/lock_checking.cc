#include "cpp/common/lock_checking.h"

#include <atomic>
#include <cstdlib>
#include <cstring>

#include "absl/synchronization/mutex.h"

namespace cometmq {
namespace {

std::atomic<bool> checking_enabled{false};

bool CheckingWanted() {
  if (const char* value = std::getenv("COMETMQ_CHECK_LOCK_ORDER")) {
    return std::strcmp(value, "1") == 0;
  }
#ifdef NDEBUG
  return false;
#else
  return true;
#endif
}

}  // namespace

void ConfigureLockOrderChecking() {
  const bool enabled = CheckingWanted();
  absl::SetMutexDeadlockDetectionMode(enabled ? absl::OnDeadlockCycle::kAbort
                                              : absl::OnDeadlockCycle::kIgnore);
  checking_enabled.store(enabled);
}

bool LockOrderCheckingEnabled() { return checking_enabled.load(); }

}  // namespace cometmq
