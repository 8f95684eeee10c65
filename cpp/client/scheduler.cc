#include "cpp/client/scheduler.h"

#include <pthread.h>

#include <memory>
#include <utility>

#include "absl/time/clock.h"

namespace cometmq::client {

Scheduler::Scheduler(std::string thread_name)
    : thread_([this, thread_name] { Loop(thread_name); }) {}

Scheduler::~Scheduler() { Shutdown(); }

void Scheduler::Schedule(absl::Duration delay, std::function<void()> task) {
  absl::MutexLock lock(&mu_);
  if (stopping_) return;
  auto it = tasks_.emplace(std::make_pair(absl::Now() + delay, sequence_++),
                           std::move(task));
  // The loop sleeps until the earliest task; a new earliest one (a rebalance
  // asked for now) must wake it, not wait for the old deadline.
  if (it.first == tasks_.begin()) cv_.Signal();
}

void Scheduler::SchedulePeriodic(absl::Duration period,
                                 std::function<bool()> task) {
  SchedulePeriodic(period,
                   std::make_shared<std::function<bool()>>(std::move(task)));
}

void Scheduler::SchedulePeriodic(absl::Duration period,
                                 std::shared_ptr<std::function<bool()>> task) {
  Schedule(period, [this, period, task] {
    if ((*task)()) SchedulePeriodic(period, task);
  });
}

void Scheduler::Shutdown() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    cv_.Signal();
  }
  {
    absl::MutexLock lock(&join_mu_);
    if (thread_.joinable()) thread_.join();
  }
  absl::MutexLock lock(&mu_);
  tasks_.clear();
}

void Scheduler::Loop(std::string name) {
  pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());
  while (true) {
    std::function<void()> task;
    {
      absl::MutexLock lock(&mu_);
      while (true) {
        if (stopping_) return;
        absl::Time now = absl::Now();
        if (!tasks_.empty() && tasks_.begin()->first.first <= now) break;
        absl::Time wake = tasks_.empty() ? absl::InfiniteFuture()
                                         : tasks_.begin()->first.first;
        cv_.WaitWithDeadline(&mu_, wake);
      }
      auto it = tasks_.begin();
      task = std::move(it->second);
      tasks_.erase(it);
    }
    task();
  }
}

}  // namespace cometmq::client
