#ifndef COMETMQ_BROKER_THREAD_POOL_H_
#define COMETMQ_BROKER_THREAD_POOL_H_

#include <cstddef>
#include <deque>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace cometmq::broker {

// A few named worker threads with a bounded queue, so work that may block
// (cold page reads, file writes) stays off the network I/O threads. A full
// queue refuses work instead of growing: the caller answers SYSTEM_BUSY.
// Shutdown() runs every task already accepted, then joins; afterwards
// TrySubmit() refuses.
class ThreadPool {
 public:
  // Threads are named `<name>-<i>` (at most 15 bytes are kept).
  ThreadPool(std::string name, int threads, size_t max_queue);
  ~ThreadPool();

  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  // False when the queue is full or the pool is shut down.
  bool TrySubmit(std::function<void()> task);
  void Shutdown();

 private:
  void Run(int index);

  const std::string name_;
  const size_t max_queue_;
  std::vector<std::thread> threads_;

  absl::Mutex mu_;
  std::deque<std::function<void()>> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool joined_ = false;  // only touched by Shutdown(), which callers serialize
};

}  // namespace cometmq::broker

#endif  // COMETMQ_BROKER_THREAD_POOL_H_
