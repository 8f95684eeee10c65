#ifndef COMETMQ_CLIENT_QUEUE_SELECTOR_H_
#define COMETMQ_CLIENT_QUEUE_SELECTOR_H_

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "cpp/client/message_queue.h"

namespace cometmq::client {

// Remembers which brokers recently failed a send or answered slowly, a
// simple form of RocketMQ's latency fault tolerance: a failure, or a latency
// of at least `slow_threshold`, makes the broker unavailable for `isolation`.
// Thread-safe.
class LatencyFaultTolerance {
 public:
  LatencyFaultTolerance(absl::Duration slow_threshold = absl::Milliseconds(550),
                        absl::Duration isolation = absl::Seconds(30));

  void Record(const std::string& broker_name, absl::Duration latency,
              bool failed, absl::Time now);
  bool IsAvailable(const std::string& broker_name, absl::Time now) const;

 private:
  const absl::Duration slow_threshold_;
  const absl::Duration isolation_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, absl::Time> unavailable_until_
      ABSL_GUARDED_BY(mu_);
};

// Picks the write queue for the next send: round-robin over `queues` (the
// write queues of every broker), skipping queues of brokers that the fault
// tolerance marks unavailable and of `avoid_broker` (the broker a retry
// moves away from) while any other queue exists. Thread-safe.
class QueueSelector {
 public:
  explicit QueueSelector(const LatencyFaultTolerance* faults);

  // `queues` must not be empty.
  const MessageQueue& Select(const std::vector<MessageQueue>& queues,
                             const std::string& avoid_broker, absl::Time now);

 private:
  const LatencyFaultTolerance* const faults_;
  std::atomic<uint32_t> counter_;
};

// The queue index for `sharding_key` among `queue_count` queues: Java's
// String.hashCode, made non-negative, modulo the count. Stable across
// processes and runs, so one key always lands on one queue while the
// queue count stays the same.
int32_t ShardingIndex(const std::string& sharding_key, int32_t queue_count);

}  // namespace cometmq::client

#endif  // COMETMQ_CLIENT_QUEUE_SELECTOR_H_
