#ifndef COMETMQ_BROKER_CLIENT_MANAGER_H_
#define COMETMQ_BROKER_CLIENT_MANAGER_H_

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "cpp/remoting/connection.h"
#include "proto/remoting.pb.h"

namespace cometmq::broker {

// One client of a group as the broker last heard from it.
struct ClientChannel {
  std::string client_id;
  std::string remote_address;
  std::weak_ptr<remoting::Connection> connection;
  absl::Time last_heartbeat;
  std::string language;  // as the client's heartbeat says ("CPP")
  std::string version;
};

// A consumer group's live members and what the group declared, for
// GET_CONSUMER_CONNECTION_LIST (RocketMQ's ConsumerConnection).
struct ConsumerConnection {
  std::vector<ClientChannel> members;  // sorted by client id
  // As the member heard from last declared them (RocketMQ keeps these per
  // group and lets every heartbeat overwrite them).
  std::string consume_type;
  std::string message_model;
  std::string consume_from_where;
  // Topic -> subscription (expression and its type) of every live member;
  // for a topic several members declare, the one heard from last.
  std::map<std::string, proto::SubscriptionData> subscriptions;
};

// Producer and consumer groups built from heartbeats. Thread-safe.
// Guarantees: a client leaves its groups on UNREGISTER_CLIENT, when its
// connection closes, or after `expiry` without a heartbeat; whenever a
// consumer group's membership changes, `notify` runs once for every member
// still in the group, outside the lock (so it may send on the network).
class ClientManager {
 public:
  using Notifier = std::function<void(const ClientChannel& member,
                                      const std::string& group)>;

  ClientManager(absl::Duration expiry, Notifier notify);

  // `now` here and in ScanExpired() come from one clock (the broker uses
  // MonotonicNow(): a wall clock step must not expire every client).
  void Heartbeat(const proto::HeartbeatData& heartbeat,
                 std::weak_ptr<remoting::Connection> connection,
                 absl::string_view remote_address, absl::Time now);
  void Unregister(absl::string_view client_id, absl::string_view producer_group,
                  absl::string_view consumer_group);
  void OnConnectionClosed(absl::string_view remote_address);
  // Drops clients not heard from within the expiry; returns their ids.
  std::vector<std::string> ScanExpired(absl::Time now);

  // Client ids of a consumer group, sorted.
  std::vector<std::string> ConsumerIds(absl::string_view group) const;
  std::vector<std::string> ProducerIds(absl::string_view group) const;
  // The consumer group's members and declarations; nullopt when it has no
  // member.
  std::optional<ConsumerConnection> ConsumerConnectionOf(
      absl::string_view group) const;
  // The producer group's members, sorted by client id.
  std::vector<ClientChannel> Producers(absl::string_view group) const;
  // A member of producer group `group` whose connection is still open (the
  // one heard from last), to ask about its transactions.
  std::optional<ClientChannel> LiveProducer(absl::string_view group) const;
  // The subscription expression `group` declared for `topic` (as the member
  // heard from last has it), if a live member subscribes to it.
  std::optional<std::string> Subscription(absl::string_view group,
                                          absl::string_view topic) const;
  // Topics the group's members subscribe to, sorted.
  std::vector<std::string> SubscribedTopics(absl::string_view group) const;
  // Consumer groups with a member subscribed to `topic`, sorted.
  std::vector<std::string> GroupsSubscribedTo(absl::string_view topic) const;

 private:
  using Subscriptions =
      absl::flat_hash_map<std::string, proto::SubscriptionData>;
  // A group subscribes to what its live members last said they subscribe
  // to: a topic a member unsubscribed, or one only a departed member had,
  // is no longer the group's.
  struct ConsumerGroup {
    absl::flat_hash_map<std::string, ClientChannel> members;
    // Client id -> topic -> subscription, from each member's last
    // heartbeat.
    absl::flat_hash_map<std::string, Subscriptions> subscriptions;
    // From the last heartbeat of any member.
    std::string consume_type;
    std::string message_model;
    std::string consume_from_where;
  };
  using Changed = std::vector<std::string>;  // consumer groups that changed

  // Removes clients matching `pred` from every group.
  Changed RemoveIf(const std::function<bool(const ClientChannel&)>& pred)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void NotifyGroups(const Changed& groups) ABSL_LOCKS_EXCLUDED(mu_);

  const absl::Duration expiry_;
  const Notifier notify_;

  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, ConsumerGroup> consumers_
      ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string,
                      absl::flat_hash_map<std::string, ClientChannel>>
      producers_ ABSL_GUARDED_BY(mu_);
};

}  // namespace cometmq::broker

#endif  // COMETMQ_BROKER_CLIENT_MANAGER_H_
