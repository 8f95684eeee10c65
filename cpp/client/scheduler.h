#ifndef COMETMQ_CLIENT_SCHEDULER_H_
#define COMETMQ_CLIENT_SCHEDULER_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace cometmq::client {

// One named thread running tasks at given times, in time order. Tasks may
// block (they run off the remoting I/O thread, so synchronous requests are
// allowed) but delay the tasks after them. Guarantee: after Shutdown()
// returns no task runs and none is running; tasks not yet run are dropped.
class Scheduler {
 public:
  explicit Scheduler(std::string thread_name);
  ~Scheduler();

  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Runs `task` after `delay` (at once for zero). Ignored after Shutdown().
  void Schedule(absl::Duration delay, std::function<void()> task);
  // Runs `task` every `period`, the first time after `period`, until it
  // returns false.
  void SchedulePeriodic(absl::Duration period, std::function<bool()> task);

  // Idempotent; must not be called from a task.
  void Shutdown();

  bool InSchedulerThread() const {
    return std::this_thread::get_id() == thread_.get_id();
  }

 private:
  void Loop(std::string name);
  void SchedulePeriodic(absl::Duration period,
                        std::shared_ptr<std::function<bool()>> task);

  absl::Mutex mu_;
  absl::CondVar cv_;
  // Keyed by (time, sequence) so tasks due at one time keep their order.
  std::map<std::pair<absl::Time, uint64_t>, std::function<void()>> tasks_
      ABSL_GUARDED_BY(mu_);
  uint64_t sequence_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  absl::Mutex join_mu_;  // serializes joins of concurrent Shutdown() calls
  std::thread thread_;
};

}  // namespace cometmq::client

#endif  // COMETMQ_CLIENT_SCHEDULER_H_
