#include "cpp/client/route_cache.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "cpp/client/client_error.h"

namespace cometmq::client {

std::shared_ptr<const TopicRoute> MakeTopicRoute(const std::string& topic,
                                                 proto::TopicRouteData data) {
  auto route = std::make_shared<TopicRoute>();
  absl::flat_hash_map<std::string, bool> has_master;
  for (const proto::BrokerData& broker : data.broker_datas()) {
    has_master[broker.broker_name()] = broker.broker_addrs().contains(0);
  }
  for (const proto::QueueData& queue : data.queue_datas()) {
    if ((queue.perm() & proto::PERM_WRITE) && has_master[queue.broker_name()]) {
      for (int32_t i = 0; i < queue.write_queue_nums(); ++i) {
        route->write_queues.push_back({topic, queue.broker_name(), i});
      }
    }
    if (queue.perm() & proto::PERM_READ) {
      for (int32_t i = 0; i < queue.read_queue_nums(); ++i) {
        route->read_queues.push_back({topic, queue.broker_name(), i});
      }
    }
  }
  std::sort(route->write_queues.begin(), route->write_queues.end());
  std::sort(route->read_queues.begin(), route->read_queues.end());
  route->data = std::move(data);
  return route;
}

RouteCache::RouteCache(remoting::RemotingClient* client,
                       std::vector<std::string> namesrv_addrs,
                       absl::Duration timeout)
    : client_(client),
      namesrv_addrs_(std::move(namesrv_addrs)),
      timeout_(timeout) {}

absl::StatusOr<remoting::Command> RouteCache::CallNamesrv(
    const remoting::Command& request, absl::Time deadline,
    std::string* answered_by) {
  if (namesrv_addrs_.empty()) {
    return absl::FailedPreconditionError("no NameServer address configured");
  }
  size_t start;
  {
    absl::MutexLock lock(&mu_);
    start = next_namesrv_;
  }
  std::vector<std::string> failures;
  for (size_t i = 0; i < namesrv_addrs_.size(); ++i) {
    size_t index = (start + i) % namesrv_addrs_.size();
    const std::string& addr = namesrv_addrs_[index];
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) {
      failures.push_back("no time left");
      return absl::DeadlineExceededError(absl::StrCat(
          "no NameServer answered in time: ", absl::StrJoin(failures, "; ")));
    }
    absl::StatusOr<remoting::Command> response =
        client_->InvokeSync(addr, request, std::min(timeout_, left));
    if (response.ok()) {
      if (answered_by != nullptr) *answered_by = addr;
      absl::MutexLock lock(&mu_);
      next_namesrv_ = index;  // stay with a NameServer that answers
      return response;
    }
    failures.push_back(absl::StrCat(addr, ": ", response.status().ToString()));
  }
  {
    absl::MutexLock lock(&mu_);
    next_namesrv_ = (start + 1) % namesrv_addrs_.size();
  }
  return absl::UnavailableError(
      absl::StrCat("no NameServer answered: ", absl::StrJoin(failures, "; ")));
}

absl::Status RouteCache::CallEveryNamesrv(const remoting::Command& request) {
  absl::Status failure;
  absl::Status not_found;
  bool some_ok = false;
  for (const std::string& addr : namesrv_addrs_) {
    absl::StatusOr<remoting::Command> response =
        client_->InvokeSync(addr, request, timeout_);
    absl::Status status =
        response.ok() ? ResponseStatus(*response) : response.status();
    if (status.ok()) {
      some_ok = true;
    } else if (absl::IsNotFound(status)) {
      if (not_found.ok()) not_found = Annotate(status, addr);
    } else if (failure.ok()) {
      failure = Annotate(status, addr);
    }
  }
  if (!failure.ok()) return failure;
  return some_ok ? absl::OkStatus() : not_found;
}

absl::StatusOr<std::shared_ptr<const TopicRoute>> RouteCache::Refresh(
    const std::string& topic, absl::Time deadline) {
  remoting::Command request =
      remoting::MakeRequest(proto::GET_ROUTEINFO_BY_TOPIC);
  request.header.mutable_topic_route()->set_topic(topic);
  absl::StatusOr<remoting::Command> response = CallNamesrv(request, deadline);
  if (!response.ok()) return response.status();
  // An error, TOPIC_NOT_EXIST included, keeps the cached route: a
  // NameServer just restarted knows no topic until the brokers register
  // with it again, while the brokers still serve them (RocketMQ, too, keeps
  // its route when an update fails).
  if (absl::Status status = ResponseStatus(*response); !status.ok()) {
    return status;
  }
  for (const proto::BrokerData& broker :
       response->header.topic_route_response().broker_datas()) {
    RememberBrokers(broker);
  }
  std::shared_ptr<const TopicRoute> route = MakeTopicRoute(
      topic, std::move(*response->header.mutable_topic_route_response()));
  absl::MutexLock lock(&mu_);
  routes_[topic] = route;
  return route;
}

absl::StatusOr<std::shared_ptr<const TopicRoute>> RouteCache::Get(
    const std::string& topic, absl::Time deadline) {
  if (std::shared_ptr<const TopicRoute> route = Cached(topic)) return route;
  return Refresh(topic, deadline);
}

std::shared_ptr<const TopicRoute> RouteCache::Cached(
    const std::string& topic) const {
  absl::MutexLock lock(&mu_);
  auto it = routes_.find(topic);
  return it == routes_.end() ? nullptr : it->second;
}

void RouteCache::RefreshAll() {
  for (const std::string& topic : Topics()) {
    // Failures keep the last route: a NameServer outage must not stop
    // clients that already know where to go.
    Refresh(topic).IgnoreError();
  }
}

absl::StatusOr<proto::ClusterInfo> RouteCache::FetchClusterInfo(
    absl::Time deadline) {
  absl::StatusOr<remoting::Command> response = CallNamesrv(
      remoting::MakeRequest(proto::GET_BROKER_CLUSTER_INFO), deadline);
  if (!response.ok()) return response.status();
  if (absl::Status status = ResponseStatus(*response); !status.ok()) {
    return status;
  }
  for (const auto& [name, broker] :
       response->header.cluster_info_response().broker_table()) {
    RememberBrokers(broker);
  }
  return std::move(*response->header.mutable_cluster_info_response());
}

void RouteCache::RememberBrokers(const proto::BrokerData& broker) {
  absl::MutexLock lock(&mu_);
  brokers_[broker.broker_name()] = std::map<int64_t, std::string>(
      broker.broker_addrs().begin(), broker.broker_addrs().end());
}

absl::StatusOr<std::string> RouteCache::MasterAddress(
    const std::string& broker_name) const {
  constexpr int64_t kMasterId = 0;
  absl::MutexLock lock(&mu_);
  auto group = brokers_.find(broker_name);
  if (group == brokers_.end() || !group->second.contains(kMasterId)) {
    return absl::NotFoundError(
        absl::StrCat("no master address known for broker ", broker_name));
  }
  return group->second.at(kMasterId);
}

std::vector<std::string> RouteCache::AllMasterAddresses() const {
  absl::MutexLock lock(&mu_);
  std::vector<std::string> addrs;
  for (const auto& [topic, route] : routes_) {
    for (const proto::BrokerData& broker : route->data.broker_datas()) {
      auto master = broker.broker_addrs().find(0);
      if (master != broker.broker_addrs().end()) {
        addrs.push_back(master->second);
      }
    }
  }
  std::sort(addrs.begin(), addrs.end());
  addrs.erase(std::unique(addrs.begin(), addrs.end()), addrs.end());
  return addrs;
}

std::vector<std::string> RouteCache::AllBrokerAddresses() const {
  absl::MutexLock lock(&mu_);
  std::vector<std::string> addrs;
  for (const auto& [topic, route] : routes_) {
    for (const proto::BrokerData& broker : route->data.broker_datas()) {
      for (const auto& [id, addr] : broker.broker_addrs()) {
        addrs.push_back(addr);
      }
    }
  }
  std::sort(addrs.begin(), addrs.end());
  addrs.erase(std::unique(addrs.begin(), addrs.end()), addrs.end());
  return addrs;
}

absl::StatusOr<std::string> RouteCache::ReadAddress(
    const std::string& broker_name, int64_t preferred_id) const {
  absl::MutexLock lock(&mu_);
  auto group = brokers_.find(broker_name);
  if (group == brokers_.end() || group->second.empty()) {
    return absl::NotFoundError(
        absl::StrCat("no address known for broker ", broker_name));
  }
  const absl::Time now = absl::Now();
  auto reachable = [&](const std::string& addr) {
    auto it = unreachable_until_.find(addr);
    return it == unreachable_until_.end() || it->second <= now;
  };
  const std::map<int64_t, std::string>& addrs = group->second;
  if (auto it = addrs.find(preferred_id);
      it != addrs.end() && reachable(it->second)) {
    return it->second;
  }
  // std::map order: the master (id 0) first, then slaves by id.
  for (const auto& [id, addr] : addrs) {
    if (reachable(addr)) return addr;
  }
  return addrs.begin()->second;
}

void RouteCache::MarkUnreachable(const std::string& addr) {
  // Long enough to stop retrying a dead master on every pull, short enough
  // to return to it soon after it is back.
  constexpr absl::Duration kAvoidFor = absl::Seconds(5);
  absl::MutexLock lock(&mu_);
  unreachable_until_[addr] = absl::Now() + kAvoidFor;
}

std::vector<std::string> RouteCache::Topics() const {
  absl::MutexLock lock(&mu_);
  std::vector<std::string> topics;
  for (const auto& [topic, route] : routes_) topics.push_back(topic);
  return topics;
}

}  // namespace cometmq::client
