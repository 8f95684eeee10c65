#include "cpp/client/process_queue.h"

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
    auto size = static_cast<int64_t>(message.body.size());
    if (in_flight_.emplace(message.queue_offset, size).second) {
      cached_bytes_ += size;
    }
  }
  next_offset_ = next_offset;
}

void ProcessQueue::Remove(int64_t queue_offset) {
  absl::MutexLock lock(&mu_);
  auto it = in_flight_.find(queue_offset);
  if (it == in_flight_.end()) return;
  cached_bytes_ -= it->second;
  in_flight_.erase(it);
}

int64_t ProcessQueue::CommittableOffset() const {
  absl::MutexLock lock(&mu_);
  return in_flight_.empty() ? next_offset_ : in_flight_.begin()->first;
}

int64_t ProcessQueue::cached_count() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int64_t>(in_flight_.size());
}

int64_t ProcessQueue::cached_bytes() const {
  absl::MutexLock lock(&mu_);
  return cached_bytes_;
}

void ProcessQueue::BeginConsume() {
  absl::MutexLock lock(&mu_);
  ++consuming_;
}

void ProcessQueue::EndConsume() {
  absl::MutexLock lock(&mu_);
  --consuming_;
}

bool ProcessQueue::WaitConsumeIdle(absl::Duration limit) {
  absl::MutexLock lock(&mu_);
  auto idle = [this]()
                  ABSL_SHARED_LOCKS_REQUIRED(mu_) { return consuming_ == 0; };
  return mu_.AwaitWithTimeout(absl::Condition(&idle), limit);
}

}  // namespace cometmq::client
