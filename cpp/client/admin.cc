#include "cpp/client/admin.h"

#include <arpa/inet.h>

#include <algorithm>
#include <limits>
#include <optional>
#include <set>
#include <tuple>
#include <utility>

#include "absl/functional/function_ref.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "cpp/client/client_error.h"
#include "cpp/client/message_id.h"
#include "cpp/common/message_record.h"
#include "cpp/common/offset_reset.h"

namespace cometmq::client {
namespace {

// Whether an offset message id naming `id_addr` was written by the broker
// registered as `registered` ("host:port"): the same address, or, for a
// broker whose brokerIP1 is no IPv4 address (a host name), 127.0.0.1 with
// its port, which is what such a broker writes into its ids.
bool WroteIdsAs(absl::string_view registered, absl::string_view id_addr) {
  if (registered == id_addr) return true;
  const size_t colon = registered.rfind(':');
  if (colon == absl::string_view::npos) return false;
  const std::string host(registered.substr(0, colon));
  in_addr ip;
  if (inet_pton(AF_INET, host.c_str(), &ip) == 1) return false;
  return id_addr == absl::StrCat("127.0.0.1", registered.substr(colon));
}

}  // namespace

Admin::Admin(ClientConfig config) : config_(std::move(config)) {}

absl::Status Admin::Start() {
  absl::StatusOr<std::shared_ptr<ClientInstance>> instance =
      ClientInstance::Get(config_);
  if (!instance.ok()) return instance.status();
  absl::MutexLock lock(&mu_);
  instance_ = *std::move(instance);
  return absl::OkStatus();
}

void Admin::Shutdown() {
  std::shared_ptr<ClientInstance> instance;
  absl::MutexLock lock(&mu_);
  instance = std::move(instance_);
}

absl::StatusOr<std::shared_ptr<ClientInstance>> Admin::Instance() {
  absl::MutexLock lock(&mu_);
  if (!instance_) return absl::FailedPreconditionError("admin is not started");
  return instance_;
}

absl::StatusOr<remoting::Command> Admin::Call(ClientInstance* instance,
                                              const std::string& addr,
                                              remoting::Command request) {
  absl::StatusOr<remoting::Command> response = instance->remoting()->InvokeSync(
      addr, std::move(request), config_.request_timeout);
  if (!response.ok()) return Annotate(response.status(), addr);
  if (absl::Status status = ResponseStatus(*response); !status.ok()) {
    return Annotate(status, addr);
  }
  return response;
}

absl::StatusOr<std::vector<std::pair<std::string, std::string>>>
Admin::ClusterMasters(ClientInstance* instance, const std::string& cluster) {
  absl::StatusOr<proto::ClusterInfo> info =
      instance->routes()->FetchClusterInfo();
  if (!info.ok()) return info.status();
  auto names = info->cluster_table().find(cluster);
  if (names == info->cluster_table().end()) {
    return absl::NotFoundError(absl::StrCat("no cluster named ", cluster));
  }
  std::vector<std::pair<std::string, std::string>> masters;
  for (const std::string& name : names->second.names()) {
    auto broker = info->broker_table().find(name);
    if (broker == info->broker_table().end()) continue;
    auto master = broker->second.broker_addrs().find(0);
    if (master != broker->second.broker_addrs().end()) {
      masters.emplace_back(name, master->second);
    }
  }
  if (masters.empty()) {
    return absl::UnavailableError(
        absl::StrCat("cluster ", cluster, " has no master broker"));
  }
  return masters;
}

absl::StatusOr<std::vector<std::string>> Admin::BrokerOrClusterMasters(
    ClientInstance* instance, const std::string& cluster,
    const std::string& broker_addr) {
  if (cluster.empty()) return std::vector<std::string>{broker_addr};
  auto masters = ClusterMasters(instance, cluster);
  if (!masters.ok()) return masters.status();
  std::vector<std::string> addrs;
  for (const auto& [name, addr] : *masters) addrs.push_back(addr);
  return addrs;
}

namespace {

absl::Status CheckTopicSettings(const std::string& topic,
                                const TopicSettings& settings) {
  if (topic.empty() || settings.read_queues < 1 || settings.write_queues < 1) {
    return absl::InvalidArgumentError(
        "a topic needs a name and at least one read and one write queue");
  }
  if (settings.perm < 0 ||
      (settings.perm &
       ~(proto::PERM_READ | proto::PERM_WRITE | proto::PERM_INHERIT)) != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("perm ", settings.perm, " is not READ 4 | WRITE 2"));
  }
  return absl::OkStatus();
}

remoting::Command UpdateTopicRequest(const std::string& topic,
                                     const TopicSettings& settings) {
  remoting::Command request =
      remoting::MakeRequest(proto::UPDATE_AND_CREATE_TOPIC);
  proto::TopicConfig* config = request.header.mutable_topic_config();
  config->set_topic_name(topic);
  config->set_read_queue_nums(settings.read_queues);
  config->set_write_queue_nums(settings.write_queues);
  config->set_perm(settings.perm);
  config->set_order(settings.order);
  return request;
}

TopicSettings QueueCounts(int32_t read_queues, int32_t write_queues) {
  TopicSettings settings;
  settings.read_queues = read_queues;
  settings.write_queues = write_queues;
  return settings;
}

}  // namespace

absl::Status Admin::CreateTopic(const std::string& topic,
                                const std::string& cluster, int32_t read_queues,
                                int32_t write_queues) {
  return CreateTopic(topic, cluster, QueueCounts(read_queues, write_queues));
}

absl::Status Admin::CreateTopic(const std::string& topic,
                                const std::string& cluster,
                                const TopicSettings& settings) {
  if (absl::Status s = CheckTopicSettings(topic, settings); !s.ok()) return s;
  absl::StatusOr<std::shared_ptr<ClientInstance>> instance = Instance();
  if (!instance.ok()) return instance.status();
  auto masters = ClusterMasters(instance->get(), cluster);
  if (!masters.ok()) return masters.status();
  for (const auto& [name, addr] : *masters) {
    remoting::Command request = UpdateTopicRequest(topic, settings);
    request.header.mutable_topic_config()->set_cluster(cluster);
    auto response = Call(instance->get(), addr, std::move(request));
    if (!response.ok()) return response.status();
  }
  return absl::OkStatus();
}

absl::Status Admin::CreateTopicOnBroker(const std::string& topic,
                                        const std::string& broker_addr,
                                        int32_t read_queues,
                                        int32_t write_queues) {
  return CreateTopicOnBroker(topic, broker_addr,
                             QueueCounts(read_queues, write_queues));
}

absl::Status Admin::CreateTopicOnBroker(const std::string& topic,
                                        const std::string& broker_addr,
                                        const TopicSettings& settings) {
  if (absl::Status s = CheckTopicSettings(topic, settings); !s.ok()) return s;
  absl::StatusOr<std::shared_ptr<ClientInstance>> instance = Instance();
  if (!instance.ok()) return instance.status();
  auto response =
      Call(instance->get(), broker_addr, UpdateTopicRequest(topic, settings));
  if (!response.ok()) return response.status();
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> Admin::TopicConsumeByWho(
    const std::string& topic) {
  absl::StatusOr<std::shared_ptr<ClientInstance>> instance = Instance();
  if (!instance.ok()) return instance.status();
  auto route = (*instance)->routes()->Refresh(topic);
  if (!route.ok()) return route.status();
  std::set<std::string> groups;
  for (const proto::QueueData& queues : (*route)->data.queue_datas()) {
    absl::StatusOr<std::string> master =
        (*instance)->routes()->MasterAddress(queues.broker_name());
    if (!master.ok()) continue;  // its groups are asked of its master only
    remoting::Command request =
        remoting::MakeRequest(proto::QUERY_TOPIC_CONSUME_BY_WHO);
    request.header.mutable_query_topic_consume_by_who()->set_topic(topic);
    auto response = Call(instance->get(), *master, std::move(request));
    if (!response.ok()) return response.status();
    for (const std::string& group :
         response->header.group_list_response().groups()) {
      groups.insert(group);
    }
  }
  return std::vector<std::string>(groups.begin(), groups.end());
}

absl::StatusOr<std::vector<std::string>> Admin::UpdateSubscriptionGroup(
    const proto::SubscriptionGroupConfig& group, const std::string& cluster,
    const std::string& broker_addr) {
  if (group.group_name().empty()) {
    return absl::InvalidArgumentError("a subscription group needs a name");
  }
  absl::StatusOr<std::shared_ptr<ClientInstance>> instance = Instance();
  if (!instance.ok()) return instance.status();
  absl::StatusOr<std::vector<std::string>> addrs =
      BrokerOrClusterMasters(instance->get(), cluster, broker_addr);
  if (!addrs.ok()) return addrs.status();
  for (const std::string& addr : *addrs) {
    remoting::Command request =
        remoting::MakeRequest(proto::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP);
    *request.header.mutable_subscription_group() = group;
    auto response = Call(instance->get(), addr, std::move(request));
    if (!response.ok()) return response.status();
  }
  return *std::move(addrs);
}

absl::StatusOr<std::vector<DeletedGroup>> Admin::DeleteSubscriptionGroup(
    const std::string& group, const std::string& cluster,
    const std::string& broker_addr, bool remove_offsets) {
  if (group.empty()) {
    return absl::InvalidArgumentError("a subscription group needs a name");
  }
  if (cluster.empty() == broker_addr.empty()) {
    return absl::InvalidArgumentError(
        "name exactly one of a cluster and a broker address");
  }
  absl::StatusOr<std::shared_ptr<ClientInstance>> instance = Instance();
  if (!instance.ok()) return instance.status();
  absl::StatusOr<std::vector<std::string>> addrs =
      BrokerOrClusterMasters(instance->get(), cluster, broker_addr);
  if (!addrs.ok()) return addrs.status();
  std::vector<DeletedGroup> deleted;
  for (const std::string& addr : *addrs) {
    remoting::Command request =
        remoting::MakeRequest(proto::DELETE_SUBSCRIPTIONGROUP);
    proto::DeleteSubscriptionGroupRequest* req =
        request.header.mutable_delete_subscription_group();
    req->set_group_name(group);
    req->set_clean_offset(remove_offsets);
    auto response = Call(instance->get(), addr, std::move(request));
    if (!response.ok()) return response.status();
    const proto::DeleteSubscriptionGroupResponse& out =
        response->header.delete_subscription_group_response();
    deleted.push_back({addr, out.existed(), out.offsets_removed()});
  }
  return deleted;
}

namespace {

// Where to ask about a broker's clients: its master, else any of its
// addresses (clients heartbeat slaves too).
std::optional<std::string> ClientFacingAddress(const proto::BrokerData& b) {
  if (auto master = b.broker_addrs().find(0);
      master != b.broker_addrs().end()) {
    return master->second;
  }
  std::map<int64_t, std::string> sorted(b.broker_addrs().begin(),
                                        b.broker_addrs().end());
  if (sorted.empty()) return std::nullopt;
  return sorted.begin()->second;
}

ClientConnection FromProto(const proto::Connection& c) {
  return {c.client_id(), c.client_addr(), c.language(), c.version()};
}

// Adds `more` to `merged` (sorted by client id), each client once: the
// same client seen by two brokers is one member.
void MergeConnections(
    const google::protobuf::RepeatedPtrField<proto::Connection>& more,
    std::vector<ClientConnection>* merged) {
  for (const proto::Connection& c : more) {
    auto same = std::find_if(merged->begin(), merged->end(),
                             [&](const ClientConnection& m) {
                               return m.client_id == c.client_id();
                             });
    if (same == merged->end()) merged->push_back(FromProto(c));
  }
  std::sort(merged->begin(), merged->end(),
            [](const ClientConnection& a, const ClientConnection& b) {
              return a.client_id < b.client_id;
            });
}

}  // namespace

absl::StatusOr<ConsumerConnectionInfo> Admin::ConsumerConnection(
    const std::string& group, const std::string& broker_addr) {
  if (group.empty()) {
    return absl::InvalidArgumentError("a consumer group needs a name");
  }
  absl::StatusOr<std::shared_ptr<ClientInstance>> instance = Instance();
  if (!instance.ok()) return instance.status();
  std::vector<std::string> addrs;
  if (!broker_addr.empty()) {
    addrs.push_back(broker_addr);
  } else {
    // As RocketMQ, the brokers of the group's retry topic; without one,
    // every broker (a group without a retry topic may still be online).
    std::vector<proto::BrokerData> brokers;
    auto route = (*instance)->routes()->Refresh(
        absl::StrCat(kRetryGroupTopicPrefix, group));
    if (route.ok()) {
      brokers.assign((*route)->data.broker_datas().begin(),
                     (*route)->data.broker_datas().end());
    } else if (absl::IsNotFound(route.status())) {
      auto info = (*instance)->routes()->FetchClusterInfo();
      if (!info.ok()) return info.status();
      for (const auto& [name, broker] : info->broker_table()) {
        brokers.push_back(broker);
      }
    } else {
      return route.status();
    }
    for (const proto::BrokerData& broker : brokers) {
      if (std::optional<std::string> addr = ClientFacingAddress(broker)) {
        addrs.push_back(*addr);
      }
    }
    std::sort(addrs.begin(), addrs.end());
  }
  ConsumerConnectionInfo info;
  bool online = false;
  bool answered = false;
  absl::Status failure;  // the first broker that did not answer
  for (const std::string& addr : addrs) {
    remoting::Command request =
        remoting::MakeRequest(proto::GET_CONSUMER_CONNECTION_LIST);
    request.header.mutable_connection_list()->set_group(group);
    auto response = Call(instance->get(), addr, std::move(request));
    if (!response.ok()) {
      if (BrokerStatusCode(response.status()) == proto::CONSUMER_NOT_ONLINE) {
        answered = true;
      } else if (failure.ok()) {
        // Members heartbeat every broker: the others still show them.
        failure = response.status();
      }
      continue;
    }
    answered = true;
    const proto::ConsumerConnection& cc =
        response->header.consumer_connection_response();
    if (cc.connections().empty()) continue;
    if (!online) {
      // The group's declarations are the same on every broker but for a
      // moment after a member changes them; the first broker's stand.
      info.consume_type = cc.consume_type();
      info.message_model = cc.message_model();
      info.consume_from_where = cc.consume_from_where();
      online = true;
    }
    MergeConnections(cc.connections(), &info.connections);
    for (const proto::SubscriptionData& sub : cc.subscriptions()) {
      if (info.subscriptions.try_emplace(sub.topic(), sub.expression())
              .second) {
        info.expression_types[sub.topic()] =
            sub.expression_type() == proto::EXPRESSION_SQL92 ? "SQL92" : "TAG";
      }
    }
  }
  if (!answered && !failure.ok()) return failure;
  if (!online) {
    return absl::NotFoundError(
        absl::StrCat("consumer group [", group, "] has no consumer online"));
  }
  return info;
}

absl::StatusOr<std::vector<ClientConnection>> Admin::ProducerConnection(
    const std::string& group, const std::string& topic) {
  if (group.empty() || topic.empty()) {
    return absl::InvalidArgumentError(
        "producerConnection needs a producer group and a topic");
  }
  absl::StatusOr<std::shared_ptr<ClientInstance>> instance = Instance();
  if (!instance.ok()) return instance.status();
  auto route = (*instance)->routes()->Refresh(topic);
  if (!route.ok()) return route.status();
  std::vector<std::string> addrs;
  for (const proto::BrokerData& broker : (*route)->data.broker_datas()) {
    if (std::optional<std::string> addr = ClientFacingAddress(broker)) {
      addrs.push_back(*addr);
    }
  }
  std::sort(addrs.begin(), addrs.end());
  std::vector<ClientConnection> connections;
  bool answered = false;
  absl::Status failure;  // the first broker that did not answer
  for (const std::string& addr : addrs) {
    remoting::Command request =
        remoting::MakeRequest(proto::GET_PRODUCER_CONNECTION_LIST);
    request.header.mutable_connection_list()->set_group(group);
    auto response = Call(instance->get(), addr, std::move(request));
    if (!response.ok()) {
      if (failure.ok()) failure = response.status();
      continue;
    }
    answered = true;
    MergeConnections(
        response->header.producer_connection_response().connections(),
        &connections);
  }
  if (!answered && !failure.ok()) return failure;
  if (connections.empty()) {
    return absl::NotFoundError(absl::StrCat(
        "producer group [", group,
        "] has no producer online on the brokers of topic [", topic, "]"));
  }
  return connections;
}

absl::StatusOr<std::vector<std::string>> Admin::TopicList() {
  absl::StatusOr<std::shared_ptr<ClientInstance>> instance = Instance();
  if (!instance.ok()) return instance.status();
  // A page at a time: the whole list can outgrow one frame. A NameServer
  // older than paging answers the whole list with no page. Every page goes
  // to the same NameServer: another may hold other topics past `after`.
  std::vector<std::string> list;
  std::string after;
  std::string namesrv;
  while (true) {
    remoting::Command request =
        remoting::MakeRequest(proto::GET_ALL_TOPIC_LIST_FROM_NAMESERVER);
    request.header.mutable_page()->set_after(after);
    absl::StatusOr<remoting::Command> response;
    if (namesrv.empty()) {
      response = (*instance)->routes()->CallNamesrv(
          request, absl::InfiniteFuture(), &namesrv);
      if (response.ok()) {
        if (absl::Status status = ResponseStatus(*response); !status.ok()) {
          return status;
        }
      }
    } else {
      response = Call(instance->get(), namesrv, std::move(request));
    }
    if (!response.ok()) return response.status();
    proto::TopicList* topics = response->header.mutable_topic_list_response();
    for (std::string& topic : *topics->mutable_topics()) {
      list.push_back(std::move(topic));
    }
    if (!topics->has_page() || !topics->page().more()) break;
    if (topics->page().last() <= after) {
      return absl::DataLossError(
          absl::StrCat("name server ", namesrv,
                       " answered a topic list page that does "
                       "not advance past '",
                       after, "'"));
    }
    after = topics->page().last();
  }
  std::sort(list.begin(), list.end());
  return list;
}

absl::StatusOr<std::map<std::string, std::string>> Admin::BrokerConfig(
    const std::string& broker_addr) {
  absl::StatusOr<std::shared_ptr<ClientInstance>> instance = Instance();
  if (!instance.ok()) return instance.status();
  auto response = Call(instance->get(), broker_addr,
                       remoting::MakeRequest(proto::GET_BROKER_CONFIG));
  if (!response.ok()) return response.status();
  const auto& table = response->header.broker_config_response().table();
  return std::map<std::string, std::string>(table.begin(), table.end());
}

absl::Status Admin::UpdateBrokerConfig(const std::string& broker_addr,
                                       const std::string& key,
                                       const std::string& value) {
  if (key.empty()) return absl::InvalidArgumentError("no key given");
  absl::StatusOr<std::shared_ptr<ClientInstance>> instance = Instance();
  if (!instance.ok()) return instance.status();
  remoting::Command request =
      remoting::MakeRequest(proto::UPDATE_BROKER_CONFIG);
  request.header.mutable_update_broker_config()->set_key(key);
  request.header.mutable_update_broker_config()->set_value(value);
  return Call(instance->get(), broker_addr, std::move(request)).status();
}

absl::StatusOr<std::vector<Admin::NamesrvWritePerm>> Admin::WritePermOfBroker(
    const std::string& broker_name, bool wipe) {
  if (broker_name.empty()) {
    return absl::InvalidArgumentError("no broker name given");
  }
  absl::StatusOr<std::shared_ptr<ClientInstance>> instance = Instance();
  if (!instance.ok()) return instance.status();
  remoting::Command request =
      remoting::MakeRequest(wipe ? proto::WIPE_WRITE_PERM_OF_BROKER
                                 : proto::ADD_WRITE_PERM_OF_BROKER);
  request.header.mutable_write_perm()->set_broker_name(broker_name);
  std::vector<NamesrvWritePerm> answers;
  for (const std::string& addr : (*instance)->routes()->namesrv_addrs()) {
    auto response = Call(instance->get(), addr, request);
    answers.push_back(
        {addr, response.ok()
                   ? absl::StatusOr<int32_t>(
                         response->header.write_perm_response().topic_count())
                   : absl::StatusOr<int32_t>(response.status())});
  }
  return answers;
}

absl::StatusOr<proto::BrokerRuntimeInfo> Admin::BrokerRuntimeInfo(
    const std::string& broker_addr) {
  absl::StatusOr<std::shared_ptr<ClientInstance>> instance = Instance();
  if (!instance.ok()) return instance.status();
  auto response = Call(instance->get(), broker_addr,
                       remoting::MakeRequest(proto::GET_BROKER_RUNTIME_INFO));
  if (!response.ok()) return response.status();
  return std::move(*response->header.mutable_broker_runtime_info_response());
}

absl::StatusOr<OffsetReset> Admin::ResetOffsetByTime(const std::string& group,
                                                     const std::string& topic,
                                                     int64_t timestamp_millis,
                                                     bool force) {
  absl::StatusOr<std::shared_ptr<ClientInstance>> instance = Instance();
  if (!instance.ok()) return instance.status();
  auto route = (*instance)->routes()->Refresh(topic);
  if (!route.ok()) return route.status();
  OffsetReset reset;
  for (const proto::QueueData& queues : (*route)->data.queue_datas()) {
    absl::StatusOr<std::string> master =
        (*instance)->routes()->MasterAddress(queues.broker_name());
    if (!master.ok()) continue;
    remoting::Command invoke =
        remoting::MakeRequest(proto::INVOKE_BROKER_TO_RESET_OFFSET);
    proto::ResetOffsetRequest* req = invoke.header.mutable_reset_offset();
    req->set_topic(topic);
    req->set_group(group);
    req->set_timestamp(timestamp_millis);
    req->set_force(force);
    auto online = Call(instance->get(), *master, std::move(invoke));
    if (online.ok()) {
      const proto::ResetOffsetTable& table =
          online->header.reset_offset_table();
      reset.clients_notified += table.clients_notified();
      for (const proto::QueueResetOffset& entry : table.offsets()) {
        reset.queues.push_back({queues.broker_name(), entry.queue_id(),
                                entry.offset(), /*online=*/true});
      }
      continue;
    }
    if (BrokerStatusCode(online.status()) != proto::CONSUMER_NOT_ONLINE) {
      return Annotate(online.status(), queues.broker_name());
    }
    absl::Status direct =
        ResetOffsetDirectly(instance->get(), *master, queues, group, topic,
                            timestamp_millis, force, &reset.queues);
    if (!direct.ok()) return Annotate(direct, queues.broker_name());
  }
  return reset;
}

absl::StatusOr<std::vector<GroupOffsetClone>> Admin::CloneGroupOffset(
    const std::string& src_group, const std::string& dest_group,
    const std::string& topic, bool offline) {
  absl::StatusOr<std::shared_ptr<ClientInstance>> instance = Instance();
  if (!instance.ok()) return instance.status();
  auto route = (*instance)->routes()->Refresh(topic);
  if (!route.ok()) return route.status();
  std::vector<GroupOffsetClone> clones;
  for (const proto::QueueData& queues : (*route)->data.queue_datas()) {
    absl::StatusOr<std::string> master =
        (*instance)->routes()->MasterAddress(queues.broker_name());
    if (!master.ok()) return Annotate(master.status(), queues.broker_name());
    remoting::Command clone = remoting::MakeRequest(proto::CLONE_GROUP_OFFSET);
    proto::CloneGroupOffsetRequest* req =
        clone.header.mutable_clone_group_offset();
    req->set_src_group(src_group);
    req->set_dest_group(dest_group);
    req->set_topic(topic);
    req->set_offline(offline);
    auto response = Call(instance->get(), *master, std::move(clone));
    if (!response.ok())
      return Annotate(response.status(), queues.broker_name());
    const proto::CloneGroupOffsetResponse& answer =
        response->header.clone_group_offset_response();
    clones.push_back({queues.broker_name(),
                      {answer.topics().begin(), answer.topics().end()},
                      answer.clients_notified()});
  }
  return clones;
}

absl::Status Admin::ResetOffsetDirectly(ClientInstance* instance,
                                        const std::string& master,
                                        const proto::QueueData& queues,
                                        const std::string& group,
                                        const std::string& topic,
                                        int64_t timestamp_millis, bool force,
                                        std::vector<QueueReset>* resets) {
  for (int32_t queue_id = 0; queue_id < queues.read_queue_nums(); ++queue_id) {
    remoting::Command search = remoting::MakeRequest(
        timestamp_millis == -1 ? proto::GET_MAX_OFFSET
                               : proto::SEARCH_OFFSET_BY_TIMESTAMP);
    search.header.mutable_queue_offset()->set_topic(topic);
    search.header.mutable_queue_offset()->set_queue_id(queue_id);
    search.header.mutable_queue_offset()->set_timestamp(timestamp_millis);
    auto found = Call(instance, master, std::move(search));
    if (!found.ok()) return found.status();
    std::optional<int64_t> committed;
    if (!force) {
      remoting::Command query =
          remoting::MakeRequest(proto::QUERY_CONSUMER_OFFSET);
      proto::ConsumerOffsetRequest* q = query.header.mutable_consumer_offset();
      q->set_consumer_group(group);
      q->set_topic(topic);
      q->set_queue_id(queue_id);
      auto current = Call(instance, master, std::move(query));
      if (current.ok()) {
        committed = current->header.consumer_offset_response().offset();
      } else if (BrokerStatusCode(current.status()) != proto::QUERY_NOT_FOUND) {
        return current.status();
      }
    }
    const int64_t offset = ResetOffsetFor(
        found->header.queue_offset_response().offset(), committed, force);
    remoting::Command commit =
        remoting::MakeRequest(proto::UPDATE_CONSUMER_OFFSET);
    proto::ConsumerOffsetRequest* update =
        commit.header.mutable_consumer_offset();
    update->set_consumer_group(group);
    update->set_topic(topic);
    update->set_queue_id(queue_id);
    update->set_commit_offset(offset);
    auto committed_now = Call(instance, master, std::move(commit));
    if (!committed_now.ok()) return committed_now.status();
    resets->push_back({queues.broker_name(), queue_id, offset,
                       /*online=*/false});
  }
  return absl::OkStatus();
}

absl::StatusOr<proto::TopicRouteData> Admin::TopicRoute(
    const std::string& topic) {
  absl::StatusOr<std::shared_ptr<ClientInstance>> instance = Instance();
  if (!instance.ok()) return instance.status();
  auto route = (*instance)->routes()->Refresh(topic);
  if (!route.ok()) return route.status();
  return (*route)->data;
}

absl::StatusOr<proto::ClusterInfo> Admin::ClusterList() {
  absl::StatusOr<std::shared_ptr<ClientInstance>> instance = Instance();
  if (!instance.ok()) return instance.status();
  return (*instance)->routes()->FetchClusterInfo();
}

absl::StatusOr<std::vector<QueueOffsets>> Admin::TopicStats(
    const std::string& topic) {
  absl::StatusOr<std::shared_ptr<ClientInstance>> instance = Instance();
  if (!instance.ok()) return instance.status();
  auto route = (*instance)->routes()->Refresh(topic);
  if (!route.ok()) return route.status();
  std::vector<QueueOffsets> stats;
  for (const proto::BrokerData& broker : (*route)->data.broker_datas()) {
    auto master = broker.broker_addrs().find(0);
    if (master == broker.broker_addrs().end()) continue;
    remoting::Command request =
        remoting::MakeRequest(proto::GET_TOPIC_STATS_INFO);
    request.header.mutable_topic_stats()->set_topic(topic);
    auto response = Call(instance->get(), master->second, std::move(request));
    if (!response.ok()) return response.status();
    for (const proto::QueueStats& queue :
         response->header.topic_stats_response().queues()) {
      stats.push_back({queue.broker_name().empty() ? broker.broker_name()
                                                   : queue.broker_name(),
                       queue.queue_id(), queue.min_offset(), queue.max_offset(),
                       queue.last_update_timestamp()});
    }
  }
  return stats;
}

absl::StatusOr<std::vector<QueueProgress>> Admin::ConsumerProgress(
    const std::string& group, const std::string& topic) {
  absl::StatusOr<std::shared_ptr<ClientInstance>> instance = Instance();
  if (!instance.ok()) return instance.status();
  // The brokers of the topic's route, or of every cluster for all topics.
  std::vector<proto::BrokerData> brokers;
  if (topic.empty()) {
    auto info = (*instance)->routes()->FetchClusterInfo();
    if (!info.ok()) return info.status();
    for (const auto& [name, broker] : info->broker_table()) {
      brokers.push_back(broker);
    }
  } else {
    auto route = (*instance)->routes()->Refresh(topic);
    if (!route.ok()) return route.status();
    brokers.assign((*route)->data.broker_datas().begin(),
                   (*route)->data.broker_datas().end());
  }
  std::vector<QueueProgress> progress;
  for (const proto::BrokerData& broker : brokers) {
    auto master = broker.broker_addrs().find(0);
    if (master == broker.broker_addrs().end()) continue;
    remoting::Command request = remoting::MakeRequest(proto::GET_CONSUME_STATS);
    request.header.mutable_consume_stats()->set_consumer_group(group);
    request.header.mutable_consume_stats()->set_topic(topic);
    auto response = Call(instance->get(), master->second, std::move(request));
    if (!response.ok()) return response.status();
    for (const proto::QueueConsumeStats& queue :
         response->header.consume_stats_response().queues()) {
      progress.push_back({queue.topic(),
                          queue.broker_name().empty() ? broker.broker_name()
                                                      : queue.broker_name(),
                          queue.queue_id(), queue.broker_offset(),
                          queue.consumer_offset(),
                          queue.broker_offset() - queue.consumer_offset()});
    }
  }
  return progress;
}

absl::Status Admin::DeleteTopic(const std::string& topic,
                                const std::string& cluster) {
  absl::StatusOr<std::shared_ptr<ClientInstance>> instance = Instance();
  if (!instance.ok()) return instance.status();
  auto masters = ClusterMasters(instance->get(), cluster);
  if (!masters.ok()) return masters.status();
  // Asked before the brokers delete it: each registers again at once without
  // the topic, which takes it out of the NameServers' routes, so their
  // "not found" afterwards does not mean it never existed.
  const bool routed = (*instance)->routes()->Refresh(topic).ok();
  // Brokers first: a broker still holding the topic would register it with
  // the NameServers again.
  for (const auto& [name, addr] : *masters) {
    remoting::Command request =
        remoting::MakeRequest(proto::DELETE_TOPIC_IN_BROKER);
    request.header.mutable_delete_topic()->set_topic(topic);
    request.header.mutable_delete_topic()->set_cluster(cluster);
    auto response = Call(instance->get(), addr, std::move(request));
    if (!response.ok()) return response.status();
  }
  remoting::Command request =
      remoting::MakeRequest(proto::DELETE_TOPIC_IN_NAMESRV);
  request.header.mutable_delete_topic()->set_topic(topic);
  request.header.mutable_delete_topic()->set_cluster(cluster);
  absl::Status in_namesrvs = (*instance)->routes()->CallEveryNamesrv(request);
  if (routed && absl::IsNotFound(in_namesrvs)) return absl::OkStatus();
  return in_namesrvs;
}

absl::StatusOr<MessageExt> Admin::ViewMessage(
    const std::string& offset_msg_id) {
  absl::StatusOr<std::string> addr = OffsetMessageIdAddress(offset_msg_id);
  if (!addr.ok()) return addr.status();
  int64_t commit_log_offset = 0;
  ParseOffsetMessageId(offset_msg_id, &commit_log_offset);
  absl::StatusOr<std::shared_ptr<ClientInstance>> instance = Instance();
  if (!instance.ok()) return instance.status();
  // The record does not hold its broker's name; the cluster table does.
  // Best effort: the message is found even when no NameServer answers.
  std::optional<std::string> broker_name;
  // Where the broker is asked: as it registered, which may be a host name.
  std::string target = *addr;
  // The broker's other replicas, by id: a slave holds its master's commit
  // log at the same offsets.
  std::vector<std::pair<int64_t, std::string>> replicas;
  absl::StatusOr<proto::ClusterInfo> info =
      (*instance)->routes()->FetchClusterInfo();
  if (info.ok()) {
    for (const auto& [name, broker] : info->broker_table()) {
      for (const auto& [id, broker_addr] : broker.broker_addrs()) {
        if (WroteIdsAs(broker_addr, *addr)) {
          broker_name = name;
          target = broker_addr;
        }
      }
      if (broker_name != name) continue;
      for (const auto& [id, broker_addr] : broker.broker_addrs()) {
        if (broker_addr != target) replicas.emplace_back(id, broker_addr);
      }
    }
    std::sort(replicas.begin(), replicas.end());
    // Any 32 hex chars decode to an address; asking one that is no broker
    // of the cluster could wait a whole timeout, or reach another server.
    if (!broker_name.has_value()) {
      return absl::NotFoundError(absl::StrCat(
          "no broker registered with the NameServers is at ", *addr,
          ", the address offset message id ", offset_msg_id, " names"));
    }
  }
  remoting::Command request = remoting::MakeRequest(proto::VIEW_MESSAGE_BY_ID);
  request.header.mutable_view_message()->set_commit_log_offset(
      commit_log_offset);
  absl::StatusOr<remoting::Command> response =
      Call(instance->get(), target, request);
  // A broker that does not answer at all (hung, or stopped and still in the
  // NameServers' routes): a replica that has the record answers for it.
  // Otherwise the broker's own failure is reported: a slave that lacks the
  // record may only lag behind.
  for (const auto& [id, replica] : replicas) {
    if (response.ok() || BrokerStatusCode(response.status()).has_value()) {
      break;
    }
    absl::StatusOr<remoting::Command> other =
        Call(instance->get(), replica, request);
    if (other.ok()) response = std::move(other);
  }
  if (!response.ok()) return response.status();
  auto messages = DecodeMessages(response->body, broker_name.value_or(""));
  if (!messages.ok()) return messages.status();
  if (messages->size() != 1) {
    return absl::DataLossError(absl::StrCat("VIEW_MESSAGE_BY_ID answered ",
                                            messages->size(), " records"));
  }
  return std::move(messages->front());
}

absl::StatusOr<remoting::Command> Admin::CallForRead(
    ClientInstance* instance, const std::string& broker_name,
    const remoting::Command& request, std::string* address) {
  absl::StatusOr<remoting::Command> response = instance->CallBrokerForRead(
      broker_name, request, config_.request_timeout, address);
  if (response.ok() || address->empty()) return response;  // or no address
  // The failed address is marked unreachable now: a second try goes to
  // the next replica, if there is one.
  absl::StatusOr<std::string> next =
      instance->routes()->ReadAddress(broker_name);
  if (!next.ok() || *next == *address) {
    return Annotate(response.status(), *address);
  }
  response = instance->CallBrokerForRead(broker_name, request,
                                         config_.request_timeout, address);
  if (!response.ok()) return Annotate(response.status(), *address);
  return response;
}

absl::StatusOr<std::vector<MessageExt>> Admin::QueryIndex(
    ClientInstance* instance, const std::string& topic, const std::string& key,
    int64_t begin_millis, int64_t end_millis, int32_t max_num,
    absl::FunctionRef<bool(const MessageExt&)> match, bool tolerate_failures) {
  auto route = instance->routes()->Refresh(topic);
  if (!route.ok()) return route.status();
  std::vector<MessageExt> found;
  absl::Status first_failure;
  for (const proto::BrokerData& broker : (*route)->data.broker_datas()) {
    remoting::Command request = remoting::MakeRequest(proto::QUERY_MESSAGE);
    proto::QueryMessageRequest* query = request.header.mutable_query_message();
    query->set_topic(topic);
    query->set_key(key);
    query->set_max_num(max_num);
    query->set_begin_timestamp(begin_millis);
    query->set_end_timestamp(end_millis);
    // The master, or a slave while it is gone: each indexes what it stores.
    std::string addr;
    absl::StatusOr<remoting::Command> response =
        CallForRead(instance, broker.broker_name(), request, &addr);
    if (response.ok() && response->header.status() == proto::QUERY_NOT_FOUND) {
      continue;
    }
    absl::Status status = response.ok()
                              ? Annotate(ResponseStatus(*response), addr)
                              : response.status();
    absl::StatusOr<std::vector<MessageExt>> messages =
        std::vector<MessageExt>();
    if (status.ok()) {
      messages = DecodeMessages(response->body, broker.broker_name());
      status = messages.status();
    }
    if (!status.ok()) {
      if (!tolerate_failures) return status;
      if (first_failure.ok()) first_failure = status;
      continue;
    }
    for (MessageExt& message : *messages) {
      if (match(message)) found.push_back(std::move(message));
    }
  }
  if (found.empty() && !first_failure.ok()) return first_failure;
  return found;
}

absl::StatusOr<std::vector<MessageExt>> Admin::QueryByKey(
    const std::string& topic, const std::string& key, int64_t begin_millis,
    int64_t end_millis, int32_t max_num) {
  absl::StatusOr<std::shared_ptr<ClientInstance>> instance = Instance();
  if (!instance.ok()) return instance.status();
  // The index matches key hashes; keep exact matches only. The index
  // also holds each message's unique id, so that matches too.
  auto match = [&key](const MessageExt& message) {
    return message.msg_id == key ||
           std::find(message.keys.begin(), message.keys.end(), key) !=
               message.keys.end();
  };
  return QueryIndex(instance->get(), topic, key, begin_millis, end_millis,
                    max_num, match, /*tolerate_failures=*/false);
}

absl::StatusOr<std::vector<MessageExt>> Admin::QueryByUniqueKey(
    const std::string& topic, const std::string& unique_key) {
  // As RocketMQ's queryMessageByUniqKey: the whole time range, at most 32
  // index hits per broker.
  constexpr int32_t kMaxHits = 32;
  absl::StatusOr<std::shared_ptr<ClientInstance>> instance = Instance();
  if (!instance.ok()) return instance.status();
  // The index matches hashes of "topic#key", and the keys producers set
  // are indexed too: only the UNIQ_KEY property itself counts.
  auto match = [&](const MessageExt& message) {
    return message.msg_id == unique_key && message.topic == topic;
  };
  absl::StatusOr<std::vector<MessageExt>> found =
      QueryIndex(instance->get(), topic, unique_key, 0,
                 std::numeric_limits<int64_t>::max(), kMaxHits, match,
                 /*tolerate_failures=*/true);
  if (!found.ok()) return found.status();
  std::sort(
      found->begin(), found->end(),
      [](const MessageExt& a, const MessageExt& b) {
        return std::tie(a.store_timestamp, a.broker_name, a.commit_log_offset) <
               std::tie(b.store_timestamp, b.broker_name, b.commit_log_offset);
      });
  return found;
}

absl::StatusOr<MessageExt> Admin::ViewMessageInTopic(
    const std::string& topic, const std::string& msg_id) {
  // As RocketMQ 4.9's viewMessage(topic, msgId): an offset message id
  // first, then the producer's msg id.
  std::optional<std::string> other_topic;
  if (OffsetMessageIdAddress(msg_id).ok()) {
    absl::StatusOr<MessageExt> message = ViewMessage(msg_id);
    if (message.ok() && message->topic == topic) return message;
    if (message.ok()) other_topic = message->topic;
  }
  absl::StatusOr<std::vector<MessageExt>> copies =
      QueryByUniqueKey(topic, msg_id);
  if (copies.ok() && !copies->empty()) return std::move(copies->front());
  if (other_topic.has_value()) {
    return absl::NotFoundError(
        absl::StrCat("message [", msg_id, "] belongs to topic [", *other_topic,
                     "], not [", topic, "]"));
  }
  if (!copies.ok()) return copies.status();
  return absl::NotFoundError(
      absl::StrCat("no message in topic [", topic, "] has id [", msg_id,
                   "], as an offset message id or as a producer's msg id"));
}

absl::StatusOr<std::shared_ptr<ClientInstance>> Admin::InstanceWithBroker(
    const std::string& topic, const std::string& broker_name) {
  absl::StatusOr<std::shared_ptr<ClientInstance>> instance = Instance();
  if (!instance.ok()) return instance.status();
  auto route = (*instance)->routes()->Refresh(topic);
  if (!route.ok()) return route.status();
  std::vector<std::string> names;
  for (const proto::BrokerData& broker : (*route)->data.broker_datas()) {
    if (broker.broker_name() == broker_name) return instance;
    names.push_back(broker.broker_name());
  }
  std::sort(names.begin(), names.end());
  return absl::NotFoundError(
      absl::StrCat("topic [", topic, "] has no broker [", broker_name,
                   "]; its brokers: ", absl::StrJoin(names, ", ")));
}

absl::StatusOr<std::vector<MessageExt>> Admin::PullMessages(
    const std::string& topic, const std::string& broker_name, int32_t queue_id,
    int64_t queue_offset, int32_t max_messages) {
  // RocketMQ's tools pull as this group, which every broker has from its
  // start.
  constexpr char kToolsGroup[] = "TOOLS_CONSUMER";
  absl::StatusOr<std::shared_ptr<ClientInstance>> instance =
      InstanceWithBroker(topic, broker_name);
  if (!instance.ok()) return instance.status();
  remoting::Command request = remoting::MakeRequest(proto::PULL_MESSAGE);
  proto::PullMessageRequest* pull = request.header.mutable_pull_message();
  pull->set_consumer_group(kToolsGroup);
  pull->set_topic(topic);
  pull->set_queue_id(queue_id);
  pull->set_queue_offset(queue_offset);
  pull->set_max_msg_nums(max_messages);
  pull->set_suspend_timeout_millis(0);
  pull->set_subscription("*");
  pull->set_commit_offset(-1);
  std::string addr;
  absl::StatusOr<remoting::Command> pulled =
      CallForRead(instance->get(), broker_name, request, &addr);
  if (!pulled.ok()) return pulled.status();
  const int32_t status = pulled->header.status();
  const proto::PullMessageResponse& range =
      pulled->header.pull_message_response();
  if (status == proto::PULL_NOT_FOUND && queue_offset == range.max_offset()) {
    return std::vector<MessageExt>();  // the queue's end
  }
  if (status == proto::PULL_NOT_FOUND || status == proto::PULL_OFFSET_MOVED ||
      status == proto::PULL_RETRY_IMMEDIATELY) {
    return absl::NotFoundError(absl::StrCat(
        "queue ", queue_id, " of topic [", topic, "] on broker [", broker_name,
        "] holds no message at offset ", queue_offset, " (it holds offsets [",
        range.min_offset(), ", ", range.max_offset(), "))"));
  }
  if (absl::Status s = ResponseStatus(*pulled); !s.ok()) {
    return Annotate(s, addr);
  }
  return DecodeMessages(pulled->body, broker_name);
}

absl::StatusOr<MessageExt> Admin::MessageAtOffset(
    const std::string& topic, const std::string& broker_name, int32_t queue_id,
    int64_t queue_offset) {
  absl::StatusOr<std::vector<MessageExt>> messages =
      PullMessages(topic, broker_name, queue_id, queue_offset, 1);
  if (!messages.ok()) return messages.status();
  for (MessageExt& message : *messages) {
    if (message.queue_offset == queue_offset) return std::move(message);
  }
  if (messages->empty()) {
    return absl::NotFoundError(
        absl::StrCat("queue ", queue_id, " of topic [", topic, "] on broker [",
                     broker_name, "] holds no message at offset ", queue_offset,
                     " (its end: nothing is stored there yet)"));
  }
  return absl::DataLossError(absl::StrCat(
      "broker [", broker_name, "] answered a pull at offset ", queue_offset,
      " of queue ", queue_id, " without that message"));
}

absl::StatusOr<int64_t> Admin::SearchOffset(const std::string& topic,
                                            const std::string& broker_name,
                                            int32_t queue_id,
                                            int64_t timestamp_millis) {
  absl::StatusOr<std::shared_ptr<ClientInstance>> instance =
      InstanceWithBroker(topic, broker_name);
  if (!instance.ok()) return instance.status();
  remoting::Command search =
      remoting::MakeRequest(proto::SEARCH_OFFSET_BY_TIMESTAMP);
  search.header.mutable_queue_offset()->set_topic(topic);
  search.header.mutable_queue_offset()->set_queue_id(queue_id);
  search.header.mutable_queue_offset()->set_timestamp(timestamp_millis);
  std::string addr;
  absl::StatusOr<remoting::Command> found =
      CallForRead(instance->get(), broker_name, search, &addr);
  if (!found.ok()) return found.status();
  if (absl::Status s = ResponseStatus(*found); !s.ok()) {
    return Annotate(s, addr);
  }
  return found->header.queue_offset_response().offset();
}

}  // namespace cometmq::client
