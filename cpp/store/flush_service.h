#ifndef COMETMQ_STORE_FLUSH_SERVICE_H_
#define COMETMQ_STORE_FLUSH_SERVICE_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "cpp/store/group_commit_pacer.h"
#include "cpp/store/mapped_file_queue.h"

namespace cometmq::store {

struct FlushOptions {
  bool sync_flush = false;
  absl::Duration interval = absl::Milliseconds(500);  // ASYNC_FLUSH
  int least_pages = 4;                                // ASYNC_FLUSH
  absl::Duration thorough_interval = absl::Seconds(10);
  absl::Duration sync_timeout = absl::Seconds(5);  // SYNC_FLUSH
  // Fault injection for tests: an error it returns fails that flush as a
  // device error would.
  std::function<absl::Status()> fault;
};

// Puts the commit log on disk, on one thread ("store-flush").
// SYNC_FLUSH is group commit: callers register the offset their append ended
// at; each pass flushes everything written so far with one msync and then
// completes every waiter it covered, so one disk flush acknowledges many
// appends. When flushes are slow, a pass may first wait a little for more
// appends (see GroupCommitPacer). A waiter not covered within sync_timeout
// completes with false.
// A failed flush is final: the kernel may have dropped the pages it could
// not write, so a later flush that succeeds proves nothing about them, and
// the log could end at that hole after a power cut, taking every later
// acknowledged append with it. failure() reports it, the store refuses
// appends from then on, and waiters complete with false at once.
// ASYNC_FLUSH flushes every `interval` once `least_pages` pages are dirty,
// and everything at least every `thorough_interval`. Stop() flushes all.
class FlushService {
 public:
  using Done = std::function<void(bool flushed)>;

  FlushService(MappedFileQueue* log, FlushOptions options,
               std::function<void(int64_t flushed_offset)> on_flushed);
  ~FlushService();

  void Start();
  void Stop();

  // SYNC_FLUSH: `done` runs on the flush thread (or inline after Stop).
  void WaitForFlush(int64_t end_offset, Done done);
  // Asks for everything written so far to be flushed soon, without
  // waiting: under ASYNC_FLUSH at the thread's next wake-up whatever
  // `least_pages` says, under SYNC_FLUSH by the next group commit. For
  // background services that must not record progress past bytes still
  // in the page cache (see MessageStore::RequestFlush).
  void RequestFlush();

  // Flushes that put new bytes on disk since Start(): under SYNC_FLUSH, the
  // group commits, so sends per flush tell how well commits are grouped.
  int64_t flushes() const { return flushes_.load(std::memory_order_relaxed); }

  // The first flush error, or OK. Lock-free until a flush fails, so every
  // append can check it.
  absl::Status failure() const {
    return failed() ? RecordedFailure() : absl::OkStatus();
  }

 private:
  struct Waiter {
    int64_t end_offset;
    absl::Time arrived;
    absl::Time deadline;
    Done done;
  };

  bool failed() const { return failed_.load(std::memory_order_acquire); }
  absl::Status RecordedFailure() const;
  void Run();
  void RunGroupCommit();
  // Waits for appends to flush (holding for more when the pacer says so),
  // moves them to `batch`, and returns whether the service is stopping.
  bool TakeWaiters(std::vector<Waiter>* batch);
  void RunPeriodic();
  int64_t FlushNow(int least_pages);

  MappedFileQueue* const log_;
  const FlushOptions options_;
  const std::function<void(int64_t)> on_flushed_;
  std::thread thread_;
  std::atomic<int64_t> flushes_{0};
  std::atomic<bool> failed_{false};  // set once failure_ is
  GroupCommitPacer pacer_;           // flush thread only

  mutable absl::Mutex mu_;
  std::vector<Waiter> waiters_ ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  bool running_ ABSL_GUARDED_BY(mu_) = false;
  bool flush_requested_ ABSL_GUARDED_BY(mu_) = false;  // ASYNC_FLUSH
  absl::Status failure_ ABSL_GUARDED_BY(mu_);
};

}  // namespace cometmq::store

#endif  // COMETMQ_STORE_FLUSH_SERVICE_H_
