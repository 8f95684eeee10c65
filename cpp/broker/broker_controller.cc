#include "cpp/broker/broker_controller.h"

#include <pthread.h>

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "cpp/broker/net_address.h"
#include "cpp/broker/runtime_config.h"
#include "cpp/broker/transactional_message.h"
#include "cpp/common/monotonic_clock.h"
#include "spdlog/spdlog.h"

namespace cometmq::broker {
namespace {

using remoting::Command;

constexpr size_t kSendQueueCapacity = 10000;
constexpr size_t kPullQueueCapacity = 100000;
constexpr size_t kAdminQueueCapacity = 1000;
// How long a stop waits for the consumers whose held pulls it answered to
// pull again (with their latest commit offset). They do at once unless
// their flow control holds them back.
constexpr absl::Duration kStopRepullWait = absl::Seconds(2);

std::string RepullKey(const std::string& remote,
                      const proto::PullMessageRequest& pull) {
  return absl::StrCat(remote, "|", pull.consumer_group(), "|", pull.topic(),
                      "|", pull.queue_id());
}

// Tells a consumer its group changed so it rebalances at once instead of at
// its next 20 s round.
void NotifyConsumerIdsChanged(const ClientChannel& member,
                              const std::string& group) {
  std::shared_ptr<remoting::Connection> connection = member.connection.lock();
  if (connection == nullptr) return;
  Command notify = remoting::MakeRequest(proto::NOTIFY_CONSUMER_IDS_CHANGED);
  notify.header.set_flags(proto::FLAG_ONEWAY);
  notify.header.mutable_notify_consumer_ids_changed()->set_consumer_group(
      group);
  if (absl::Status s = connection->Send(std::move(notify)); !s.ok()) {
    spdlog::info("cannot notify {} of group {} change: {}", member.client_id,
                 group, s.ToString());
  }
}

}  // namespace

BrokerController::BrokerController(BrokerConfig config)
    : config_(std::move(config)),
      topics_(config_.TopicsPath(), config_.defaultTopicQueueNums),
      groups_(config_.SubscriptionGroupsPath(),
              config_.autoCreateSubscriptionGroup),
      offsets_(config_.ConsumerOffsetsPath()),
      clients_(absl::Milliseconds(config_.clientChannelExpiredMillis),
               NotifyConsumerIdsChanged),
      locks_(absl::Milliseconds(config_.rebalanceLockMaxLiveTime)),
      holds_([this](absl::string_view topic, int32_t queue_id) {
        return store_->MaxOffsetInQueue(topic, queue_id);
      }),
      schedule_(config_.delay_levels, config_.DelayOffsetPath(),
                absl::Milliseconds(config_.flushDelayOffsetInterval)),
      transaction_check_(
          TransactionCheckOptions{
              absl::Milliseconds(config_.transactionTimeOut),
              absl::Milliseconds(config_.transactionCheckInterval),
              config_.transactionCheckMax},
          &offsets_,
          [this](const std::string& group, Command check) {
            return SendTransactionCheck(group, std::move(check));
          },
          [this] {
            return topics_.CreateOnSend(kTransCheckMaxTimeTopic, 1).status();
          }) {}

BrokerController::~BrokerController() { Shutdown(); }

uint16_t BrokerController::port() const {
  return server_ != nullptr ? server_->port() : 0;
}

absl::Status BrokerController::Start() {
  absl::MutexLock lock(&lifecycle_mu_);
  if (started_) return absl::FailedPreconditionError("broker already started");
  started_ = true;
  if (absl::Status s = config_.Validate(); !s.ok()) return s;
  if (absl::Status s = topics_.Load(); !s.ok()) return s;
  if (absl::Status s = groups_.Load(); !s.ok()) return s;
  if (absl::Status s = offsets_.Load(); !s.ok()) return s;
  if (absl::Status s = schedule_.Load(); !s.ok()) return s;

  // The server starts first because the store stamps records with the port
  // actually served (tests use port 0); until serving_ is set every request
  // is refused, so no handler sees a half-built broker.
  remoting::ServerOptions options;
  options.name = "broker";
  options.bind_address = config_.bindAddress;
  options.port = static_cast<uint16_t>(config_.listenPort);
  options.io_threads = config_.serverSelectorThreads;
  options.connection.idle_timeout =
      absl::Seconds(config_.serverChannelMaxIdleTimeSeconds);
  server_ = std::make_unique<remoting::RemotingServer>(options);
  RegisterHandlers();
  server_->SetCloseListener([this](const std::string& remote) {
    clients_.OnConnectionClosed(remote);
  });
  if (absl::Status s = server_->Start(); !s.ok()) return s;
  broker_addr_ = absl::StrCat(config_.brokerIP1, ":", server_->port());
  // listenPort 0 (tests) picks any free port, so the HA port is any too.
  const int ha_port = config_.haListenPort > 0  ? config_.haListenPort
                      : config_.listenPort == 0 ? 0
                                                : config_.listenPort + 1;

  store::StoreHooks hooks;
  if (!ParseIpv4(config_.brokerIP1, &hooks.store_ip)) {
    spdlog::warn(
        "brokerIP1 {} is not an IPv4 address; message ids will carry "
        "127.0.0.1",
        config_.brokerIP1);
    hooks.store_ip = 0x7f000001;
  }
  hooks.store_port = server_->port();
  hooks.on_append = [this](int64_t end_offset) {
    if (HaMaster* ha = ha_master_ptr_.load()) ha->OnAppended(end_offset);
  };
  if (config_.store.sync_master()) {
    hooks.wait_for_replicas =
        [this](int64_t end_offset, std::function<void(store::PutStatus)> done) {
          HaMaster* ha = ha_master_ptr_.load();
          if (ha == nullptr) return done(store::PutStatus::kSlaveNotAvailable);
          ha->WaitForSlave(end_offset, std::move(done));
        };
  }
  hooks.on_arrival = [this](const std::string& topic, int32_t queue_id,
                            int64_t max_offset) {
    if (topic == kScheduleTopic) schedule_.Wake();
    holds_.OnArrival(topic, queue_id, max_offset);
  };
  // For SCHEDULE_TOPIC_XXXX the consume-queue tag field is the deliver time.
  hooks.tags_code = [levels = config_.delay_levels](const RecordView& r) {
    if (r.topic == kScheduleTopic) return levels.DeliverTimestamp(r);
    std::optional<absl::string_view> tags =
        FindProperty(r.properties, kPropertyTags);
    return tags.has_value() ? TagsHashCode(*tags) : int64_t{0};
  };
  absl::StatusOr<std::unique_ptr<store::MessageStore>> store =
      store::MessageStore::Open(config_.store, std::move(hooks));
  if (!store.ok()) {
    server_->Stop();
    return store.status();
  }
  store_ = *std::move(store);
  if (store_->recovered_from_crash()) {
    spdlog::warn("the last shutdown was not clean; the store was recovered");
  }
  if (!config_.slave()) {
    HaMasterOptions ha;
    ha.bind_address = config_.bindAddress;
    ha.port = static_cast<uint16_t>(ha_port);
    ha.slave_ack_timeout = absl::Milliseconds(config_.store.slaveTimeout);
    ha.max_gap_not_in_sync = config_.haMaxGapNotInSync;
    ha.slave_expiry = absl::Milliseconds(config_.haHousekeepingInterval);
    ha.segment_size = config_.store.mappedFileSizeCommitLog;
    ha_master_ = std::make_unique<HaMaster>(ha, store_.get());
    if (absl::Status s = ha_master_->Start(); !s.ok()) {
      server_->Stop();
      store_->Shutdown();
      return s;
    }
    ha_master_ptr_.store(ha_master_.get());
  }
  const std::string ha_addr = absl::StrCat(
      config_.brokerIP1, ":", ha_master_ != nullptr ? ha_master_->port() : 0);

  send_pool_ = std::make_unique<ThreadPool>(
      "broker-send", config_.sendMessageThreadPoolNums, kSendQueueCapacity);
  pull_pool_ = std::make_unique<ThreadPool>(
      "broker-pull", config_.pullMessageThreadPoolNums, kPullQueueCapacity);
  admin_pool_ =
      std::make_unique<ThreadPool>("broker-admin", 1, kAdminQueueCapacity);
  send_ = std::make_unique<SendProcessor>(config_, store_.get(), &topics_,
                                          &groups_, send_pool_.get());
  send_back_ = std::make_unique<SendBackProcessor>(
      config_, store_.get(), &topics_, &groups_, send_pool_.get());
  end_transaction_ = std::make_unique<EndTransactionProcessor>(
      config_, store_.get(), send_pool_.get());
  pull_ =
      std::make_unique<PullProcessor>(config_, store_.get(), &topics_, &groups_,
                                      &offsets_, &holds_, pull_pool_.get());
  pull_->SetStopAnswerListener(
      [this](const proto::PullMessageRequest& pull, const std::string& remote) {
        absl::MutexLock lock(&drain_mu_);
        awaiting_repull_.insert(RepullKey(remote, pull));
      });
  client_ = std::make_unique<ClientProcessor>(config_, &clients_, &groups_,
                                              &offsets_, &topics_, &locks_);
  admin_ = std::make_unique<AdminProcessor>(
      config_, store_.get(), &topics_, &offsets_, &groups_, &schedule_,
      &clients_, admin_pool_.get(), [this] { return RuntimeInfo(); },
      [this] {
        if (registrar_) registrar_->RegisterAll();
      },
      [this](const std::string& key, const std::string& value) {
        return UpdateConfig(key, value);
      });
  holds_.Start();
  // Delayed messages are delivered and transactions checked by the master;
  // a slave gets their results through replication.
  if (!config_.slave()) {
    schedule_.Start(store_.get());
    transaction_check_.Start(store_.get());
  }
  housekeeping_ = std::thread([this] { HousekeepingLoop(); });

  registrar_ = std::make_unique<BrokerRegistrar>(config_, broker_addr_, ha_addr,
                                                 &topics_);
  topics_.SetChangeListener([this] { registrar_->Trigger(); });
  // Replication objects exist before requests are served (runtime info
  // reads them).
  if (absl::Status s = StartReplication(); !s.ok()) return s;
  serving_.store(true);
  registrar_->Start();
  spdlog::info("broker {} serving at {} (HA {}), name servers: {}",
               config_.brokerName, broker_addr_, ha_addr,
               absl::StrJoin(registrar_->namesrv_addrs(), ";"));
  return absl::OkStatus();
}

absl::Status BrokerController::UpdateConfig(const std::string& key,
                                            const std::string& value) {
  absl::MutexLock lock(&update_mu_);
  absl::StatusOr<BrokerConfig> updated = ConfigWithUpdate(config_, key, value);
  if (!updated.ok()) return updated.status();
  // The file first: a change that cannot be written is not made, so the
  // broker never runs with what it would forget at its next start.
  if (!config_.configFilePath.empty()) {
    if (absl::Status s = PersistProperty(config_.configFilePath, key, value);
        !s.ok()) {
      spdlog::error("updateBrokerConfig {}={} not applied: {}", key, value,
                    s.ToString());
      return s;
    }
  } else {
    spdlog::warn(
        "updateBrokerConfig {}={}: the broker was started without a config "
        "file (-c); the change lasts until it stops",
        key, value);
  }
  const int32_t old_perm = config_.brokerPermission.load();
  ApplyRuntimeKeys(*updated, &config_);
  spdlog::info("broker configuration updated: {}={}", key, value);
  // Producers learn a permission from the NameServers' routes: register
  // now rather than at the next interval (up to 30 s of refused sends).
  if (config_.brokerPermission.load() != old_perm && registrar_) {
    registrar_->RegisterAll();
  }
  return absl::OkStatus();
}

void BrokerController::RegisterHandlers() {
  std::vector<int32_t> codes = {
      proto::SEND_MESSAGE, proto::SEND_BATCH_MESSAGE, proto::PULL_MESSAGE,
      proto::CONSUMER_SEND_MSG_BACK, proto::END_TRANSACTION};
  for (int32_t code : ClientProcessor::Codes()) codes.push_back(code);
  for (int32_t code : AdminProcessor::Codes()) codes.push_back(code);
  for (int32_t code : codes) {
    server_->RegisterHandler(
        code, [this](Command&& request, remoting::Responder responder) {
          Dispatch(std::move(request), std::move(responder));
        });
  }
}

void BrokerController::Dispatch(Command&& request,
                                remoting::Responder responder) {
  if (!serving_.load()) {
    if (draining_.load() && DispatchWhileDraining(request, responder)) return;
    Command refused =
        remoting::MakeResponse(request, proto::SERVICE_NOT_AVAILABLE,
                               absl::StrCat("the broker[", config_.brokerName,
                                            "] is starting or shutting down"));
    if (request.header.code() == proto::PULL_MESSAGE) {
      refused.header.mutable_pull_message_response();
    }
    responder.Respond(std::move(refused));
    return;
  }
  switch (request.header.code()) {
    case proto::SEND_MESSAGE:
    case proto::SEND_BATCH_MESSAGE:
      send_->Handle(std::move(request), std::move(responder));
      return;
    case proto::PULL_MESSAGE:
      pull_->Handle(std::move(request), std::move(responder));
      return;
    case proto::CONSUMER_SEND_MSG_BACK:
      send_back_->Handle(std::move(request), std::move(responder));
      return;
    case proto::END_TRANSACTION:
      end_transaction_->Handle(std::move(request), std::move(responder));
      return;
    default:
      break;
  }
  for (int32_t code : ClientProcessor::Codes()) {
    if (code == request.header.code()) {
      client_->Handle(std::move(request), std::move(responder));
      return;
    }
  }
  admin_->Handle(std::move(request), std::move(responder));
}

bool BrokerController::DispatchWhileDraining(Command& request,
                                             remoting::Responder& responder) {
  // Null only after a failed Start(), whose server is stopped already.
  if (pull_ == nullptr || client_ == nullptr) return false;
  const int32_t code = request.header.code();
  if (code == proto::PULL_MESSAGE) {
    if (request.header.has_pull_message()) {
      absl::MutexLock lock(&drain_mu_);
      awaiting_repull_.erase(
          RepullKey(responder.remote_address(), request.header.pull_message()));
    }
    pull_->HandleWhileStopping(std::move(request), std::move(responder));
    return true;
  }
  // Heartbeats, unregistrations, offset commits and queries, queue locks:
  // memory only, and a commit refused now would be lost (a periodic commit
  // is one-way, so the consumer never learns it was refused).
  for (int32_t client_code : ClientProcessor::Codes()) {
    if (code == client_code) {
      client_->Handle(std::move(request), std::move(responder));
      return true;
    }
  }
  return false;
}

void BrokerController::DrainConsumers() {
  holds_.Shutdown();
  absl::MutexLock lock(&drain_mu_);
  auto all_pulled_again = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(drain_mu_) {
    return awaiting_repull_.empty();
  };
  if (!drain_mu_.AwaitWithTimeout(absl::Condition(&all_pulled_again),
                                  kStopRepullWait)) {
    spdlog::info(
        "{} consumer queues did not pull again within {} of the stop; their "
        "commits since their last pull or commit are not kept",
        awaiting_repull_.size(), absl::FormatDuration(kStopRepullWait));
  }
  awaiting_repull_.clear();
}

bool BrokerController::SendTransactionCheck(const std::string& group,
                                            Command check) {
  std::optional<ClientChannel> producer = clients_.LiveProducer(group);
  if (!producer.has_value()) return false;
  std::shared_ptr<remoting::Connection> connection =
      producer->connection.lock();
  if (connection == nullptr) return false;
  if (absl::Status s = connection->Send(std::move(check)); !s.ok()) {
    spdlog::info("cannot send a transaction check to {} of group {}: {}",
                 producer->client_id, group, s.ToString());
    return false;
  }
  return true;
}

void BrokerController::HousekeepingLoop() {
  pthread_setname_np(pthread_self(), "broker-housekp");
  const absl::Duration interval =
      absl::Milliseconds(config_.flushConsumerOffsetInterval);
  while (true) {
    {
      absl::MutexLock lock(&housekeeping_mu_);
      const absl::Time deadline = absl::Now() + interval;
      while (!housekeeping_stop_ &&
             !housekeeping_cv_.WaitWithDeadline(&housekeeping_mu_, deadline)) {
      }
      if (housekeeping_stop_) return;
    }
    PersistState();
    std::vector<std::string> expired = clients_.ScanExpired(MonotonicNow());
    if (!expired.empty()) {
      spdlog::info("clients not heard from in {} ms removed: {}",
                   config_.clientChannelExpiredMillis,
                   absl::StrJoin(expired, ", "));
    }
  }
}

void BrokerController::PersistState() {
  if (absl::Status s = offsets_.Persist(); !s.ok()) {
    spdlog::error("cannot persist consumer offsets: {}", s.ToString());
  }
  if (absl::Status s = groups_.Persist(); !s.ok()) {
    spdlog::error("cannot persist subscription groups: {}", s.ToString());
  }
}

absl::Status BrokerController::StartReplication() {
  if (!config_.slave()) return absl::OkStatus();
  HaSlaveOptions ha;
  ha.broker_name = config_.brokerName;
  ha.broker_id = config_.brokerId;
  ha.slave_addr = broker_addr_;
  ha.batch_bytes = config_.haTransferBatchSize;
  ha.idle_wait = absl::Milliseconds(config_.haIdleWaitMillis);
  ha.master_ha_addr = [this] {
    return config_.haMasterAddress.empty() ? registrar_->master_ha_addr()
                                           : config_.haMasterAddress;
  };
  ha.on_no_master = [this] { registrar_->Trigger(); };
  ha_slave_ = std::make_unique<HaSlave>(ha, store_.get());
  ha_slave_->Start();
  slave_sync_ = std::make_unique<SlaveSync>(
      absl::Milliseconds(config_.slaveSyncIntervalMillis),
      [this] { return registrar_->master_addr(); }, &topics_, &offsets_,
      &groups_, &schedule_, store_.get());
  slave_sync_->Start();
  return absl::OkStatus();
}

void BrokerController::StopReplication() {
  if (slave_sync_ != nullptr) slave_sync_->Stop();
  if (ha_slave_ != nullptr) ha_slave_->Stop();
  if (ha_master_ != nullptr) {
    // Nothing is written any more: let connected slaves take the rest, so a
    // graceful stop of an ASYNC_MASTER loses nothing it acknowledged.
    ha_master_->WaitForSlavesAt(store_->MaxPhysicalOffset(), absl::Seconds(5));
    ha_master_ptr_.store(nullptr);
    ha_master_->Stop();
  }
}

std::map<std::string, std::string> BrokerController::RuntimeInfo() const {
  std::map<std::string, std::string> table{
      {"msgPutTotal", absl::StrCat(send_->messages_put())},
      {"msgGetTotal", absl::StrCat(pull_->messages_got())},
      {"heldPullRequests", absl::StrCat(holds_.held())},
      {"delayedDelivered", absl::StrCat(schedule_.delivered())},
      {"transactionCommitted", absl::StrCat(end_transaction_->committed())},
      {"transactionRolledBack", absl::StrCat(end_transaction_->rolled_back())},
      {"transactionChecks", absl::StrCat(transaction_check_.checks())},
      {"transactionDiscarded", absl::StrCat(transaction_check_.discarded())}};
  AddReplicationInfo(&table);
  return table;
}

void BrokerController::AddReplicationInfo(
    std::map<std::string, std::string>* table) const {
  if (ha_slave_ != nullptr) {
    ReplicationStatus st = ha_slave_->Status();
    (*table)["haMasterAddress"] = st.master_ha_addr;
    (*table)["haConnected"] = st.connected ? "true" : "false";
    (*table)["haReplicatedOffset"] = absl::StrCat(st.offset);
    (*table)["haMasterMaxOffset"] = absl::StrCat(st.master_max_offset);
    (*table)["haLagBytes"] =
        absl::StrCat(std::max<int64_t>(0, st.master_max_offset - st.offset));
    if (!st.last_error.empty()) (*table)["haLastError"] = st.last_error;
    (*table)["slaveSyncRounds"] = absl::StrCat(slave_sync_->rounds());
    return;
  }
  if (ha_master_ == nullptr) return;
  const int64_t end = store_->MaxPhysicalOffset();
  std::vector<SlaveStatus> slaves = ha_master_->Slaves();
  (*table)["haSlaveCount"] = absl::StrCat(slaves.size());
  for (const SlaveStatus& slave : slaves) {
    const std::string prefix = absl::StrCat("haSlave", slave.broker_id);
    (*table)[prefix + "Addr"] = slave.slave_addr;
    (*table)[prefix + "AckOffset"] = absl::StrCat(slave.acked_offset);
    (*table)[prefix + "LagBytes"] = absl::StrCat(end - slave.acked_offset);
    // Walks record headers; capped so a far-behind slave stays cheap.
    constexpr int64_t kMaxCounted = 1000000;
    const int64_t counted = store_->commit_log().CountRecords(
        std::max(slave.acked_offset, store_->MinPhysicalOffset()), end,
        kMaxCounted);
    (*table)[prefix + "LagMessages"] = counted >= kMaxCounted
                                           ? absl::StrCat(">=", kMaxCounted)
                                           : absl::StrCat(counted);
  }
}

void BrokerController::Shutdown() {
  absl::MutexLock lock(&lifecycle_mu_);
  if (!started_ || stopped_) return;
  stopped_ = true;
  spdlog::info("broker {} stopping: leaving the name servers",
               config_.brokerName);
  if (registrar_ != nullptr) registrar_->Stop();
  draining_.store(true);
  serving_.store(false);
  // Held pulls are answered while their connections are still open.
  DrainConsumers();
  draining_.store(false);
  transaction_check_.Shutdown();
  for (ThreadPool* pool :
       {send_pool_.get(), pull_pool_.get(), admin_pool_.get()}) {
    if (pool != nullptr) pool->Shutdown();
  }
  if (server_ != nullptr) server_->Stop();
  if (housekeeping_.joinable()) {
    {
      absl::MutexLock hk(&housekeeping_mu_);
      housekeeping_stop_ = true;
      housekeeping_cv_.Signal();
    }
    housekeeping_.join();
  }
  schedule_.Shutdown();
  StopReplication();
  if (store_ != nullptr) store_->Shutdown();
  // The store's shutdown flushed the copies re-put last: their progress
  // may be written now.
  if (absl::Status s = schedule_.Persist(); !s.ok()) {
    spdlog::error("cannot persist delay offsets: {}", s.ToString());
  }
  PersistState();
  spdlog::info("broker {} shut down", config_.brokerName);
}

}  // namespace cometmq::broker
