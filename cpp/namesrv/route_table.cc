#include "cpp/namesrv/route_table.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "cpp/common/table_page.h"

namespace cometmq::namesrv {
namespace {

constexpr int64_t kMasterId = 0;

absl::Status ValidateRegistration(const proto::RegisterBrokerRequest& r) {
  if (r.cluster().empty() || r.broker_name().empty() ||
      r.broker_addr().empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "broker registration needs cluster, broker_name and broker_addr; got "
        "cluster='",
        r.cluster(), "' broker_name='", r.broker_name(), "' broker_addr='",
        r.broker_addr(), "'"));
  }
  if (r.broker_id() < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("broker ", r.broker_addr(),
                     " registered with negative broker_id ", r.broker_id()));
  }
  if (r.part_count() < 0 ||
      (r.part_count() > 1 &&
       (r.part_index() < 0 || r.part_index() >= r.part_count()))) {
    return absl::InvalidArgumentError(
        absl::StrCat("broker ", r.broker_addr(), " registered part ",
                     r.part_index(), " of ", r.part_count()));
  }
  for (const proto::TopicConfig& topic : r.topic_configs()) {
    if (topic.topic_name().empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "broker ", r.broker_addr(), " registered a topic without a name"));
    }
  }
  return absl::OkStatus();
}

template <typename Map>
std::vector<std::string> SortedKeys(const Map& map) {
  std::vector<std::string> keys;
  keys.reserve(map.size());
  for (const auto& entry : map) keys.push_back(entry.first);
  std::sort(keys.begin(), keys.end());
  return keys;
}

std::vector<std::string> Sorted(const absl::flat_hash_set<std::string>& set) {
  std::vector<std::string> sorted(set.begin(), set.end());
  std::sort(sorted.begin(), sorted.end());
  return sorted;
}

}  // namespace

absl::StatusOr<RegisterResult> RouteTable::RegisterBroker(
    const proto::RegisterBrokerRequest& request,
    absl::string_view remote_address, absl::Time now) {
  if (absl::Status s = ValidateRegistration(request); !s.ok()) return s;
  const std::string& name = request.broker_name();
  const std::string& addr = request.broker_addr();
  const int64_t id = request.broker_id();

  absl::MutexLock lock(&mu_);
  // An address that comes back under another name or id (a slave promoted to
  // master, a reconfigured broker) must not stay listed under the old one.
  if (auto it = live_.find(addr);
      it != live_.end() &&
      (it->second.broker_name != name || it->second.broker_id != id)) {
    RemoveBrokerLocked(addr);
  }

  BrokerGroup& group = groups_[name];
  if (group.cluster != request.cluster()) {
    if (!group.cluster.empty()) {
      auto old = clusters_.find(group.cluster);
      if (old != clusters_.end()) {
        old->second.erase(name);
        if (old->second.empty()) clusters_.erase(old);
      }
    }
    group.cluster = request.cluster();
  }
  clusters_[request.cluster()].insert(name);

  auto [slot, inserted] = group.addrs.try_emplace(id, addr);
  if (!inserted && slot->second != addr) {
    // A broker restarted on another address under the same id replaces the
    // old one, which would otherwise linger in routes until it expired.
    live_.erase(slot->second);
    slot->second = addr;
    inserted = true;
  }
  // A new master process comes back writable (see WipeWritePerm).
  if (inserted && id == kMasterId) group.write_wiped = false;

  LiveBroker& live = live_[addr];
  live.broker_name = name;
  live.broker_id = id;
  live.last_update = now;
  live.data_version = request.data_version();
  live.ha_server_addr = request.ha_server_addr();
  live.remote_address = std::string(remote_address);
  if (id == kMasterId) ApplyMasterTopicsLocked(request, &live);

  RegisterResult result;
  if (id != kMasterId) {
    auto master = group.addrs.find(kMasterId);
    if (master != group.addrs.end()) {
      result.master_addr = master->second;
      auto master_live = live_.find(master->second);
      if (master_live != live_.end()) {
        result.ha_server_addr = master_live->second.ha_server_addr;
      }
    }
  }
  return result;
}

absl::Status RouteTable::UnregisterBroker(
    const proto::UnregisterBrokerRequest& request) {
  absl::MutexLock lock(&mu_);
  auto group = groups_.find(request.broker_name());
  if (group != groups_.end()) {
    auto slot = group->second.addrs.find(request.broker_id());
    if (slot != group->second.addrs.end() &&
        slot->second == request.broker_addr()) {
      RemoveBrokerLocked(request.broker_addr());
      return absl::OkStatus();
    }
  }
  return absl::NotFoundError(absl::StrCat(
      "no broker ", request.broker_name(), "[", request.broker_id(), "] at ",
      request.broker_addr(), " is registered"));
}

absl::StatusOr<proto::TopicRouteData> RouteTable::GetTopicRoute(
    absl::string_view topic) const {
  absl::ReaderMutexLock lock(&mu_);
  proto::TopicRouteData route;
  auto it = topics_.find(topic);
  if (it != topics_.end()) {
    for (const std::string& name : SortedKeys(it->second)) {
      auto group = groups_.find(name);
      if (group == groups_.end()) continue;
      *route.add_queue_datas() = it->second.at(name);
      *route.add_broker_datas() = BrokerDataLocked(name, group->second);
    }
  }
  if (route.queue_datas().empty()) {
    return absl::NotFoundError(absl::StrCat(
        "No topic route info in name server for the topic: ", topic));
  }
  return route;
}

proto::ClusterInfo RouteTable::GetClusterInfo() const {
  absl::ReaderMutexLock lock(&mu_);
  proto::ClusterInfo info;
  for (const auto& [name, group] : groups_) {
    (*info.mutable_broker_table())[name] = BrokerDataLocked(name, group);
  }
  for (const auto& [cluster, names] : clusters_) {
    proto::ClusterInfo::BrokerNames& out =
        (*info.mutable_cluster_table())[cluster];
    for (std::string& name : Sorted(names)) {
      out.add_names(std::move(name));
    }
  }
  return info;
}

proto::TopicList RouteTable::GetAllTopics() const {
  absl::ReaderMutexLock lock(&mu_);
  proto::TopicList list;
  for (std::string& topic : SortedKeys(topics_)) {
    list.add_topics(std::move(topic));
  }
  return list;
}

proto::TopicList RouteTable::GetTopicsPage(absl::string_view after,
                                           size_t max_bytes) const {
  absl::ReaderMutexLock lock(&mu_);
  proto::TopicList list;
  const std::vector<const std::string*> names = SortedKeysAfter(topics_, after);
  size_t bytes = 0;
  size_t i = 0;
  for (; i < names.size() && (i == 0 || bytes < max_bytes); ++i) {
    bytes += names[i]->size() + 3;  // with its tag and length
    list.add_topics(*names[i]);
  }
  list.mutable_page()->set_more(i < names.size());
  if (i > 0) list.mutable_page()->set_last(*names[i - 1]);
  return list;
}

absl::Status RouteTable::DeleteTopic(absl::string_view topic,
                                     absl::string_view cluster) {
  absl::MutexLock lock(&mu_);
  auto it = topics_.find(topic);
  if (it == topics_.end()) {
    return absl::NotFoundError(
        absl::StrCat("topic ", topic, " is not in the name server"));
  }
  if (cluster.empty()) {
    topics_.erase(it);
    return absl::OkStatus();
  }
  size_t removed = 0;
  auto names = clusters_.find(cluster);
  if (names != clusters_.end()) {
    for (const std::string& name : names->second) {
      removed += it->second.erase(name);
    }
  }
  if (it->second.empty()) topics_.erase(it);
  if (removed == 0) {
    return absl::NotFoundError(absl::StrCat(
        "topic ", topic, " has no queues on brokers of cluster ", cluster));
  }
  return absl::OkStatus();
}

int RouteTable::WipeWritePerm(absl::string_view broker_name) {
  absl::MutexLock lock(&mu_);
  return SetPermLocked(std::string(broker_name), /*wiped=*/true);
}

int RouteTable::AddWritePerm(absl::string_view broker_name) {
  absl::MutexLock lock(&mu_);
  return SetPermLocked(std::string(broker_name), /*wiped=*/false);
}

int RouteTable::SetPermLocked(const std::string& broker_name, bool wiped) {
  auto group = groups_.find(broker_name);
  if (group == groups_.end()) return 0;
  group->second.write_wiped = wiped;
  int count = 0;
  for (auto& [topic, queues] : topics_) {
    auto queue = queues.find(broker_name);
    if (queue == queues.end()) continue;
    ++count;
    auto registered = group->second.registered_perms.find(topic);
    // Without a registration (a slave-only group's topics, say), adding
    // grants write as RocketMQ's addWritePerm does.
    const int32_t perm = registered != group->second.registered_perms.end()
                             ? registered->second
                             : queue->second.perm() | proto::PERM_WRITE;
    queue->second.set_perm(wiped ? queue->second.perm() & ~proto::PERM_WRITE
                                 : perm);
  }
  return count;
}

std::vector<std::string> RouteTable::ScanExpiredBrokers(absl::Time now,
                                                        absl::Duration expiry) {
  absl::MutexLock lock(&mu_);
  std::vector<std::string> expired;
  for (const auto& [addr, live] : live_) {
    if (now - live.last_update > expiry) expired.push_back(addr);
  }
  for (const std::string& addr : expired) RemoveBrokerLocked(addr);
  return expired;
}

std::vector<std::string> RouteTable::OnConnectionClosed(
    absl::string_view remote_address) {
  absl::MutexLock lock(&mu_);
  // A linear scan: there are few brokers and connections close rarely.
  std::vector<std::string> gone;
  for (const auto& [addr, live] : live_) {
    if (live.remote_address == remote_address) gone.push_back(addr);
  }
  for (const std::string& addr : gone) RemoveBrokerLocked(addr);
  return gone;
}

size_t RouteTable::live_broker_count() const {
  absl::ReaderMutexLock lock(&mu_);
  return live_.size();
}

void RouteTable::ApplyMasterTopicsLocked(
    const proto::RegisterBrokerRequest& request, LiveBroker* live) {
  const std::string& name = request.broker_name();
  BrokerGroup& group = groups_[name];
  // Registrations are applied whole every time rather than only when the
  // data version changes: it costs little and heals a NameServer whose
  // queue data was deleted by an admin while the broker still has the topic.
  absl::flat_hash_set<std::string> registered;
  registered.reserve(request.topic_configs_size());
  for (const proto::TopicConfig& topic : request.topic_configs()) {
    registered.insert(topic.topic_name());
    proto::QueueData& queue = topics_[topic.topic_name()][name];
    queue.set_broker_name(name);
    queue.set_read_queue_nums(topic.read_queue_nums());
    queue.set_write_queue_nums(topic.write_queue_nums());
    group.registered_perms[topic.topic_name()] = topic.perm();
    queue.set_perm(group.write_wiped ? topic.perm() & ~proto::PERM_WRITE
                                     : topic.perm());
    queue.set_order(topic.order());
  }
  if (request.part_count() <= 1) {
    live->partial.reset();
    KeepOnlyTopicsLocked(name, registered);
    return;
  }
  // One part of a split table: what is missing from it may be in another
  // part, so nothing leaves the routes before the round is whole.
  if (!live->partial.has_value() ||
      live->partial->round_id != request.round_id() ||
      live->partial->part_count != request.part_count()) {
    live->partial.emplace();
    live->partial->round_id = request.round_id();
    live->partial->part_count = request.part_count();
  }
  PartialRound& round = *live->partial;
  round.parts.insert(request.part_index());
  round.topics.merge(registered);
  if (static_cast<int32_t>(round.parts.size()) < round.part_count) return;
  absl::flat_hash_set<std::string> table = std::move(round.topics);
  live->partial.reset();
  KeepOnlyTopicsLocked(name, table);
}

void RouteTable::KeepOnlyTopicsLocked(
    const std::string& name, const absl::flat_hash_set<std::string>& table) {
  if (auto group = groups_.find(name); group != groups_.end()) {
    auto& perms = group->second.registered_perms;
    for (auto it = perms.begin(); it != perms.end();) {
      if (table.contains(it->first)) {
        ++it;
      } else {
        perms.erase(it++);
      }
    }
  }
  // A master registers its whole topic table, so a topic missing from it
  // was deleted on the broker (perhaps while this NameServer missed the
  // admin's deleteTopic); routing producers to it would only fail, or
  // bring the topic back by auto-creation.
  for (auto topic = topics_.begin(); topic != topics_.end();) {
    if (!table.contains(topic->first) && topic->second.erase(name) > 0 &&
        topic->second.empty()) {
      topics_.erase(topic++);
    } else {
      ++topic;
    }
  }
}

void RouteTable::RemoveBrokerLocked(const std::string& addr) {
  auto live = live_.find(addr);
  if (live == live_.end()) return;
  const std::string name = live->second.broker_name;
  const int64_t id = live->second.broker_id;
  live_.erase(live);

  auto group = groups_.find(name);
  if (group == groups_.end()) return;
  auto slot = group->second.addrs.find(id);
  if (slot != group->second.addrs.end() && slot->second == addr) {
    group->second.addrs.erase(slot);
    // The next master is another process: it comes back writable.
    if (id == kMasterId) group->second.write_wiped = false;
  }
  // A group keeps its queue data while a slave is left: slaves serve reads
  // when the master is gone.
  if (group->second.addrs.empty()) RemoveBrokerNameLocked(name);
}

void RouteTable::RemoveBrokerNameLocked(const std::string& broker_name) {
  auto group = groups_.find(broker_name);
  if (group == groups_.end()) return;
  auto cluster = clusters_.find(group->second.cluster);
  if (cluster != clusters_.end()) {
    cluster->second.erase(broker_name);
    if (cluster->second.empty()) clusters_.erase(cluster);
  }
  groups_.erase(group);
  for (auto topic = topics_.begin(); topic != topics_.end();) {
    topic->second.erase(broker_name);
    if (topic->second.empty()) {
      topics_.erase(topic++);
    } else {
      ++topic;
    }
  }
}

proto::BrokerData RouteTable::BrokerDataLocked(const std::string& broker_name,
                                               const BrokerGroup& group) const {
  proto::BrokerData data;
  data.set_cluster(group.cluster);
  data.set_broker_name(broker_name);
  for (const auto& [id, addr] : group.addrs) {
    (*data.mutable_broker_addrs())[id] = addr;
  }
  return data;
}

}  // namespace cometmq::namesrv
