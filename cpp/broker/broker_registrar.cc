#include "cpp/broker/broker_registrar.h"

#include <pthread.h>

#include <algorithm>
#include <utility>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/blocking_counter.h"
#include "absl/time/clock.h"
#include "cpp/common/namesrv_addr.h"
#include "spdlog/spdlog.h"

namespace cometmq::broker {
namespace {

constexpr absl::Duration kRequestTimeout = absl::Seconds(3);

remoting::ClientOptions RegistrarClientOptions() {
  remoting::ClientOptions options;
  options.name = "broker-outapi";
  return options;
}

// True for a registration the NameServer took; logs any other outcome.
bool Accepted(const std::string& addr,
              const absl::StatusOr<remoting::Command>& response, size_t part,
              size_t parts) {
  const std::string what =
      parts > 1 ? absl::StrCat(" (part ", part + 1, " of ", parts, ")") : "";
  if (!response.ok()) {
    spdlog::warn("register broker to name server {} failed{}: {}", addr, what,
                 response.status().ToString());
    return false;
  }
  if (response->header.status() != proto::SUCCESS) {
    spdlog::warn("name server {} refused the registration{}: {}", addr, what,
                 response->header.remark());
    return false;
  }
  return true;
}

}  // namespace

std::vector<proto::RegisterBrokerRequest> SplitRegistration(
    const proto::RegisterBrokerRequest& base,
    std::vector<proto::TopicConfig> topics, int32_t split_size,
    uint64_t round_id) {
  const size_t per_part = static_cast<size_t>(std::max(split_size, 1));
  const size_t part_count =
      std::max<size_t>(1, (topics.size() + per_part - 1) / per_part);
  std::vector<proto::RegisterBrokerRequest> parts(part_count, base);
  for (size_t i = 0; i < topics.size(); ++i) {
    *parts[i / per_part].add_topic_configs() = std::move(topics[i]);
  }
  if (part_count > 1) {
    for (size_t i = 0; i < part_count; ++i) {
      parts[i].set_round_id(round_id);
      parts[i].set_part_index(static_cast<int32_t>(i));
      parts[i].set_part_count(static_cast<int32_t>(part_count));
    }
  }
  return parts;
}

BrokerRegistrar::BrokerRegistrar(const BrokerConfig& config,
                                 std::string broker_addr, std::string ha_addr,
                                 const TopicConfigManager* topics)
    : config_(config),
      broker_addr_(std::move(broker_addr)),
      ha_addr_(std::move(ha_addr)),
      topics_(topics),
      addrs_(SplitNamesrvAddr(config.namesrvAddr)),
      client_(RegistrarClientOptions()),
      next_round_id_(absl::Uniform<uint64_t>(absl::BitGen())) {}

BrokerRegistrar::~BrokerRegistrar() { Stop(); }

void BrokerRegistrar::Start() {
  if (started_) return;
  started_ = true;
  RegisterAll();
  thread_ = std::thread([this] { Loop(); });
}

void BrokerRegistrar::Trigger() {
  absl::MutexLock lock(&mu_);
  triggered_ = true;
  cv_.Signal();
}

void BrokerRegistrar::Stop() {
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return;
    stopping_ = true;
    cv_.Signal();
  }
  if (thread_.joinable()) thread_.join();
  if (started_) {
    // After any registration in progress (an admin's topic update runs one
    // on its own thread), which would otherwise put the broker back.
    absl::MutexLock serialized(&register_mu_);
    UnregisterAll();
  }
  client_.Shutdown();
}

bool BrokerRegistrar::stopping() const {
  absl::MutexLock lock(&mu_);
  return stopping_;
}

void BrokerRegistrar::Loop() {
  pthread_setname_np(pthread_self(), "broker-register");
  const absl::Duration interval =
      absl::Milliseconds(config_.registerBrokerIntervalMillis);
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      const absl::Time deadline = absl::Now() + interval;
      while (!stopping_ && !triggered_ &&
             !cv_.WaitWithDeadline(&mu_, deadline)) {
      }
      if (stopping_) return;
      triggered_ = false;
    }
    RegisterAll();
  }
}

void BrokerRegistrar::RegisterAll() {
  absl::MutexLock serialized(&register_mu_);
  if (stopping()) return;
  auto parts =
      std::make_shared<const std::vector<remoting::Command>>(BuildRound());
  // Every NameServer at once; each callback runs exactly once, by the
  // timeout at the latest, so the wait ends within about one timeout after
  // the last part was sent.
  std::vector<std::optional<proto::RegisterBrokerResponse>> answers(
      addrs_.size());
  absl::BlockingCounter outstanding(static_cast<int>(addrs_.size()));
  for (size_t i = 0; i < addrs_.size(); ++i) {
    SendParts(addrs_[i], parts, 0, &answers[i], &outstanding);
  }
  outstanding.Wait();
  // In namesrvAddr order whatever order they came in, so a slave's master
  // does not depend on which NameServer happened to answer last.
  for (const auto& answer : answers) {
    if (answer.has_value()) RememberMaster(*answer);
  }
}

std::vector<remoting::Command> BrokerRegistrar::BuildRound() {
  proto::RegisterBrokerRequest base;
  base.set_cluster(config_.brokerClusterName);
  base.set_broker_name(config_.brokerName);
  base.set_broker_id(config_.brokerId);
  base.set_broker_addr(broker_addr_);
  base.set_ha_server_addr(ha_addr_);
  TopicConfigManager::Table table = topics_->Snapshot();
  base.set_data_version(table.data_version);
  // The broker's own permission caps every topic's, as in RocketMQ; read
  // once, so one round never mixes two values of a run-time change.
  const int32_t broker_perm = config_.brokerPermission.load();
  for (proto::TopicConfig& topic : table.topics) {
    topic.set_perm(topic.perm() & broker_perm);
  }
  std::vector<remoting::Command> round;
  for (proto::RegisterBrokerRequest& part :
       SplitRegistration(base, std::move(table.topics),
                         config_.splitRegistrationSize, next_round_id_++)) {
    remoting::Command request = remoting::MakeRequest(proto::REGISTER_BROKER);
    *request.header.mutable_register_broker() = std::move(part);
    round.push_back(std::move(request));
  }
  return round;
}

void BrokerRegistrar::SendParts(
    const std::string& addr,
    std::shared_ptr<const std::vector<remoting::Command>> parts, size_t index,
    std::optional<proto::RegisterBrokerResponse>* answer,
    absl::BlockingCounter* outstanding) {
  remoting::Command request = (*parts)[index];
  client_.InvokeAsync(
      addr, std::move(request), kRequestTimeout,
      [this, addr, parts = std::move(parts), index, answer,
       outstanding](absl::StatusOr<remoting::Command>&& response) mutable {
        if (!Accepted(addr, response, index, parts->size())) {
          // The NameServer removes nothing for an unfinished round.
          outstanding->DecrementCount();
          return;
        }
        *answer = response->header.register_broker_response();
        if (index + 1 == parts->size()) {
          spdlog::debug("registered to name server {} ({} requests)", addr,
                        parts->size());
          outstanding->DecrementCount();
          return;
        }
        if (stopping()) {
          // The unregistration follows; a stop does not wait for the rest.
          outstanding->DecrementCount();
          return;
        }
        SendParts(addr, std::move(parts), index + 1, answer, outstanding);
      });
}

void BrokerRegistrar::RememberMaster(
    const proto::RegisterBrokerResponse& answer) {
  if (config_.brokerId == 0) return;
  absl::MutexLock lock(&master_mu_);
  if (answer.master_addr() != master_addr_) {
    spdlog::info(
        "master of {} is now {} (HA {})", config_.brokerName,
        answer.master_addr().empty() ? "unknown" : answer.master_addr(),
        answer.ha_server_addr());
  }
  master_addr_ = answer.master_addr();
  master_ha_addr_ = answer.ha_server_addr();
}

std::string BrokerRegistrar::master_addr() const {
  absl::MutexLock lock(&master_mu_);
  return master_addr_;
}

std::string BrokerRegistrar::master_ha_addr() const {
  absl::MutexLock lock(&master_mu_);
  return master_ha_addr_;
}

void BrokerRegistrar::UnregisterAll() {
  remoting::Command request = remoting::MakeRequest(proto::UNREGISTER_BROKER);
  proto::UnregisterBrokerRequest* un =
      request.header.mutable_unregister_broker();
  un->set_cluster(config_.brokerClusterName);
  un->set_broker_name(config_.brokerName);
  un->set_broker_id(config_.brokerId);
  un->set_broker_addr(broker_addr_);
  // All at once: NameServers that do not answer cost one request timeout
  // together, not one each, so the stop that waits here stays short.
  absl::BlockingCounter outstanding(static_cast<int>(addrs_.size()));
  for (const std::string& addr : addrs_) {
    // The callback runs exactly once, by the timeout at the latest.
    client_.InvokeAsync(
        addr, request, kRequestTimeout,
        [addr, &outstanding](absl::StatusOr<remoting::Command>&& response) {
          if (!response.ok()) {
            spdlog::warn("unregister from name server {} failed: {}", addr,
                         response.status().ToString());
          } else if (response->header.status() != proto::SUCCESS) {
            spdlog::warn("name server {} refused the unregistration: {}", addr,
                         response->header.remark());
          } else {
            spdlog::info("unregistered from name server {}", addr);
          }
          outstanding.DecrementCount();
        });
  }
  outstanding.Wait();
}

}  // namespace cometmq::broker
