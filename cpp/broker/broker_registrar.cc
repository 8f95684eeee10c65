#include "cpp/broker/broker_registrar.h"

#include <pthread.h>

#include <utility>

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

}  // namespace

BrokerRegistrar::BrokerRegistrar(const BrokerConfig& config,
                                 std::string broker_addr, std::string ha_addr,
                                 const TopicConfigManager* topics)
    : config_(config),
      broker_addr_(std::move(broker_addr)),
      ha_addr_(std::move(ha_addr)),
      topics_(topics),
      addrs_(SplitNamesrvAddr(config.namesrvAddr)),
      client_(RegistrarClientOptions()) {}

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
  remoting::Command request = remoting::MakeRequest(proto::REGISTER_BROKER);
  proto::RegisterBrokerRequest* reg = request.header.mutable_register_broker();
  reg->set_cluster(config_.brokerClusterName);
  reg->set_broker_name(config_.brokerName);
  reg->set_broker_id(config_.brokerId);
  reg->set_broker_addr(broker_addr_);
  reg->set_ha_server_addr(ha_addr_);
  reg->set_data_version(topics_->data_version());
  for (proto::TopicConfig& topic : topics_->All()) {
    // The broker's own permission caps every topic's, as in RocketMQ.
    topic.set_perm(topic.perm() & config_.brokerPermission);
    *reg->add_topic_configs() = std::move(topic);
  }
  for (const std::string& addr : addrs_) {
    absl::StatusOr<remoting::Command> response =
        client_.InvokeSync(addr, request, kRequestTimeout);
    if (!response.ok()) {
      spdlog::warn("register broker to name server {} failed: {}", addr,
                   response.status().ToString());
    } else if (response->header.status() != proto::SUCCESS) {
      spdlog::warn("name server {} refused the registration: {}", addr,
                   response->header.remark());
    } else {
      spdlog::debug("registered to name server {} ({} topics)", addr,
                    reg->topic_configs_size());
      RememberMaster(response->header.register_broker_response());
    }
  }
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
