#ifndef COMETMQ_CLIENT_CLIENT_INSTANCE_H_
#define COMETMQ_CLIENT_CLIENT_INSTANCE_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/btree_set.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "cpp/client/callback_executor.h"
#include "cpp/client/consumer_member.h"
#include "cpp/client/route_cache.h"
#include "cpp/client/scheduler.h"
#include "cpp/remoting/remoting_client.h"

namespace cometmq::client {

// Takes a CHECK_TRANSACTION_STATE a broker (at `broker_addr`) sent. Runs on
// the remoting I/O thread: must only schedule work.
using TransactionCheckHandler = std::function<void(
    const std::string& broker_addr, remoting::Command request)>;

struct ClientConfig {
  std::string namesrv_addr;  // "host:port;host:port"
  // Clients with the same NameServers and instance name share one instance
  // (connections, routes, heartbeats); a group may be started once in it.
  std::string instance_name = "DEFAULT";
  absl::Duration request_timeout = absl::Seconds(3);
  absl::Duration route_refresh_interval = absl::Seconds(30);
  absl::Duration heartbeat_interval = absl::Seconds(30);
};

// The per-process client state shared by every producer, consumer and admin
// using one NameServer list: one RemotingClient, the route cache, the client
// id (`ip@pid@counter`), one timer thread ("client-timer") refreshing routes
// and sending heartbeats to every master broker of the cached routes, one
// callback thread ("client-callback") running the user callbacks of async
// sends off the I/O thread, and the handlers for NOTIFY_CONSUMER_IDS_CHANGED,
// RESET_CONSUMER_CLIENT_OFFSET (passed to the consumer group named in it)
// and CHECK_TRANSACTION_STATE (passed to the producer group named in the
// request). Instances come from Get(), which hands out the live instance for
// a NameServer list (the first caller's config wins); the last owner's
// release shuts it down.
class ClientInstance {
 public:
  static absl::StatusOr<std::shared_ptr<ClientInstance>> Get(
      const ClientConfig& config);

  ~ClientInstance();
  ClientInstance(const ClientInstance&) = delete;
  ClientInstance& operator=(const ClientInstance&) = delete;

  const std::string& client_id() const { return client_id_; }
  const ClientConfig& config() const { return config_; }
  remoting::RemotingClient* remoting() { return remoting_.get(); }
  // Maintenance that calls brokers and NameServers and may block for a
  // request timeout: route refresh, heartbeats, rebalances, offset commits,
  // lock renewals.
  Scheduler* scheduler() { return scheduler_.get(); }
  // Deferred work that must not wait behind a blocked maintenance task (one
  // unresponsive broker would otherwise delay every other queue): pulls
  // retried later, local redeliveries, resumed orderly queues. Its tasks
  // must not block.
  Scheduler* deferred() { return deferred_.get(); }
  RouteCache* routes() { return routes_.get(); }
  // Runs user callbacks (SendAsync's) in completion order, off the I/O
  // thread: they may block and make synchronous requests, delaying only the
  // callbacks after them. One thread, so callbacks never run concurrently
  // with each other and keep the order their sends completed in.
  CallbackExecutor* callbacks() { return callbacks_.get(); }

  // Groups in heartbeats. A group may be registered once per instance.
  absl::Status RegisterProducer(const std::string& group);
  void UnregisterProducer(const std::string& group);
  absl::Status RegisterConsumer(std::shared_ptr<ConsumerMember> consumer);
  // Only if `consumer` is the one registered for its group: a consumer whose
  // RegisterConsumer was refused must not remove the running one.
  void UnregisterConsumer(const ConsumerMember& consumer);
  // Where checks for the transactions of producer `group` go; the group
  // must be registered as a producer first. Unregister before the handler's
  // state goes away (a handler already running may still finish).
  absl::Status RegisterTransactionCheck(const std::string& group,
                                        TransactionCheckHandler handler);
  void UnregisterTransactionCheck(const std::string& group);

  // Heartbeats every broker of the cached routes and the heartbeat targets
  // now (blocking). With a transaction check registered, every broker the
  // NameServers list becomes a target first.
  void SendHeartbeats();
  // Heartbeats go to `broker_name`'s master from now on even when no cached
  // route names it (a topic sent to through the auto-create route), so the
  // broker can reach this client's producers (transaction checks).
  void AddHeartbeatTarget(const std::string& broker_name);
  // Refreshes `topic`'s route soon on the timer thread.
  void RequestRouteRefresh(const std::string& topic);
  // Heartbeats soon on the timer thread (requests made meanwhile share
  // one): a producer that learns a route heartbeats its brokers at once,
  // so it shows in producerConnection (and can be asked about its
  // transactions) without waiting for the 30 s round.
  void RequestHeartbeat();

  // A request to a broker's master by broker name.
  absl::StatusOr<remoting::Command> CallBroker(const std::string& broker_name,
                                               remoting::Command request,
                                               absl::Duration timeout);
  // A read or offset request by broker name: to the master, or to a slave
  // while the master is gone or unreachable. `address`, if given, is set to
  // the address asked.
  absl::StatusOr<remoting::Command> CallBrokerForRead(
      const std::string& broker_name, remoting::Command request,
      absl::Duration timeout, std::string* address = nullptr);

 private:
  explicit ClientInstance(ClientConfig config);
  void Start();
  proto::HeartbeatData BuildHeartbeat() const;
  // Appends the master addresses of the heartbeat targets not in `addrs`.
  void AddTargetMasters(std::vector<std::string>* addrs) const;
  // Tells every known master that `group` left this client.
  void SendUnregister(const std::string& producer_group,
                      const std::string& consumer_group);
  void OnNotifyConsumerIdsChanged(const remoting::Command& request);
  void OnResetConsumerOffset(const remoting::Command& request);
  void OnCheckTransactionState(const std::string& broker_addr,
                               remoting::Command request);

  const ClientConfig config_;
  const std::string client_id_;
  std::unique_ptr<remoting::RemotingClient> remoting_;
  std::unique_ptr<RouteCache> routes_;
  std::unique_ptr<Scheduler> scheduler_;
  std::unique_ptr<Scheduler> deferred_;
  std::unique_ptr<CallbackExecutor> callbacks_;

  mutable absl::Mutex mu_;
  absl::btree_set<std::string> producers_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, std::weak_ptr<ConsumerMember>> consumers_
      ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, TransactionCheckHandler> transaction_checks_
      ABSL_GUARDED_BY(mu_);
  absl::btree_set<std::string> heartbeat_targets_ ABSL_GUARDED_BY(mu_);
  bool heartbeat_requested_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace cometmq::client

#endif  // COMETMQ_CLIENT_CLIENT_INSTANCE_H_
