#ifndef COMETMQ_BROKER_REBALANCE_LOCK_MANAGER_H_
#define COMETMQ_BROKER_REBALANCE_LOCK_MANAGER_H_

#include <cstdint>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace cometmq::broker {

// One queue as orderly consumers name it: topic, broker name, queue id.
struct LockedQueue {
  std::string topic;
  std::string broker_name;
  int32_t queue_id = 0;

  friend bool operator==(const LockedQueue& a, const LockedQueue& b) {
    return std::tie(a.topic, a.broker_name, a.queue_id) ==
           std::tie(b.topic, b.broker_name, b.queue_id);
  }
  template <typename H>
  friend H AbslHashValue(H h, const LockedQueue& q) {
    return H::combine(std::move(h), q.topic, q.broker_name, q.queue_id);
  }
};

// Which client of an orderly consumer group may consume each queue
// (RocketMQ's RebalanceLockManager): group -> queue -> holder and the time
// it last locked. Guarantee: at any time at most one client holds a queue's
// lock; a lock is free again after its holder unlocks it or after
// `max_live_time` without a renewal (a crashed holder cannot block a queue
// forever). Thread-safe; memory only (locks do not survive a restart, as
// in RocketMQ: clients re-lock within their renewal interval). Every `now`
// must come from one clock; the broker passes MonotonicNow(), so a step of
// the wall clock neither frees every lock at once nor keeps a dead
// holder's.
class RebalanceLockManager {
 public:
  explicit RebalanceLockManager(absl::Duration max_live_time);

  // Locks or renews each of `queues` for `client_id` where it is free,
  // expired or already held by `client_id`. Returns the queues now held by
  // `client_id`, in request order.
  std::vector<LockedQueue> TryLockBatch(absl::string_view group,
                                        absl::string_view client_id,
                                        const std::vector<LockedQueue>& queues,
                                        absl::Time now);
  // Releases those of `queues` that `client_id` holds; others are left.
  void UnlockBatch(absl::string_view group, absl::string_view client_id,
                   const std::vector<LockedQueue>& queues);
  // The client holding `queue` of `group` at `now`, if any.
  std::optional<std::string> Holder(absl::string_view group,
                                    const LockedQueue& queue,
                                    absl::Time now) const;

 private:
  struct Entry {
    std::string client_id;
    absl::Time last_update;
  };
  using GroupLocks = absl::flat_hash_map<LockedQueue, Entry>;

  bool Expired(const Entry& entry, absl::Time now) const {
    return now - entry.last_update > max_live_time_;
  }

  const absl::Duration max_live_time_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, GroupLocks> groups_ ABSL_GUARDED_BY(mu_);
};

}  // namespace cometmq::broker

#endif  // COMETMQ_BROKER_REBALANCE_LOCK_MANAGER_H_
