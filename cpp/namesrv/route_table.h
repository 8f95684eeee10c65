#ifndef COMETMQ_NAMESRV_ROUTE_TABLE_H_
#define COMETMQ_NAMESRV_ROUTE_TABLE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "proto/remoting.pb.h"

namespace cometmq::namesrv {

// What a registering broker learns about its group's master. Empty for a
// master; for a slave, empty until the master has registered.
struct RegisterResult {
  std::string master_addr;
  std::string ha_server_addr;
};

// The NameServer's whole state: which brokers are alive, how they group into
// broker names and clusters, and which broker names serve which topics.
// Thread-safe; every operation is atomic with respect to the others.
//
// Invariants kept by every operation: a broker address belongs to at most one
// (brokerName, brokerId); every live address is in exactly one broker group
// and vice versa; a broker name with no address left is gone together with
// its queue data, and a topic with no queue data left is gone. Time is passed
// in so callers (and tests) decide what "now" is.
class RouteTable {
 public:
  RouteTable() = default;
  RouteTable(const RouteTable&) = delete;
  RouteTable& operator=(const RouteTable&) = delete;

  // Records (or refreshes) a broker registered over the connection from
  // `remote_address`. Only a master (brokerId 0) updates its broker name's
  // queue data, as in RocketMQ: slaves carry a copy of the master's topics.
  // A master's registration is its whole topic table: its broker name leaves
  // the route of every topic not in it. A table split into parts (part_count
  // > 1) adds each part's topics at once, and removes the broker name from
  // other topics only once every part of the round (round_id) arrived: a
  // round left unfinished (broker killed, a part lost) removes nothing, and
  // a part of another round starts over.
  // InvalidArgument when cluster, broker name or address is missing, the id
  // is negative, a topic has no name or the part numbers are out of range;
  // nothing is changed then.
  absl::StatusOr<RegisterResult> RegisterBroker(
      const proto::RegisterBrokerRequest& request,
      absl::string_view remote_address, absl::Time now);

  // Removes the broker registered as (brokerName, brokerId) at brokerAddr.
  // NotFound when no such registration exists (an address that has since
  // been replaced by another broker is not removed).
  absl::Status UnregisterBroker(const proto::UnregisterBrokerRequest& request);

  // Queue data of every broker name serving `topic` and the broker data of
  // those groups, sorted by broker name. NotFound when no broker serves it.
  absl::StatusOr<proto::TopicRouteData> GetTopicRoute(
      absl::string_view topic) const;

  proto::ClusterInfo GetClusterInfo() const;

  // Every topic some broker serves, sorted.
  proto::TopicList GetAllTopics() const;
  // One page of them: the topics after `after`, until the names reach
  // `max_bytes` (at least one when any is left), with the Page saying where
  // it stopped.
  proto::TopicList GetTopicsPage(absl::string_view after,
                                 size_t max_bytes) const;

  // Removes `topic`'s queue data; with a non-empty `cluster`, only that of
  // the cluster's broker names. NotFound when there was nothing to remove.
  absl::Status DeleteTopic(absl::string_view topic, absl::string_view cluster);

  // RocketMQ's wipeWritePermOfBroker: takes PERM_WRITE off the queue data
  // of every topic of `broker_name`, so producers stop sending to it while
  // consumers still read it. The broker's own registrations (every 30 s)
  // keep it off: the wipe lasts until AddWritePerm, or until a master of
  // that name registers anew (its previous master stopped, lost its
  // connection, expired, or came back at another address), as a restarted
  // RocketMQ broker comes back writable. Returns the number of topics of
  // the broker name (RocketMQ's count; 0 for a name not registered).
  int WipeWritePerm(absl::string_view broker_name);
  // RocketMQ's addWritePermOfBroker: ends a wipe; every topic of
  // `broker_name` gets back the perm its master last registered (the
  // broker's own brokerPermission and topic perms still apply). Returns the
  // number of topics of the broker name.
  int AddWritePerm(absl::string_view broker_name);

  // Removes brokers whose last registration is older than `expiry` at `now`.
  // Returns the removed broker addresses.
  std::vector<std::string> ScanExpiredBrokers(absl::Time now,
                                              absl::Duration expiry);

  // Removes the brokers whose latest registration came over the connection
  // from `remote_address`: a broker whose connection drops is gone at once
  // rather than after the expiry. Returns the removed broker addresses.
  std::vector<std::string> OnConnectionClosed(absl::string_view remote_address);

  size_t live_broker_count() const;

 private:
  // One broker name: a master (id 0) and its slaves.
  struct BrokerGroup {
    std::string cluster;
    absl::flat_hash_map<int64_t, std::string> addrs;  // brokerId -> address
    // Set by WipeWritePerm: the master's registrations get no PERM_WRITE.
    bool write_wiped = false;
    // topic -> perm the master last registered, restored by AddWritePerm.
    absl::flat_hash_map<std::string, int32_t> registered_perms;
  };
  // The parts of a master's split registration received so far.
  struct PartialRound {
    uint64_t round_id = 0;
    int32_t part_count = 0;
    absl::flat_hash_set<int32_t> parts;
    absl::flat_hash_set<std::string> topics;
  };
  struct LiveBroker {
    std::string broker_name;
    int64_t broker_id = 0;
    absl::Time last_update;
    int64_t data_version = 0;
    std::string ha_server_addr;
    std::string remote_address;
    std::optional<PartialRound> partial;  // masters only
  };

  // Drops `addr` from the live table and its group, and the group (with its
  // queue data and cluster membership) when it was the last address.
  void RemoveBrokerLocked(const std::string& addr)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void RemoveBrokerNameLocked(const std::string& broker_name)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Takes the queue data of a master's registration (a whole table or one
  // part of it) for broker name `name`.
  void ApplyMasterTopicsLocked(const proto::RegisterBrokerRequest& request,
                               LiveBroker* live)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Drops `name` from the route of every topic not in `table`.
  void KeepOnlyTopicsLocked(const std::string& name,
                            const absl::flat_hash_set<std::string>& table)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Marks `broker_name` wiped or not and sets the perm of its queue data
  // to match; returns how many topics it has.
  int SetPermLocked(const std::string& broker_name, bool wiped)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  proto::BrokerData BrokerDataLocked(const std::string& broker_name,
                                     const BrokerGroup& group) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  // cluster -> broker names
  absl::flat_hash_map<std::string, absl::flat_hash_set<std::string>> clusters_
      ABSL_GUARDED_BY(mu_);
  // broker name -> group
  absl::flat_hash_map<std::string, BrokerGroup> groups_ ABSL_GUARDED_BY(mu_);
  // topic -> broker name -> queue data
  absl::flat_hash_map<std::string,
                      absl::flat_hash_map<std::string, proto::QueueData>>
      topics_ ABSL_GUARDED_BY(mu_);
  // broker address -> liveness
  absl::flat_hash_map<std::string, LiveBroker> live_ ABSL_GUARDED_BY(mu_);
};

}  // namespace cometmq::namesrv

#endif  // COMETMQ_NAMESRV_ROUTE_TABLE_H_
