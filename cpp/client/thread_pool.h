#ifndef COMETMQ_CLIENT_THREAD_POOL_H_
#define COMETMQ_CLIENT_THREAD_POOL_H_

#include <deque>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"

namespace cometmq::client {

// A fixed set of named threads running submitted tasks in submission order
// (the consume threads of a consumer). Guarantee: Submit never blocks on
// running tasks, so the remoting I/O thread may call it; after Shutdown()
// returns, every task submitted before it has run and no thread is left.
class ThreadPool {
 public:
  ThreadPool(const std::string& name, int threads);
  ~ThreadPool();

  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  // False (and the task dropped) after Shutdown() began.
  bool Submit(std::function<void()> task);
  // Must not run on one of this pool's threads (it would wait for itself).
  void Shutdown();
  // Whether the caller is one of this pool's threads (a task).
  bool InWorkerThread() const;

 private:
  void Work();

  absl::Mutex mu_;
  std::deque<std::function<void()>> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  absl::Mutex join_mu_;
  std::vector<std::thread> threads_ ABSL_GUARDED_BY(join_mu_);
};

}  // namespace cometmq::client

#endif  // COMETMQ_CLIENT_THREAD_POOL_H_
