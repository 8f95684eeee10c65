#ifndef COMETMQ_STORE_DISPATCHER_H_
#define COMETMQ_STORE_DISPATCHER_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <thread>
#include <vector>

#include "absl/status/status.h"
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
//
// A record `dispatch` cannot take (its consume queue cannot be created or
// written, as on a full disk) is never skipped: dispatching stops at it and
// retries every kStallRetryInterval, logging the error when the stall
// starts, every kStallLogInterval while it lasts, and when it ends. Readers
// see nothing newer meanwhile, but no message is lost to a gap in a consume
// queue, and the records still count as undispatched for recovery.
//
// WhenDispatched() parks a caller until the records below an offset are
// dispatched, without a thread waiting for it: answers that count queue
// offsets can then include every acknowledged message (a message is
// acknowledged once appended, before it is dispatched).
class Dispatcher {
 public:
  static constexpr absl::Duration kBusyPollInterval = absl::Milliseconds(1);
  static constexpr absl::Duration kStallRetryInterval = absl::Milliseconds(500);
  static constexpr absl::Duration kStallLogInterval = absl::Seconds(30);

  // `dispatch` returns an error for a record it could not take; it is
  // offered the same record again later.
  Dispatcher(const CommitLog* log, std::function<int64_t()> limit,
             std::function<absl::Status(const RecordView&)> dispatch,
             std::function<void()> after_batch);
  ~Dispatcher();

  void Start(int64_t from);
  // Dispatches what is below the limit, then stops.
  void Stop();
  void Wakeup();

  // Calls `done(true)` once everything below `offset` has been dispatched:
  // at once on the calling thread when it already has, else on the
  // dispatch thread after the pass that got there. Calls `done(false)`
  // instead when dispatching is (or becomes) stalled first, or stops.
  // `offset` must not exceed the limit: a pass would never reach it.
  void WhenDispatched(int64_t offset, std::function<void(bool)> done);

  // Everything below this offset has been dispatched.
  int64_t dispatched() const { return from_.load(std::memory_order_acquire); }
  // True while dispatching is stopped at a record it cannot take.
  bool stalled() const { return stalled_.load(std::memory_order_acquire); }
  // Runs `fn` between two passes over the log, never while a record is
  // being dispatched, so `fn` may change what dispatching writes to (as
  // deleting a topic's consume queues does). dispatched() holds still
  // meanwhile.
  void RunBetweenPasses(const std::function<void()>& fn);

 private:
  struct Pass {
    bool dispatched_any = false;
    bool stalled = false;
  };

  void Run();
  Pass DispatchAvailable();
  // Calls the WhenDispatched() callbacks whose offset is reached; when
  // `give_up`, all of them (false for those not reached).
  void RunWaiters(bool give_up);
  // Records the failure to dispatch at `offset`, logging it when the stall
  // starts and every kStallLogInterval after.
  void NoteStall(int64_t offset, const absl::Status& error);
  void NoteProgress(int64_t offset);
  // False once stopping.
  bool SleepUntilWoken();
  // Waits `interval` (or until stopping); false once stopping.
  bool Pause(absl::Duration interval);

  const CommitLog* const log_;
  const std::function<int64_t()> limit_;
  const std::function<absl::Status(const RecordView&)> dispatch_;
  const std::function<void()> after_batch_;
  std::atomic<int64_t> from_{0};
  std::atomic<bool> sleeping_{false};
  std::atomic<bool> stalled_{false};
  std::thread thread_;
  // Held by the dispatch thread for each pass; see RunBetweenPasses().
  absl::Mutex pass_mu_;

  // Dispatch-thread-only stall bookkeeping.
  absl::Time stalled_since_;
  absl::Time stall_logged_;

  struct Waiter {
    int64_t offset;
    std::function<void(bool)> done;
  };
  // Lets the dispatch thread skip waiters_mu_ when nobody waits. Set under
  // waiters_mu_ before the registering thread wakes the dispatch thread,
  // so the pass that the wakeup causes sees it.
  std::atomic<bool> has_waiters_{false};
  absl::Mutex waiters_mu_;
  std::vector<Waiter> waiters_ ABSL_GUARDED_BY(waiters_mu_);

  absl::Mutex mu_;
  bool notified_ ABSL_GUARDED_BY(mu_) = false;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  bool running_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace cometmq::store

#endif  // COMETMQ_STORE_DISPATCHER_H_
