#include "cpp/client/queue_selector.h"

#include <cstdlib>

#include "absl/random/random.h"
#include "cpp/common/message_record.h"

namespace cometmq::client {

LatencyFaultTolerance::LatencyFaultTolerance(absl::Duration slow_threshold,
                                             absl::Duration isolation)
    : slow_threshold_(slow_threshold), isolation_(isolation) {}

void LatencyFaultTolerance::Record(const std::string& broker_name,
                                   absl::Duration latency, bool failed,
                                   absl::Time now) {
  absl::MutexLock lock(&mu_);
  if (failed || latency >= slow_threshold_) {
    unavailable_until_[broker_name] = now + isolation_;
  } else {
    unavailable_until_.erase(broker_name);
  }
}

bool LatencyFaultTolerance::IsAvailable(const std::string& broker_name,
                                        absl::Time now) const {
  absl::MutexLock lock(&mu_);
  auto it = unavailable_until_.find(broker_name);
  return it == unavailable_until_.end() || it->second <= now;
}

QueueSelector::QueueSelector(const LatencyFaultTolerance* faults)
    : faults_(faults) {
  // A random start spreads the first sends of many producers.
  absl::BitGen gen;
  counter_ = absl::Uniform<uint32_t>(gen);
}

const MessageQueue& QueueSelector::Select(
    const std::vector<MessageQueue>& queues, const std::string& avoid_broker,
    absl::Time now) {
  const size_t n = queues.size();
  const uint32_t start = counter_.fetch_add(1);
  // Best: a healthy broker that is not the one to avoid; then any broker
  // other than the one to avoid; then plain round-robin.
  for (size_t i = 0; i < n; ++i) {
    const MessageQueue& queue = queues[(start + i) % n];
    if (queue.broker_name != avoid_broker &&
        faults_->IsAvailable(queue.broker_name, now)) {
      return queue;
    }
  }
  for (size_t i = 0; i < n; ++i) {
    const MessageQueue& queue = queues[(start + i) % n];
    if (queue.broker_name != avoid_broker) return queue;
  }
  return queues[start % n];
}

int32_t ShardingIndex(const std::string& sharding_key, int32_t queue_count) {
  int64_t hash = TagsHashCode(sharding_key);
  return static_cast<int32_t>(std::llabs(hash) % queue_count);
}

}  // namespace cometmq::client
