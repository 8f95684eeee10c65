#include "cpp/client/client_instance.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <utility>

#include "absl/strings/str_cat.h"
#include "cpp/client/client_error.h"
#include "cpp/client/message_id.h"
#include "cpp/common/version.h"
#include "spdlog/spdlog.h"

namespace cometmq::client {
namespace {

struct Registry {
  absl::Mutex mu;
  absl::flat_hash_map<std::string, std::weak_ptr<ClientInstance>> instances
      ABSL_GUARDED_BY(mu);
};

Registry& GlobalRegistry() {
  static Registry* registry = new Registry();
  return *registry;
}

std::string NewClientId(const std::string& instance_name) {
  static std::atomic<int> counter{0};
  return absl::StrCat(Ipv4ToString(LocalIpv4()), "@", getpid(), "@",
                      instance_name, "@", counter.fetch_add(1));
}

}  // namespace

absl::StatusOr<std::shared_ptr<ClientInstance>> ClientInstance::Get(
    const ClientConfig& config) {
  if (absl::Status s = ValidateNamesrvAddr(config.namesrv_addr); !s.ok()) {
    return s;
  }
  Registry& registry = GlobalRegistry();
  absl::MutexLock lock(&registry.mu);
  std::weak_ptr<ClientInstance>& slot = registry.instances[absl::StrCat(
      config.namesrv_addr, "|", config.instance_name)];
  if (std::shared_ptr<ClientInstance> live = slot.lock()) return live;
  std::shared_ptr<ClientInstance> instance(new ClientInstance(config));
  instance->Start();
  slot = instance;
  return instance;
}

ClientInstance::ClientInstance(ClientConfig config)
    : config_(std::move(config)),
      client_id_(NewClientId(config_.instance_name)) {
  remoting::ClientOptions options;
  options.name = "client-io";
  remoting_ = std::make_unique<remoting::RemotingClient>(options);
  routes_ = std::make_unique<RouteCache>(remoting_.get(),
                                         SplitNamesrvAddr(config_.namesrv_addr),
                                         config_.request_timeout);
}

void ClientInstance::Start() {
  remoting_->RegisterHandler(
      proto::NOTIFY_CONSUMER_IDS_CHANGED,
      [this](const std::string&, remoting::Command request) {
        OnNotifyConsumerIdsChanged(request);
      });
  remoting_->RegisterHandler(
      proto::RESET_CONSUMER_CLIENT_OFFSET,
      [this](const std::string&, remoting::Command request) {
        OnResetConsumerOffset(request);
      });
  remoting_->RegisterHandler(
      proto::CHECK_TRANSACTION_STATE,
      [this](const std::string& address, remoting::Command request) {
        OnCheckTransactionState(address, std::move(request));
      });
  scheduler_ = std::make_unique<Scheduler>("client-timer");
  deferred_ = std::make_unique<Scheduler>("client-defer");
  callbacks_ = std::make_unique<CallbackExecutor>("client-callback");
  scheduler_->SchedulePeriodic(config_.route_refresh_interval, [this] {
    routes_->RefreshAll();
    return true;
  });
  scheduler_->SchedulePeriodic(config_.heartbeat_interval, [this] {
    SendHeartbeats();
    return true;
  });
}

ClientInstance::~ClientInstance() {
  // Timer tasks use the remoting client: stop them first.
  scheduler_->Shutdown();
  deferred_->Shutdown();
  remoting_->Shutdown();
  // Last: the requests the remoting shutdown failed post their callbacks.
  callbacks_->Shutdown();
}

absl::Status ClientInstance::RegisterProducer(const std::string& group) {
  absl::MutexLock lock(&mu_);
  if (!producers_.insert(group).second) {
    return absl::AlreadyExistsError(absl::StrCat(
        "producer group ", group, " is already started in this client"));
  }
  return absl::OkStatus();
}

void ClientInstance::UnregisterProducer(const std::string& group) {
  {
    absl::MutexLock lock(&mu_);
    if (producers_.erase(group) == 0) return;
    transaction_checks_.erase(group);
  }
  SendUnregister(group, "");
}

absl::Status ClientInstance::RegisterConsumer(
    std::shared_ptr<ConsumerMember> consumer) {
  absl::MutexLock lock(&mu_);
  std::weak_ptr<ConsumerMember>& slot = consumers_[consumer->group()];
  if (!slot.expired()) {
    return absl::AlreadyExistsError(
        absl::StrCat("consumer group ", consumer->group(),
                     " is already started in this client"));
  }
  slot = consumer;
  return absl::OkStatus();
}

void ClientInstance::UnregisterConsumer(const ConsumerMember& consumer) {
  const std::string group = consumer.group();
  {
    absl::MutexLock lock(&mu_);
    auto it = consumers_.find(group);
    if (it == consumers_.end() || it->second.lock().get() != &consumer) return;
    consumers_.erase(it);
  }
  SendUnregister("", group);
}

absl::Status ClientInstance::RegisterTransactionCheck(
    const std::string& group, TransactionCheckHandler handler) {
  absl::MutexLock lock(&mu_);
  if (!producers_.contains(group)) {
    return absl::FailedPreconditionError(
        absl::StrCat("producer group ", group, " is not started"));
  }
  transaction_checks_[group] = std::move(handler);
  return absl::OkStatus();
}

void ClientInstance::UnregisterTransactionCheck(const std::string& group) {
  absl::MutexLock lock(&mu_);
  transaction_checks_.erase(group);
}

void ClientInstance::OnCheckTransactionState(const std::string& broker_addr,
                                             remoting::Command request) {
  const std::string& group =
      request.header.check_transaction_state().producer_group();
  TransactionCheckHandler handler;
  {
    absl::MutexLock lock(&mu_);
    auto it = transaction_checks_.find(group);
    if (it != transaction_checks_.end()) handler = it->second;
  }
  if (!handler) {
    spdlog::warn(
        "transaction check from {} for producer group '{}', which has no "
        "transaction producer in this client",
        broker_addr, group);
    return;
  }
  handler(broker_addr, std::move(request));
}

proto::HeartbeatData ClientInstance::BuildHeartbeat() const {
  proto::HeartbeatData heartbeat;
  heartbeat.set_client_id(client_id_);
  heartbeat.set_language(kClientLanguage);
  heartbeat.set_version(kVersion);
  std::vector<std::shared_ptr<ConsumerMember>> consumers;
  {
    absl::MutexLock lock(&mu_);
    for (const std::string& group : producers_) {
      heartbeat.add_producers()->set_group(group);
    }
    for (const auto& [group, weak] : consumers_) {
      if (auto consumer = weak.lock()) consumers.push_back(std::move(consumer));
    }
  }
  // Outside mu_: consumers take their own locks.
  for (const auto& consumer : consumers) {
    *heartbeat.add_consumers() = consumer->HeartbeatData();
  }
  return heartbeat;
}

void ClientInstance::SendHeartbeats() {
  proto::HeartbeatData heartbeat = BuildHeartbeat();
  if (heartbeat.producers().empty() && heartbeat.consumers().empty()) return;
  bool checked = false;
  {
    absl::MutexLock lock(&mu_);
    checked = !transaction_checks_.empty();
  }
  if (checked) {
    // A transaction producer must be reachable by every broker that may
    // hold its group's halves, including halves an earlier process of the
    // group left open (resolving those is what checks are for), not only
    // by the brokers it sent to itself: as RocketMQ's producers heartbeat
    // every broker of the default topic's route.
    absl::StatusOr<proto::ClusterInfo> cluster =
        routes_->FetchClusterInfo(absl::Now() + config_.request_timeout);
    if (cluster.ok()) {
      absl::MutexLock lock(&mu_);
      for (const auto& [name, broker] : cluster->broker_table()) {
        heartbeat_targets_.insert(name);
      }
    } else {
      spdlog::warn("cannot list the brokers for transaction checks: {}",
                   cluster.status().ToString());
    }
  }
  // Slaves too: consumers that fail over to a slave are known there.
  std::vector<std::string> addrs = routes_->AllBrokerAddresses();
  AddTargetMasters(&addrs);
  for (const std::string& addr : addrs) {
    remoting::Command request = remoting::MakeRequest(proto::HEART_BEAT);
    *request.header.mutable_heartbeat() = heartbeat;
    absl::StatusOr<remoting::Command> response = remoting_->InvokeSync(
        addr, std::move(request), config_.request_timeout);
    absl::Status status =
        response.ok() ? ResponseStatus(*response) : response.status();
    if (!status.ok()) {
      spdlog::warn("heartbeat to {} failed: {}", addr, status.ToString());
    }
  }
}

void ClientInstance::AddTargetMasters(std::vector<std::string>* addrs) const {
  std::vector<std::string> targets;
  {
    absl::MutexLock lock(&mu_);
    targets.assign(heartbeat_targets_.begin(), heartbeat_targets_.end());
  }
  for (const std::string& name : targets) {
    absl::StatusOr<std::string> addr = routes_->MasterAddress(name);
    if (addr.ok() &&
        std::find(addrs->begin(), addrs->end(), *addr) == addrs->end()) {
      addrs->push_back(*addr);
    }
  }
}

void ClientInstance::AddHeartbeatTarget(const std::string& broker_name) {
  absl::MutexLock lock(&mu_);
  heartbeat_targets_.insert(broker_name);
}

void ClientInstance::SendUnregister(const std::string& producer_group,
                                    const std::string& consumer_group) {
  // Every master heartbeated: those of the cached routes and the targets.
  std::vector<std::string> addrs = routes_->AllMasterAddresses();
  AddTargetMasters(&addrs);
  for (const std::string& addr : addrs) {
    remoting::Command request = remoting::MakeRequest(proto::UNREGISTER_CLIENT);
    proto::UnregisterClientRequest* unregister =
        request.header.mutable_unregister_client();
    unregister->set_client_id(client_id_);
    unregister->set_producer_group(producer_group);
    unregister->set_consumer_group(consumer_group);
    absl::StatusOr<remoting::Command> response = remoting_->InvokeSync(
        addr, std::move(request), config_.request_timeout);
    if (!response.ok()) {
      spdlog::warn("unregister from {} failed: {}", addr,
                   response.status().ToString());
    }
  }
}

void ClientInstance::RequestRouteRefresh(const std::string& topic) {
  scheduler_->Schedule(absl::ZeroDuration(), [this, topic] {
    routes_->Refresh(topic).IgnoreError();
  });
}

void ClientInstance::RequestHeartbeat() {
  {
    absl::MutexLock lock(&mu_);
    if (heartbeat_requested_) return;
    heartbeat_requested_ = true;
  }
  scheduler_->Schedule(absl::ZeroDuration(), [this] {
    {
      absl::MutexLock lock(&mu_);
      heartbeat_requested_ = false;
    }
    SendHeartbeats();
  });
}

absl::StatusOr<remoting::Command> ClientInstance::CallBroker(
    const std::string& broker_name, remoting::Command request,
    absl::Duration timeout) {
  absl::StatusOr<std::string> addr = routes_->MasterAddress(broker_name);
  if (!addr.ok()) return addr.status();
  return remoting_->InvokeSync(*addr, std::move(request), timeout);
}

absl::StatusOr<remoting::Command> ClientInstance::CallBrokerForRead(
    const std::string& broker_name, remoting::Command request,
    absl::Duration timeout, std::string* address) {
  absl::StatusOr<std::string> addr = routes_->ReadAddress(broker_name);
  if (!addr.ok()) return addr.status();
  if (address != nullptr) *address = *addr;
  absl::StatusOr<remoting::Command> response =
      remoting_->InvokeSync(*addr, std::move(request), timeout);
  if (!response.ok()) routes_->MarkUnreachable(*addr);
  return response;
}

void ClientInstance::OnNotifyConsumerIdsChanged(
    const remoting::Command& request) {
  const std::string& group =
      request.header.notify_consumer_ids_changed().consumer_group();
  std::shared_ptr<ConsumerMember> consumer;
  {
    absl::MutexLock lock(&mu_);
    auto it = consumers_.find(group);
    if (it != consumers_.end()) consumer = it->second.lock();
  }
  if (consumer) consumer->OnConsumerIdsChanged();
}

void ClientInstance::OnResetConsumerOffset(const remoting::Command& request) {
  if (!request.header.has_reset_offset_table()) return;
  const proto::ResetOffsetTable& table = request.header.reset_offset_table();
  std::shared_ptr<ConsumerMember> consumer;
  {
    absl::MutexLock lock(&mu_);
    auto it = consumers_.find(table.group());
    if (it != consumers_.end()) consumer = it->second.lock();
  }
  if (consumer) consumer->OnResetOffset(table);
}

}  // namespace cometmq::client
