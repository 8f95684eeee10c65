#include "cpp/store/prefaulter.h"

#include <pthread.h>

#include <algorithm>

#include "spdlog/spdlog.h"

namespace cometmq::store {

Prefaulter::Prefaulter(MappedFileQueue* log, int64_t window,
                       absl::Duration interval)
    : log_(log), window_(window), interval_(interval) {}

Prefaulter::~Prefaulter() { Stop(); }

void Prefaulter::Start() {
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "store-prefault");
    Run();
  });
}

void Prefaulter::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

bool Prefaulter::AwaitReady(int64_t offset, absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto ready = [this, offset]()
                   ABSL_SHARED_LOCKS_REQUIRED(mu_) { return ready_ >= offset; };
  return mu_.AwaitWithTimeout(absl::Condition(&ready), timeout);
}

void Prefaulter::Run() {
  while (PrefaultAhead()) {
    absl::MutexLock lock(&mu_);
    if (mu_.AwaitWithTimeout(absl::Condition(&stopping_), interval_)) return;
  }
}

bool Prefaulter::PrefaultAhead() {
  std::shared_ptr<MappedFile> file = log_->LastFile();
  if (file == nullptr) return true;
  const int64_t start = file->start_offset();
  const int64_t end = start + file->wrote_position();
  int64_t from;
  {
    absl::MutexLock lock(&mu_);
    if (end + window_ / 2 <= ready_) return true;
    from = std::max(ready_, end);
  }
  const int64_t to = std::min(end + window_, start + file->size());
  if (from < to) {
    absl::Status s = file->Prefault(from - start, to - start);
    if (!s.ok()) {
      spdlog::warn("commit log pages are not prefaulted: {}", s.ToString());
      return false;
    }
  }
  absl::MutexLock lock(&mu_);
  ready_ = std::max(ready_, to);
  return true;
}

}  // namespace cometmq::store
