#include "cpp/store/flush_service.h"

#include <pthread.h>

#include "spdlog/spdlog.h"

namespace cometmq::store {

FlushService::FlushService(MappedFileQueue* log, FlushOptions options,
                           std::function<void(int64_t)> on_flushed)
    : log_(log), options_(options), on_flushed_(std::move(on_flushed)) {}

FlushService::~FlushService() { Stop(); }

void FlushService::Start() {
  absl::MutexLock lock(&mu_);
  running_ = true;
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "store-flush");
    Run();
  });
}

void FlushService::Stop() {
  {
    absl::MutexLock lock(&mu_);
    if (!running_) return;
    running_ = false;
    stop_ = true;
  }
  thread_.join();
}

void FlushService::WaitForFlush(int64_t end_offset, Done done) {
  {
    absl::MutexLock lock(&mu_);
    if (running_) {
      const absl::Time now = absl::Now();
      waiters_.push_back(Waiter{end_offset, now, now + options_.sync_timeout,
                                std::move(done)});
      return;
    }
  }
  done(FlushNow(0) >= end_offset);
}

void FlushService::RequestFlush() {
  if (options_.sync_flush) {
    // A waiter makes the next group commit flush everything written.
    WaitForFlush(log_->MaxOffset(), [](bool) {});
    return;
  }
  absl::MutexLock lock(&mu_);
  flush_requested_ = true;
}

absl::Status FlushService::RecordedFailure() const {
  absl::MutexLock lock(&mu_);
  return failure_;
}

int64_t FlushService::FlushNow(int least_pages) {
  const int64_t before = log_->flushed_where();
  if (failed()) return before;
  absl::Status fault = options_.fault ? options_.fault() : absl::OkStatus();
  absl::StatusOr<int64_t> flushed =
      fault.ok() ? log_->Flush(least_pages) : absl::StatusOr<int64_t>(fault);
  if (!flushed.ok()) {
    spdlog::critical(
        "commit log flush failed, the store takes no more messages until "
        "the broker restarts: {}",
        flushed.status().ToString());
    absl::MutexLock lock(&mu_);
    if (failure_.ok()) failure_ = flushed.status();
    failed_.store(true, std::memory_order_release);
    return before;
  }
  if (*flushed > before) flushes_.fetch_add(1, std::memory_order_relaxed);
  on_flushed_(*flushed);
  return *flushed;
}

void FlushService::Run() {
  if (options_.sync_flush) {
    RunGroupCommit();
  } else {
    RunPeriodic();
  }
  FlushNow(0);
}

bool FlushService::TakeWaiters(std::vector<Waiter>* batch) {
  absl::MutexLock lock(&mu_);
  auto ready = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
    return !waiters_.empty() || stop_;
  };
  mu_.AwaitWithTimeout(absl::Condition(&ready), absl::Milliseconds(10));
  if (!waiters_.empty() && !stop_) {
    if (std::optional<GroupCommitPacer::Hold> hold = pacer_.HoldFor(
            absl::Now(), static_cast<int64_t>(waiters_.size()))) {
      auto enough = [this, &hold]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
        return static_cast<int64_t>(waiters_.size()) >= hold->waiters || stop_;
      };
      mu_.AwaitWithDeadline(absl::Condition(&enough), hold->deadline);
    }
  }
  if (!waiters_.empty()) {
    pacer_.OnBatch(static_cast<int64_t>(waiters_.size()),
                   waiters_.front().arrived, waiters_.back().arrived);
  }
  for (Waiter& w : waiters_) batch->push_back(std::move(w));
  waiters_.clear();
  return stop_;
}

void FlushService::RunGroupCommit() {
  std::vector<Waiter> batch;
  while (true) {
    const bool stopping = TakeWaiters(&batch);
    const absl::Time start = absl::Now();
    int64_t flushed = FlushNow(0);
    absl::Time now = absl::Now();
    int64_t pending;  // arrived during the flush, counted before any
                      // released append can come back
    {
      absl::MutexLock lock(&mu_);
      pending = static_cast<int64_t>(waiters_.size());
    }
    const bool flush_failed = failed();
    std::vector<Waiter> still_waiting;
    int64_t released = 0;
    for (Waiter& w : batch) {
      if (w.end_offset <= flushed) {
        w.done(true);
        ++released;
      } else if (now >= w.deadline || stopping || flush_failed) {
        w.done(false);
      } else {
        still_waiting.push_back(std::move(w));
      }
    }
    batch = std::move(still_waiting);
    if (stopping) break;
    if (released > 0) pacer_.OnFlushed(now, now - start, released, pending);
  }
}

void FlushService::RunPeriodic() {
  absl::Time last_thorough = absl::Now();
  while (true) {
    bool requested = false;
    {
      absl::MutexLock lock(&mu_);
      auto woken = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
        return stop_ || flush_requested_;
      };
      mu_.AwaitWithTimeout(absl::Condition(&woken), options_.interval);
      if (stop_) return;
      requested = flush_requested_;
      flush_requested_ = false;
    }
    int least = options_.least_pages;
    if (requested) {
      least = 0;
    } else if (absl::Now() - last_thorough >= options_.thorough_interval) {
      least = 0;
      last_thorough = absl::Now();
    }
    FlushNow(least);
  }
}

}  // namespace cometmq::store
