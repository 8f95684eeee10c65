#include "cpp/client/process_queue.h"

#include <algorithm>
#include <utility>

namespace cometmq::client {

ProcessQueue::ProcessQueue(MessageQueue queue, int64_t next_offset)
    : queue_(std::move(queue)), next_offset_(next_offset) {}

int64_t ProcessQueue::next_offset() const {
  absl::MutexLock lock(&mu_);
  return next_offset_;
}

void ProcessQueue::OnPulled(const std::vector<MessageExt>& messages,
                            int64_t next_offset) {
  absl::MutexLock lock(&mu_);
  for (const MessageExt& message : messages) {
    Held held;
    held.size = static_cast<int64_t>(message.body.size());
    if (in_flight_.emplace(message.queue_offset, held).second) {
      cached_bytes_ += held.size;
    }
  }
  next_offset_ = next_offset;
}

void ProcessQueue::Remove(int64_t queue_offset) {
  absl::MutexLock lock(&mu_);
  auto it = in_flight_.find(queue_offset);
  if (it == in_flight_.end()) return;
  cached_bytes_ -= it->second.size;
  in_flight_.erase(it);
}

int64_t ProcessQueue::CommittableOffset() const {
  absl::MutexLock lock(&mu_);
  if (pinned_.has_value()) return *pinned_;
  return in_flight_.empty() ? next_offset_ : in_flight_.begin()->first;
}

void ProcessQueue::PinCommittable(int64_t offset) {
  absl::MutexLock lock(&mu_);
  pinned_ = offset;
}

int64_t ProcessQueue::cached_count() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int64_t>(in_flight_.size());
}

int64_t ProcessQueue::cached_bytes() const {
  absl::MutexLock lock(&mu_);
  return cached_bytes_;
}

int64_t ProcessQueue::MaxSpan() const {
  absl::MutexLock lock(&mu_);
  if (in_flight_.empty()) return 0;
  return in_flight_.rbegin()->first - in_flight_.begin()->first;
}

void ProcessQueue::ConsumeStarted(int64_t queue_offset,
                                  std::shared_ptr<const MessageExt> message,
                                  absl::Time now) {
  absl::MutexLock lock(&mu_);
  auto it = in_flight_.find(queue_offset);
  if (it == in_flight_.end()) return;
  it->second.consume_start = now;
  it->second.consuming = std::move(message);
}

bool ProcessQueue::ConsumeEnded(int64_t queue_offset) {
  absl::MutexLock lock(&mu_);
  auto it = in_flight_.find(queue_offset);
  if (it == in_flight_.end()) return false;  // sent back on timeout
  // Its send-back is in progress: kept as it is, so a failed one is taken
  // again at the next check (the caller leaves the message alone).
  if (it->second.expiring) {
    it->second.call_ended = true;
    return false;
  }
  // Not kept past the call: the caller may change or move it from now on.
  it->second.consuming.reset();
  it->second.consume_start = absl::InfinitePast();
  return true;
}

std::vector<MessageExt> ProcessQueue::TakeExpired(absl::Time now,
                                                  absl::Duration timeout,
                                                  int max) {
  absl::MutexLock lock(&mu_);
  std::vector<MessageExt> expired;
  for (auto& [offset, held] : in_flight_) {
    if (static_cast<int>(expired.size()) >= max) break;
    if (held.expiring) continue;  // a send-back of it is in progress
    if (held.consuming == nullptr || now - held.consume_start <= timeout) {
      break;
    }
    held.expiring = true;
    expired.push_back(*held.consuming);
  }
  return expired;
}

bool ProcessQueue::ReturnExpired(int64_t queue_offset) {
  absl::MutexLock lock(&mu_);
  auto it = in_flight_.find(queue_offset);
  if (it == in_flight_.end()) return false;
  Held& held = it->second;
  held.expiring = false;
  if (!held.call_ended) return false;  // still running: timed as it was
  // Nothing runs it and nothing sends it back any more: the caller
  // redelivers it, so it is timed again only from its next call.
  held.call_ended = false;
  held.consuming.reset();
  held.consume_start = absl::InfinitePast();
  return true;
}

void ProcessQueue::BeginConsume() {
  absl::MutexLock lock(&mu_);
  ++consuming_;
}

bool ProcessQueue::EndConsume() {
  absl::MutexLock lock(&mu_);
  return --consuming_ == 0;
}

bool ProcessQueue::WaitConsumeIdle(absl::Duration limit) {
  absl::MutexLock lock(&mu_);
  auto idle = [this]()
                  ABSL_SHARED_LOCKS_REQUIRED(mu_) { return consuming_ == 0; };
  return mu_.AwaitWithTimeout(absl::Condition(&idle), limit);
}

bool ProcessQueue::PutOrderly(std::vector<MessageExt> messages) {
  absl::MutexLock lock(&mu_);
  for (MessageExt& message : messages) {
    const int64_t offset = message.queue_offset;
    orderly_.emplace(offset, std::move(message));
  }
  if (orderly_task_ || orderly_.empty()) return false;
  orderly_task_ = true;
  return true;
}

std::optional<MessageExt> ProcessQueue::TakeOrderly() {
  absl::MutexLock lock(&mu_);
  if (orderly_.empty()) {
    orderly_task_ = false;
    return std::nullopt;
  }
  MessageExt message = std::move(orderly_.begin()->second);
  orderly_.erase(orderly_.begin());
  return message;
}

std::vector<MessageExt> ProcessQueue::TakeOrderly(size_t max) {
  absl::MutexLock lock(&mu_);
  std::vector<MessageExt> messages;
  if (orderly_.empty()) {
    orderly_task_ = false;
    return messages;
  }
  max = std::max<size_t>(max, 1);  // a task that took nothing would hang
  messages.reserve(std::min(max, orderly_.size()));
  while (!orderly_.empty() && messages.size() < max) {
    messages.push_back(std::move(orderly_.begin()->second));
    orderly_.erase(orderly_.begin());
  }
  return messages;
}

void ProcessQueue::PutBackOrderly(MessageExt message) {
  absl::MutexLock lock(&mu_);
  const int64_t offset = message.queue_offset;
  orderly_.insert_or_assign(offset, std::move(message));
}

void ProcessQueue::LockConsume() { TryLockConsume(absl::InfiniteDuration()); }

bool ProcessQueue::TryLockConsume(absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto free = [this]()
                  ABSL_SHARED_LOCKS_REQUIRED(mu_) { return !consume_locked_; };
  if (!mu_.AwaitWithTimeout(absl::Condition(&free), timeout)) return false;
  consume_locked_ = true;
  return true;
}

void ProcessQueue::UnlockConsume() {
  absl::MutexLock lock(&mu_);
  consume_locked_ = false;
}

void ProcessQueue::SetLocked(bool locked, absl::Time now) {
  absl::MutexLock lock(&mu_);
  locked_ = locked;
  if (locked) last_lock_time_ = now;
}

bool ProcessQueue::locked() const {
  absl::MutexLock lock(&mu_);
  return locked_;
}

bool ProcessQueue::LockFresh(absl::Time now, absl::Duration ttl) const {
  absl::MutexLock lock(&mu_);
  return locked_ && now - last_lock_time_ <= ttl;
}

void ProcessQueue::InheritLock(const ProcessQueue& from) {
  bool locked = false;
  absl::Time at = absl::InfinitePast();
  {
    absl::MutexLock lock(&from.mu_);
    locked = from.locked_;
    at = from.last_lock_time_;
  }
  absl::MutexLock lock(&mu_);
  locked_ = locked;
  last_lock_time_ = at;
}

}  // namespace cometmq::client
