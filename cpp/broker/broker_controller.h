#ifndef COMETMQ_BROKER_BROKER_CONTROLLER_H_
#define COMETMQ_BROKER_BROKER_CONTROLLER_H_

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "cpp/broker/admin_processor.h"
#include "cpp/broker/broker_config.h"
#include "cpp/broker/broker_registrar.h"
#include "cpp/broker/client_manager.h"
#include "cpp/broker/client_processor.h"
#include "cpp/broker/consumer_offset_manager.h"
#include "cpp/broker/end_transaction_processor.h"
#include "cpp/broker/ha/ha_master.h"
#include "cpp/broker/ha/ha_slave.h"
#include "cpp/broker/long_polling.h"
#include "cpp/broker/pull_processor.h"
#include "cpp/broker/rebalance_lock_manager.h"
#include "cpp/broker/schedule_service.h"
#include "cpp/broker/send_back_processor.h"
#include "cpp/broker/send_processor.h"
#include "cpp/broker/slave_sync.h"
#include "cpp/broker/subscription_group_manager.h"
#include "cpp/broker/thread_pool.h"
#include "cpp/broker/topic_config_manager.h"
#include "cpp/broker/transaction_check_service.h"
#include "cpp/remoting/remoting_server.h"
#include "cpp/store/message_store.h"

namespace cometmq::broker {

// One broker: wires the configuration, the message store, the topic, group,
// offset and client managers, the request processors, delayed delivery, the
// remoting server, long polling, transaction check-back and NameServer
// registration.
//
// Start() once. Shutdown() (also run by the destructor) is graceful and
// idempotent, in this order (RocketMQ's, plus a drain):
//  1. unregister from every NameServer while still serving everything, so
//     routes fetched from now on (clients refresh on a failed send) leave
//     this broker out;
//  2. drain: sends, pulls and admin requests are answered
//     SERVICE_NOT_AVAILABLE (producers retry on another broker at once),
//     while the consumers' offset commits and other client bookkeeping are
//     still applied; held pulls are answered, and the pull each consumer
//     sends right after carries its latest commit offset, which is applied
//     too; the drain ends when every such consumer pulled again, or after
//     kStopRepullWait;
//  3. refuse everything, drain the worker pools, stop the server (in-flight
//     answers are written), stop delayed delivery (its progress is written)
//     and transaction checks, shut the store down (flush, checkpoint,
//     clean-shutdown marker), persist offsets and groups last, when no
//     request can change them any more.
// No thread outlives it. Bounded: a registration in progress (3 s per
// NameServer that does not answer), unregistering (3 s for all), the drain
// (kStopRepullWait, 2 s), the server's 5 s grace for requests in flight,
// 5 s for slaves to catch up, then the store's flush.
class BrokerController {
 public:
  explicit BrokerController(BrokerConfig config);
  ~BrokerController();

  BrokerController(const BrokerController&) = delete;
  BrokerController& operator=(const BrokerController&) = delete;

  absl::Status Start();
  void Shutdown();

  // The port served (the chosen one when listenPort is 0).
  uint16_t port() const;
  // brokerIP1:port, as registered with the NameServers.
  const std::string& broker_addr() const { return broker_addr_; }
  const BrokerConfig& config() const { return config_; }

  // updateBrokerConfig: sets `key` (one of RuntimeKeys()) to `value` in the
  // config file the broker started with and then in the running broker, or
  // changes nothing and returns InvalidArgument (unknown key, a key that
  // cannot change at run time, a bad value) or the file's write error. A
  // changed brokerPermission is registered with every NameServer before
  // this returns, so routes fetched afterwards carry it.
  absl::Status UpdateConfig(const std::string& key, const std::string& value);

 private:
  void RegisterHandlers();
  void Dispatch(remoting::Command&& request, remoting::Responder responder);
  // During the stop's drain: serves what it still serves (see the class
  // comment) and returns true, or returns false to have it refused.
  bool DispatchWhileDraining(remoting::Command& request,
                             remoting::Responder& responder);
  // Answers held pulls and waits (bounded) for their consumers' next pulls.
  void DrainConsumers();
  void HousekeepingLoop();
  // Sends a CHECK_TRANSACTION_STATE to a live producer of `group`.
  bool SendTransactionCheck(const std::string& group, remoting::Command check);
  void PersistState();
  absl::Status StartReplication();
  void StopReplication();
  std::map<std::string, std::string> RuntimeInfo() const;
  void AddReplicationInfo(std::map<std::string, std::string>* table) const;

  // Shared read-only with every processor; only its LiveSetting fields
  // change after Start(), by UpdateConfig().
  BrokerConfig config_;
  // One update at a time, so the file and the running values agree.
  absl::Mutex update_mu_;
  std::string broker_addr_;

  TopicConfigManager topics_;
  SubscriptionGroupManager groups_;
  ConsumerOffsetManager offsets_;
  ClientManager clients_;
  RebalanceLockManager locks_;
  LongPollingService holds_;
  std::unique_ptr<store::MessageStore> store_;
  std::unique_ptr<ThreadPool> send_pool_;
  std::unique_ptr<ThreadPool> pull_pool_;
  std::unique_ptr<ThreadPool> admin_pool_;
  // Constructed first: the store's arrival hook wakes it from the start.
  ScheduleService schedule_;
  TransactionCheckService transaction_check_;
  std::unique_ptr<SendProcessor> send_;
  std::unique_ptr<SendBackProcessor> send_back_;
  std::unique_ptr<EndTransactionProcessor> end_transaction_;
  std::unique_ptr<PullProcessor> pull_;
  std::unique_ptr<ClientProcessor> client_;
  std::unique_ptr<AdminProcessor> admin_;
  std::unique_ptr<remoting::RemotingServer> server_;
  std::unique_ptr<BrokerRegistrar> registrar_;
  // Replication: a master serves its HA port; a slave follows its master's
  // commit log and copies its topics and consumer offsets.
  std::unique_ptr<HaMaster> ha_master_;
  std::atomic<HaMaster*> ha_master_ptr_{nullptr};  // read by store hooks
  std::unique_ptr<HaSlave> ha_slave_;
  std::unique_ptr<SlaveSync> slave_sync_;
  std::thread housekeeping_;

  // Requests are answered SERVICE_NOT_AVAILABLE unless this is true; it is
  // set once everything they use exists, and cleared first at shutdown.
  std::atomic<bool> serving_{false};
  // Set, with serving_ false, during the stop's drain.
  std::atomic<bool> draining_{false};

  // Consumers whose held pull was answered at the stop and which have not
  // pulled again yet ("remote|group|topic|queue").
  absl::Mutex drain_mu_;
  absl::flat_hash_set<std::string> awaiting_repull_ ABSL_GUARDED_BY(drain_mu_);

  absl::Mutex lifecycle_mu_;
  bool started_ ABSL_GUARDED_BY(lifecycle_mu_) = false;
  bool stopped_ ABSL_GUARDED_BY(lifecycle_mu_) = false;

  absl::Mutex housekeeping_mu_;
  absl::CondVar housekeeping_cv_;
  bool housekeeping_stop_ ABSL_GUARDED_BY(housekeeping_mu_) = false;
};

}  // namespace cometmq::broker

#endif  // COMETMQ_BROKER_BROKER_CONTROLLER_H_
