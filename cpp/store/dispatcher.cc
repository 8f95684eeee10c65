#include "cpp/store/dispatcher.h"

#include <pthread.h>

#include <algorithm>
#include <iterator>

#include "spdlog/spdlog.h"

namespace cometmq::store {

Dispatcher::Dispatcher(const CommitLog* log, std::function<int64_t()> limit,
                       std::function<absl::Status(const RecordView&)> dispatch,
                       std::function<void()> after_batch)
    : log_(log),
      limit_(std::move(limit)),
      dispatch_(std::move(dispatch)),
      after_batch_(std::move(after_batch)) {}

Dispatcher::~Dispatcher() { Stop(); }

void Dispatcher::Start(int64_t from) {
  from_.store(from);
  absl::MutexLock lock(&mu_);
  running_ = true;
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "store-dispatch");
    Run();
  });
}

void Dispatcher::Stop() {
  {
    absl::MutexLock lock(&mu_);
    if (!running_) return;
    running_ = false;
    stop_ = true;
  }
  thread_.join();
}

void Dispatcher::Wakeup() {
  if (!sleeping_.load()) return;
  absl::MutexLock lock(&mu_);
  notified_ = true;
}

void Dispatcher::WhenDispatched(int64_t offset,
                                std::function<void(bool)> done) {
  if (dispatched() >= offset) {
    done(true);
    return;
  }
  if (stalled()) {
    done(false);
    return;
  }
  {
    absl::MutexLock lock(&waiters_mu_);
    waiters_.push_back(Waiter{offset, std::move(done)});
    has_waiters_.store(true, std::memory_order_release);
  }
  bool stopped;
  {
    // Woken even when not asleep: the pass that reached `offset` may have
    // looked for waiters before this one was added, and the thread may be
    // about to sleep; it now makes one more pass, which sees it.
    absl::MutexLock lock(&mu_);
    notified_ = true;
    stopped = stop_;
  }
  // Stopping (or stopped): its last pass may be over, and no pass follows.
  if (stopped) RunWaiters(/*give_up=*/true);
}

void Dispatcher::RunWaiters(bool give_up) {
  const int64_t reached = dispatched();
  std::vector<Waiter> due;
  {
    absl::MutexLock lock(&waiters_mu_);
    auto first_due = std::partition(
        waiters_.begin(), waiters_.end(),
        [&](const Waiter& w) { return !give_up && w.offset > reached; });
    due.assign(std::make_move_iterator(first_due),
               std::make_move_iterator(waiters_.end()));
    waiters_.erase(first_due, waiters_.end());
    has_waiters_.store(!waiters_.empty(), std::memory_order_relaxed);
  }
  // Outside the lock: a callback may register again.
  for (Waiter& w : due) w.done(w.offset <= reached);
}

void Dispatcher::RunBetweenPasses(const std::function<void()>& fn) {
  absl::MutexLock lock(&pass_mu_);
  fn();
}

Dispatcher::Pass Dispatcher::DispatchAvailable() {
  absl::MutexLock lock(&pass_mu_);
  int64_t from = from_.load();
  const int64_t limit = limit_();
  Pass pass;
  while (from < limit) {
    RecordSlice slice;
    if (!log_->ReadFrom(from, &slice)) {
      if (from < log_->MinOffset()) {
        // Retention never deletes undispatched records; if they are gone
        // anyway (removed by hand), say so rather than skip them quietly.
        spdlog::error(
            "dispatch: commit log records from offset {} to {} were deleted "
            "before they were dispatched; their messages are lost to "
            "consumers",
            from, log_->MinOffset());
        from = log_->MinOffset();
        continue;
      }
      // Past the end of a segment that has been closed with a blank record.
      int64_t next = log_->RollNextFile(from);
      if (next > limit) break;
      from = next;
      continue;
    }
    const char* p = slice.data;
    int64_t available = std::min<int64_t>(slice.size, limit - from);
    while (available > 0) {
      RecordView view;
      DecodeResult r = DecodeRecord(p, available, /*check_crc=*/false, &view);
      if (r == DecodeResult::kBlank) {
        from = log_->RollNextFile(from);
        break;
      }
      absl::Status s =
          r == DecodeResult::kRecord
              ? dispatch_(view)
              : absl::DataLossError("unreadable record in the commit log");
      if (!s.ok()) {
        from_.store(from, std::memory_order_release);
        NoteStall(from, s);
        pass.stalled = true;
        return pass;
      }
      pass.dispatched_any = true;
      p += view.total_size;
      from += view.total_size;
      available -= view.total_size;
    }
    from_.store(from, std::memory_order_release);
  }
  from_.store(from, std::memory_order_release);
  NoteProgress(from);
  return pass;
}

void Dispatcher::NoteStall(int64_t offset, const absl::Status& error) {
  const absl::Time now = absl::Now();
  if (!stalled_.load(std::memory_order_relaxed)) {
    stalled_.store(true, std::memory_order_release);
    stalled_since_ = now;
    stall_logged_ = now;
    spdlog::error(
        "dispatch stopped at commit log offset {}: {}; the message is stored "
        "but no newer message reaches consumers until it can be indexed "
        "(retrying every {})",
        offset, error.ToString(), absl::FormatDuration(kStallRetryInterval));
  } else if (now - stall_logged_ >= kStallLogInterval) {
    stall_logged_ = now;
    spdlog::error("dispatch still stopped at commit log offset {} after {}: {}",
                  offset, absl::FormatDuration(now - stalled_since_),
                  error.ToString());
  }
}

void Dispatcher::NoteProgress(int64_t offset) {
  if (!stalled_.load(std::memory_order_relaxed)) return;
  stalled_.store(false, std::memory_order_release);
  spdlog::warn("dispatch resumed after {}; now at commit log offset {}",
               absl::FormatDuration(absl::Now() - stalled_since_), offset);
}

bool Dispatcher::SleepUntilWoken() {
  absl::MutexLock lock(&mu_);
  if (stop_) return false;
  // Announce the sleep before the last look at the limit: an append either
  // sees sleeping_ and notifies, or its bytes are seen here.
  sleeping_.store(true);
  if (limit_() <= from_.load()) {
    auto woken = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
      return notified_ || stop_;
    };
    mu_.AwaitWithTimeout(absl::Condition(&woken), absl::Seconds(1));
  }
  notified_ = false;
  sleeping_.store(false);
  return true;
}

bool Dispatcher::Pause(absl::Duration interval) {
  absl::MutexLock lock(&mu_);
  mu_.AwaitWithTimeout(absl::Condition(&stop_), interval);
  return !stop_;
}

void Dispatcher::Run() {
  while (true) {
    const Pass pass = DispatchAvailable();
    if (pass.dispatched_any) after_batch_();
    if (has_waiters_.load(std::memory_order_acquire)) {
      RunWaiters(/*give_up=*/pass.stalled);
    }
    // While records keep coming, look again after a short pause instead of
    // being woken by every append (as RocketMQ's reput service does): under
    // load this turns one wakeup per message, here and in every long-polling
    // reader woken by after_batch_, into one per interval, with batches to
    // match. Once a look finds nothing, sleep until the next append.
    const bool go_on = pass.stalled          ? Pause(kStallRetryInterval)
                       : pass.dispatched_any ? Pause(kBusyPollInterval)
                                             : SleepUntilWoken();
    if (!go_on) break;
  }
  if (DispatchAvailable().dispatched_any) after_batch_();
  RunWaiters(/*give_up=*/true);
}

}  // namespace cometmq::store
