#include "cpp/broker/rebalance_lock_manager.h"

#include <utility>

namespace cometmq::broker {

RebalanceLockManager::RebalanceLockManager(absl::Duration max_live_time)
    : max_live_time_(max_live_time) {}

std::vector<LockedQueue> RebalanceLockManager::TryLockBatch(
    absl::string_view group, absl::string_view client_id,
    const std::vector<LockedQueue>& queues, absl::Time now) {
  std::vector<LockedQueue> locked;
  absl::MutexLock lock(&mu_);
  GroupLocks& locks = groups_[group];
  for (const LockedQueue& queue : queues) {
    auto [it, inserted] =
        locks.try_emplace(queue, Entry{std::string(client_id), now});
    Entry& entry = it->second;
    if (!inserted) {
      if (entry.client_id != client_id && !Expired(entry, now)) continue;
      entry.client_id = std::string(client_id);
      entry.last_update = now;
    }
    locked.push_back(queue);
  }
  return locked;
}

void RebalanceLockManager::UnlockBatch(absl::string_view group,
                                       absl::string_view client_id,
                                       const std::vector<LockedQueue>& queues) {
  absl::MutexLock lock(&mu_);
  auto group_it = groups_.find(group);
  if (group_it == groups_.end()) return;
  GroupLocks& locks = group_it->second;
  for (const LockedQueue& queue : queues) {
    auto it = locks.find(queue);
    if (it != locks.end() && it->second.client_id == client_id) {
      locks.erase(it);
    }
  }
  if (locks.empty()) groups_.erase(group_it);
}

std::optional<std::string> RebalanceLockManager::Holder(
    absl::string_view group, const LockedQueue& queue, absl::Time now) const {
  absl::MutexLock lock(&mu_);
  auto group_it = groups_.find(group);
  if (group_it == groups_.end()) return std::nullopt;
  auto it = group_it->second.find(queue);
  if (it == group_it->second.end() || Expired(it->second, now)) {
    return std::nullopt;
  }
  return it->second.client_id;
}

}  // namespace cometmq::broker
