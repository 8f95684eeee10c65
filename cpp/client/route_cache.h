#ifndef COMETMQ_CLIENT_ROUTE_CACHE_H_
#define COMETMQ_CLIENT_ROUTE_CACHE_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "cpp/client/message_queue.h"
#include "cpp/common/namesrv_addr.h"
#include "cpp/remoting/remoting_client.h"
#include "proto/remoting.pb.h"

namespace cometmq::client {

// A topic's route with the queues derived from it, sorted.
struct TopicRoute {
  proto::TopicRouteData data;
  std::vector<MessageQueue> write_queues;  // brokers with a master, writable
  std::vector<MessageQueue> read_queues;   // readable
};

// Builds the queue lists of `data` for `topic`.
std::shared_ptr<const TopicRoute> MakeTopicRoute(const std::string& topic,
                                                 proto::TopicRouteData data);

// Splits "host:port;host:port" (also accepting ',') into addresses.
using ::cometmq::SplitNamesrvAddr;

// Topic routes from the NameServers, cached. A request goes to one
// NameServer (rotating start) and on a transport failure to the next; an
// answer such as TOPIC_NOT_EXIST is final and comes back with its remark.
// A `deadline` bounds the whole request, every NameServer tried included
// (a send's timeout covers its route lookup). Also resolves broker names to
// master addresses from every route and cluster answer seen. Thread-safe;
// blocking (not for the I/O thread).
class RouteCache {
 public:
  RouteCache(remoting::RemotingClient* client,
             std::vector<std::string> namesrv_addrs, absl::Duration timeout);

  // The cached route, fetched first if absent.
  absl::StatusOr<std::shared_ptr<const TopicRoute>> Get(
      const std::string& topic, absl::Time deadline = absl::InfiniteFuture());
  // The cached route or nullptr; never blocks on the network.
  std::shared_ptr<const TopicRoute> Cached(const std::string& topic) const;
  // Fetches the route now and caches it. On an error (TOPIC_NOT_EXIST
  // included: a restarted NameServer has not heard from the brokers yet) the
  // cached route stays.
  absl::StatusOr<std::shared_ptr<const TopicRoute>> Refresh(
      const std::string& topic, absl::Time deadline = absl::InfiniteFuture());
  // Refreshes every cached topic (transport failures keep the old route).
  void RefreshAll();

  absl::StatusOr<proto::ClusterInfo> FetchClusterInfo(
      absl::Time deadline = absl::InfiniteFuture());

  // A request to the NameServers, answered by the first that answers;
  // its address goes to `answered_by` when given.
  absl::StatusOr<remoting::Command> CallNamesrv(
      const remoting::Command& request,
      absl::Time deadline = absl::InfiniteFuture(),
      std::string* answered_by = nullptr);
  // The same request to every NameServer: the first failure other than
  // NotFound; else NotFound when every NameServer answered NotFound.
  absl::Status CallEveryNamesrv(const remoting::Command& request);

  // Master address of `broker_name` (broker id 0), or NotFound.
  absl::StatusOr<std::string> MasterAddress(
      const std::string& broker_name) const;
  // Master addresses of every broker in a cached route.
  std::vector<std::string> AllMasterAddresses() const;
  // Masters and slaves of every broker in a cached route.
  std::vector<std::string> AllBrokerAddresses() const;
  // Where to read `broker_name`'s data (pulls, offsets): `preferred_id` if
  // the route has it and it is not marked unreachable, else the master, else
  // a slave, preferring reachable ones. NotFound when the route has none.
  absl::StatusOr<std::string> ReadAddress(const std::string& broker_name,
                                          int64_t preferred_id = 0) const;
  // A request to `addr` failed at the transport: reads avoid it for a while.
  void MarkUnreachable(const std::string& addr);
  std::vector<std::string> Topics() const;

  const std::vector<std::string>& namesrv_addrs() const {
    return namesrv_addrs_;
  }

 private:
  void RememberBrokers(const proto::BrokerData& broker)
      ABSL_LOCKS_EXCLUDED(mu_);

  remoting::RemotingClient* const client_;
  const std::vector<std::string> namesrv_addrs_;
  const absl::Duration timeout_;

  mutable absl::Mutex mu_;
  size_t next_namesrv_ ABSL_GUARDED_BY(mu_) = 0;
  absl::flat_hash_map<std::string, std::shared_ptr<const TopicRoute>> routes_
      ABSL_GUARDED_BY(mu_);
  // broker name -> broker id -> address, from the latest routes.
  absl::flat_hash_map<std::string, std::map<int64_t, std::string>> brokers_
      ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, absl::Time> unreachable_until_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace cometmq::client

#endif  // COMETMQ_CLIENT_ROUTE_CACHE_H_
