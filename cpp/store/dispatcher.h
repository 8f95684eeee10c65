#ifndef COMETMQ_STORE_DISPATCHER_H_
#define COMETMQ_STORE_DISPATCHER_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "cpp/store/commit_log.h"

namespace cometmq::store {

// Follows the commit log on one thread ("store-dispatch") and hands every
// record, in log order, to `dispatch` (which builds consume queue and index
// entries), then calls `after_batch` (which wakes long-polling readers). It
// reads only up to `limit()`: the written end under ASYNC_FLUSH, the flushed
// end under SYNC_FLUSH, so a reader never sees a message a crash could take
// back. Wakeup() is cheap when the thread is busy. While records keep
// arriving it looks every kBusyPollInterval instead of being woken by each
// append, so a record waits at most that long to be dispatched.
class Dispatcher {
 public:
  static constexpr absl::Duration kBusyPollInterval = absl::Milliseconds(1);

  Dispatcher(const CommitLog* log, std::function<int64_t()> limit,
             std::function<void(const RecordView&)> dispatch,
             std::function<void()> after_batch);
  ~Dispatcher();

  void Start(int64_t from);
  // Dispatches what is below the limit, then stops.
  void Stop();
  void Wakeup();

  // Everything below this offset has been dispatched.
  int64_t dispatched() const { return from_.load(std::memory_order_acquire); }

 private:
  void Run();
  bool DispatchAvailable();
  // False once stopping.
  bool SleepUntilWoken();
  // Waits kBusyPollInterval (or until stopping); false once stopping.
  bool Pause();

  const CommitLog* const log_;
  const std::function<int64_t()> limit_;
  const std::function<void(const RecordView&)> dispatch_;
  const std::function<void()> after_batch_;
  std::atomic<int64_t> from_{0};
  std::atomic<bool> sleeping_{false};
  std::thread thread_;

  absl::Mutex mu_;
  bool notified_ ABSL_GUARDED_BY(mu_) = false;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  bool running_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace cometmq::store

#endif  // COMETMQ_STORE_DISPATCHER_H_
