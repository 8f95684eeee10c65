#include "cpp/broker/long_polling.h"

#include <pthread.h>

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace cometmq::broker {
namespace {

std::string QueueKey(absl::string_view topic, int32_t queue_id) {
  return absl::StrCat(topic, "@", queue_id);
}

}  // namespace

LongPollingService::LongPollingService(MaxOffsetFn max_offset)
    : max_offset_(std::move(max_offset)) {}

LongPollingService::~LongPollingService() { Shutdown(); }

void LongPollingService::Start() {
  absl::MutexLock lock(&mu_);
  if (started_ || stopping_) return;
  started_ = true;
  timer_ = std::thread([this] { TimerLoop(); });
}

void LongPollingService::Hold(absl::string_view topic, int32_t queue_id,
                              int64_t offset, absl::Time deadline,
                              Resume resume) {
  const std::string key = QueueKey(topic, queue_id);
  uint64_t id = 0;
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) {
      // Fall through to answer outside the lock.
    } else {
      id = next_id_++;
      held_[key].push_back(Held{id, offset, deadline, std::move(resume)});
      ++count_;
      // Most pulls are answered by an arrival long before their deadline:
      // wake the timer only when it would sleep past this one.
      if (deadline < timer_wakes_at_) timer_cv_.Signal();
    }
  }
  if (id == 0) {
    resume(WakeReason::kShutdown);
    return;
  }
  // A message may have arrived after the caller's read and before the hold
  // was visible to OnArrival: check once more now that it is.
  if (max_offset_(topic, queue_id) > offset) {
    Resume mine;
    bool taken;
    {
      absl::MutexLock lock(&mu_);
      taken = TakeLocked(key, id, &mine);
    }
    if (taken) mine(WakeReason::kArrived);
  }
}

void LongPollingService::OnArrival(absl::string_view topic, int32_t queue_id,
                                   int64_t max_offset) {
  std::vector<Resume> woken;
  {
    absl::MutexLock lock(&mu_);
    auto it = held_.find(QueueKey(topic, queue_id));
    if (it == held_.end()) return;
    std::vector<Held>& list = it->second;
    for (auto h = list.begin(); h != list.end();) {
      if (h->offset < max_offset) {
        woken.push_back(std::move(h->resume));
        h = list.erase(h);
        --count_;
      } else {
        ++h;
      }
    }
    if (list.empty()) held_.erase(it);
  }
  for (Resume& resume : woken) resume(WakeReason::kArrived);
}

void LongPollingService::Shutdown() {
  std::vector<Resume> all;
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    timer_cv_.Signal();
    for (auto& [key, list] : held_) {
      for (Held& h : list) all.push_back(std::move(h.resume));
    }
    held_.clear();
    count_ = 0;
  }
  if (timer_.joinable()) timer_.join();
  for (Resume& resume : all) resume(WakeReason::kShutdown);
}

size_t LongPollingService::held() const {
  absl::MutexLock lock(&mu_);
  return count_;
}

bool LongPollingService::TakeLocked(const std::string& key, uint64_t id,
                                    Resume* resume) {
  auto it = held_.find(key);
  if (it == held_.end()) return false;
  std::vector<Held>& list = it->second;
  for (auto h = list.begin(); h != list.end(); ++h) {
    if (h->id != id) continue;
    *resume = std::move(h->resume);
    list.erase(h);
    --count_;
    if (list.empty()) held_.erase(it);
    return true;
  }
  return false;
}

void LongPollingService::TimerLoop() {
  pthread_setname_np(pthread_self(), "broker-pullhold");
  absl::MutexLock lock(&mu_);
  while (!stopping_) {
    const absl::Time now = absl::Now();
    absl::Time next = absl::InfiniteFuture();
    std::vector<Resume> expired;
    for (auto it = held_.begin(); it != held_.end();) {
      std::vector<Held>& list = it->second;
      for (auto h = list.begin(); h != list.end();) {
        if (h->deadline <= now) {
          expired.push_back(std::move(h->resume));
          h = list.erase(h);
          --count_;
        } else {
          next = std::min(next, h->deadline);
          ++h;
        }
      }
      if (list.empty()) {
        held_.erase(it++);
      } else {
        ++it;
      }
    }
    if (!expired.empty()) {
      mu_.Unlock();
      for (Resume& resume : expired) resume(WakeReason::kTimedOut);
      mu_.Lock();
      continue;  // the table may have changed meanwhile
    }
    // Woken early by Hold() (an earlier deadline) or Shutdown().
    timer_wakes_at_ = next;
    timer_cv_.WaitWithDeadline(&mu_, next);
    timer_wakes_at_ = absl::InfinitePast();  // awake: Hold() need not signal
  }
}

}  // namespace cometmq::broker
