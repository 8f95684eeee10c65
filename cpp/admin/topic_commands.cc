// The topic subcommands: updateTopic, updateTopicPerm, deleteTopic,
// topicList, topicRoute, topicStatus, topicClusterList.

#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "cpp/admin/command.h"
#include "cpp/client/client_error.h"
#include "cpp/common/message_record.h"
#include "proto/remoting.pb.h"

namespace cometmq::admin {
namespace {

absl::Status UpdateTopic(const CommandContext& ctx) {
  const std::string topic = ctx.args.Get('t');
  const std::string cluster = ctx.args.Get('c');
  const std::string broker = ctx.args.Get('b');
  if (cluster.empty() == broker.empty()) {
    return absl::InvalidArgumentError(
        "updateTopic needs exactly one of -c CLUSTER and -b BROKERADDR");
  }
  absl::StatusOr<int64_t> read = ctx.args.GetInt('r', 8);
  if (!read.ok()) return read.status();
  absl::StatusOr<int64_t> write = ctx.args.GetInt('w', 8);
  if (!write.ok()) return write.status();
  if (*read < 1 || *write < 1 || *read > 1024 || *write > 1024) {
    return absl::InvalidArgumentError(
        "-r and -w must be between 1 and 1024 queues");
  }
  client::TopicSettings settings;
  settings.read_queues = static_cast<int32_t>(*read);
  settings.write_queues = static_cast<int32_t>(*write);
  if (ctx.args.Has('p')) {
    absl::StatusOr<int32_t> perm = ParsePerm(ctx.args.Get('p'));
    if (!perm.ok()) return perm.status();
    settings.perm = *perm;
  }
  if (ctx.args.Has('o')) {
    absl::StatusOr<bool> order = ParseBool('o', ctx.args.Get('o'));
    if (!order.ok()) return order.status();
    settings.order = *order;
  }
  absl::Status status =
      broker.empty() ? ctx.admin->CreateTopic(topic, cluster, settings)
                     : ctx.admin->CreateTopicOnBroker(topic, broker, settings);
  if (!status.ok()) return status;
  const std::string where =
      broker.empty() ? absl::StrCat("cluster ", cluster) : broker;
  JsonValue json = JsonValue::Object();
  json.Set("topic", JsonValue::String(topic))
      .Set(broker.empty() ? "cluster" : "brokerAddr",
           JsonValue::String(broker.empty() ? cluster : broker))
      .Set("readQueueNums", JsonValue::Int(*read))
      .Set("writeQueueNums", JsonValue::Int(*write))
      .Set("perm", JsonValue::Int(settings.perm))
      .Set("order", JsonValue::Bool(settings.order))
      .Set("success", JsonValue::Bool(true));
  ctx.Emit(absl::StrCat("create topic [", topic, "] to ", where,
                        " success (read queues ", *read, ", write queues ",
                        *write, ", perm ", PermName(settings.perm), ", order ",
                        settings.order ? "true" : "false", ").\n"),
           json);
  return absl::OkStatus();
}

absl::Status DeleteTopic(const CommandContext& ctx) {
  const std::string topic = ctx.args.Get('t');
  const std::string cluster = ctx.args.Get('c');
  if (absl::Status status = ctx.admin->DeleteTopic(topic, cluster);
      !status.ok()) {
    return TopicStatus(status, topic);
  }
  JsonValue json = JsonValue::Object();
  json.Set("topic", JsonValue::String(topic))
      .Set("cluster", JsonValue::String(cluster))
      .Set("success", JsonValue::Bool(true));
  ctx.Emit(absl::StrCat("delete topic [", topic, "] from cluster [", cluster,
                        "] success.\n"),
           json);
  return absl::OkStatus();
}

// RocketMQ's orderTopicConf: "brokerName:writeQueueNums" of every broker
// holding the topic ordered, ';'-separated; empty when none does.
std::string OrderTopicConf(const proto::TopicRouteData& route) {
  std::vector<std::string> parts;
  for (const proto::QueueData& queue : route.queue_datas()) {
    if (queue.order()) {
      parts.push_back(
          absl::StrCat(queue.broker_name(), ":", queue.write_queue_nums()));
    }
  }
  return absl::StrJoin(parts, ";");
}

// topicList -c: per topic (retry and DLQ topics left out, as RocketMQ
// does) its cluster and every consumer group of it, one row per group.
absl::Status TopicListWithClusters(const CommandContext& ctx,
                                   const std::vector<std::string>& topics) {
  Table table({"#Cluster Name", "#Topic", "#Consumer Group"});
  JsonValue list = JsonValue::Array();
  for (const std::string& topic : topics) {
    if (absl::StartsWith(topic, kRetryGroupTopicPrefix) ||
        absl::StartsWith(topic, kDlqGroupTopicPrefix)) {
      continue;
    }
    absl::StatusOr<proto::TopicRouteData> route = ctx.admin->TopicRoute(topic);
    if (client::BrokerStatusCode(route.status()) == proto::TOPIC_NOT_EXIST) {
      continue;  // deleted since the list was taken
    }
    if (!route.ok()) return client::Annotate(route.status(), topic);
    std::set<std::string> clusters;
    for (const proto::BrokerData& broker : route->broker_datas()) {
      clusters.insert(broker.cluster());
    }
    const std::string cluster = absl::StrJoin(clusters, ",");
    absl::StatusOr<std::vector<std::string>> groups =
        ctx.admin->TopicConsumeByWho(topic);
    if (!groups.ok()) return client::Annotate(groups.status(), topic);
    if (groups->empty()) {
      table.AddRow({cluster, topic, ""});
    }
    JsonValue group_list = JsonValue::Array();
    for (const std::string& group : *groups) {
      table.AddRow({cluster, topic, group});
      group_list.Push(JsonValue::String(group));
    }
    JsonValue entry = JsonValue::Object();
    entry.Set("cluster", JsonValue::String(cluster))
        .Set("topic", JsonValue::String(topic))
        .Set("consumerGroups", std::move(group_list))
        .Set("order", JsonValue::Bool(!OrderTopicConf(*route).empty()));
    list.Push(std::move(entry));
  }
  JsonValue json = JsonValue::Object();
  json.Set("topics", std::move(list));
  ctx.Emit({table}, json);
  return absl::OkStatus();
}

absl::Status TopicList(const CommandContext& ctx) {
  absl::StatusOr<std::vector<std::string>> topics = ctx.admin->TopicList();
  if (!topics.ok()) return topics.status();
  if (ctx.args.Has('c')) return TopicListWithClusters(ctx, *topics);
  JsonValue list = JsonValue::Array();
  std::string text;
  for (const std::string& topic : *topics) {
    list.Push(JsonValue::String(topic));
    absl::StrAppend(&text, topic, "\n");
  }
  JsonValue json = JsonValue::Object();
  json.Set("topics", std::move(list));
  ctx.Emit(text, json);
  return absl::OkStatus();
}

absl::Status TopicRoute(const CommandContext& ctx) {
  const std::string topic = ctx.args.Get('t');
  absl::StatusOr<proto::TopicRouteData> route = ctx.admin->TopicRoute(topic);
  if (!route.ok()) return TopicStatus(route.status(), topic);
  Table brokers({"#Cluster", "#Broker Name", "#BID", "#Addr"});
  JsonValue broker_list = JsonValue::Array();
  for (const proto::BrokerData& broker : route->broker_datas()) {
    JsonValue addrs = JsonValue::Object();
    std::map<int64_t, std::string> sorted(broker.broker_addrs().begin(),
                                          broker.broker_addrs().end());
    for (const auto& [id, addr] : sorted) {
      brokers.AddRow(
          {broker.cluster(), broker.broker_name(), absl::StrCat(id), addr});
      addrs.Set(absl::StrCat(id), JsonValue::String(addr));
    }
    JsonValue entry = JsonValue::Object();
    entry.Set("cluster", JsonValue::String(broker.cluster()))
        .Set("brokerName", JsonValue::String(broker.broker_name()))
        .Set("brokerAddrs", std::move(addrs));
    broker_list.Push(std::move(entry));
  }
  Table queues(
      {"#Broker Name", "#Read Queues", "#Write Queues", "#Perm", "#Order"});
  JsonValue queue_list = JsonValue::Array();
  for (const proto::QueueData& queue : route->queue_datas()) {
    queues.AddRow({queue.broker_name(), absl::StrCat(queue.read_queue_nums()),
                   absl::StrCat(queue.write_queue_nums()),
                   PermName(queue.perm()), queue.order() ? "true" : "false"});
    JsonValue entry = JsonValue::Object();
    entry.Set("brokerName", JsonValue::String(queue.broker_name()))
        .Set("readQueueNums", JsonValue::Int(queue.read_queue_nums()))
        .Set("writeQueueNums", JsonValue::Int(queue.write_queue_nums()))
        .Set("perm", JsonValue::Int(queue.perm()))
        .Set("order", JsonValue::Bool(queue.order()));
    queue_list.Push(std::move(entry));
  }
  JsonValue json = JsonValue::Object();
  json.Set("topic", JsonValue::String(topic))
      .Set("orderTopicConf", JsonValue::String(OrderTopicConf(*route)))
      .Set("brokerDatas", std::move(broker_list))
      .Set("queueDatas", std::move(queue_list));
  ctx.Emit({brokers, queues}, json);
  return absl::OkStatus();
}

absl::Status TopicStatusCommand(const CommandContext& ctx) {
  const std::string topic = ctx.args.Get('t');
  absl::StatusOr<std::vector<client::QueueOffsets>> stats =
      ctx.admin->TopicStats(topic);
  if (!stats.ok()) return TopicStatus(stats.status(), topic);
  Table table(
      {"#Broker Name", "#QID", "#Min Offset", "#Max Offset", "#Last Updated"});
  JsonValue queues = JsonValue::Array();
  for (const client::QueueOffsets& q : *stats) {
    table.AddRow({q.broker_name, absl::StrCat(q.queue_id),
                  absl::StrCat(q.min_offset), absl::StrCat(q.max_offset),
                  FormatMillis(q.last_update_timestamp)});
    JsonValue entry = JsonValue::Object();
    entry.Set("brokerName", JsonValue::String(q.broker_name))
        .Set("queueId", JsonValue::Int(q.queue_id))
        .Set("minOffset", JsonValue::Int(q.min_offset))
        .Set("maxOffset", JsonValue::Int(q.max_offset))
        .Set("lastUpdateTimestamp", JsonValue::Int(q.last_update_timestamp));
    queues.Push(std::move(entry));
  }
  JsonValue json = JsonValue::Object();
  json.Set("topic", JsonValue::String(topic)).Set("queues", std::move(queues));
  ctx.Emit({table}, json);
  return absl::OkStatus();
}

// The brokers updateTopicPerm changes: the master at `broker_addr`, or every
// master of `cluster`, among those holding the topic.
absl::StatusOr<std::vector<proto::BrokerData>> BrokersToChange(
    const proto::TopicRouteData& route, const std::string& topic,
    const std::string& cluster, const std::string& broker_addr) {
  std::vector<proto::BrokerData> brokers;
  for (const proto::BrokerData& broker : route.broker_datas()) {
    auto master = broker.broker_addrs().find(0);
    if (!cluster.empty()) {
      if (broker.cluster() == cluster &&
          master != broker.broker_addrs().end()) {
        brokers.push_back(broker);
      }
      continue;
    }
    for (const auto& [id, addr] : broker.broker_addrs()) {
      if (addr != broker_addr) continue;
      if (id != 0) {
        return absl::InvalidArgumentError(absl::StrCat(
            broker_addr, " is a slave (broker id ", id, ") of [",
            broker.broker_name(), "]; change the topic on its master"));
      }
      brokers.push_back(broker);
    }
  }
  if (brokers.empty()) {
    return absl::NotFoundError(
        absl::StrCat("topic [", topic, "] is on no master ",
                     cluster.empty() ? absl::StrCat("at ", broker_addr)
                                     : absl::StrCat("of cluster ", cluster)));
  }
  return brokers;
}

absl::Status UpdateTopicPerm(const CommandContext& ctx) {
  const std::string topic = ctx.args.Get('t');
  const std::string cluster = ctx.args.Get('c');
  const std::string broker_addr = ctx.args.Get('b');
  if (cluster.empty() == broker_addr.empty()) {
    return absl::InvalidArgumentError(
        "updateTopicPerm needs exactly one of -c CLUSTER and -b BROKERADDR");
  }
  absl::StatusOr<int32_t> perm = ParsePerm(ctx.args.Get('p'));
  if (!perm.ok()) return perm.status();
  absl::StatusOr<proto::TopicRouteData> route = ctx.admin->TopicRoute(topic);
  if (!route.ok()) return TopicStatus(route.status(), topic);
  absl::StatusOr<std::vector<proto::BrokerData>> brokers =
      BrokersToChange(*route, topic, cluster, broker_addr);
  if (!brokers.ok()) return brokers.status();
  std::string text;
  JsonValue changes = JsonValue::Array();
  for (const proto::BrokerData& broker : *brokers) {
    const std::string& addr = broker.broker_addrs().at(0);
    const proto::QueueData* queues = nullptr;
    for (const proto::QueueData& q : route->queue_datas()) {
      if (q.broker_name() == broker.broker_name()) queues = &q;
    }
    if (queues == nullptr) continue;  // a broker without queues of it
    JsonValue entry = JsonValue::Object();
    entry.Set("brokerName", JsonValue::String(broker.broker_name()))
        .Set("brokerAddr", JsonValue::String(addr))
        .Set("oldPerm", JsonValue::Int(queues->perm()))
        .Set("newPerm", JsonValue::Int(*perm));
    if (queues->perm() == *perm) {
      absl::StrAppend(&text, "topic [", topic, "] on ", addr, " already has ",
                      "perm ", PermName(*perm), "; unchanged.\n");
      entry.Set("changed", JsonValue::Bool(false));
      changes.Push(std::move(entry));
      continue;
    }
    client::TopicSettings settings;
    settings.read_queues = queues->read_queue_nums();
    settings.write_queues = queues->write_queue_nums();
    settings.perm = *perm;
    settings.order = queues->order();
    if (absl::Status status =
            ctx.admin->CreateTopicOnBroker(topic, addr, settings);
        !status.ok()) {
      return client::Annotate(status, addr);
    }
    absl::StrAppend(&text, "update topic [", topic, "] perm from ",
                    PermName(queues->perm()), " to ", PermName(*perm), " on ",
                    addr, " success.\n");
    entry.Set("changed", JsonValue::Bool(true));
    changes.Push(std::move(entry));
  }
  JsonValue json = JsonValue::Object();
  json.Set("topic", JsonValue::String(topic))
      .Set("brokers", std::move(changes));
  ctx.Emit(text, json);
  return absl::OkStatus();
}

absl::Status TopicClusterList(const CommandContext& ctx) {
  const std::string topic = ctx.args.Get('t');
  absl::StatusOr<proto::TopicRouteData> route = ctx.admin->TopicRoute(topic);
  if (!route.ok()) return TopicStatus(route.status(), topic);
  std::set<std::string> clusters;
  for (const proto::BrokerData& broker : route->broker_datas()) {
    clusters.insert(broker.cluster());
  }
  Table table({"#Cluster Name"});
  JsonValue list = JsonValue::Array();
  for (const std::string& cluster : clusters) {
    table.AddRow({cluster});
    list.Push(JsonValue::String(cluster));
  }
  JsonValue json = JsonValue::Object();
  json.Set("topic", JsonValue::String(topic)).Set("clusters", std::move(list));
  ctx.Emit({table}, json);
  return absl::OkStatus();
}

}  // namespace

std::vector<CommandSpec> TopicCommands() {
  return {
      {"updateTopic",
       "Topics",
       "Create or update a topic on every master of a cluster, or on one "
       "broker",
       {NamesrvFlag(),
        {'c', "clusterName", "CLUSTER", false,
         "create on every master of this cluster"},
        {'b', "brokerAddr", "BROKERADDR", false,
         "create on this broker only (instead of -c)"},
        TopicFlag(),
        {'r', "readQueueNums", "READ", false, "read queues (default 8)"},
        {'w', "writeQueueNums", "WRITE", false, "write queues (default 8)"},
        {'p', "perm", "PERM", false,
         "2 write only (pulls refused), 4 read only (sends refused with "
         "NO_PERMISSION), 6 read and write (default 6)"},
        {'o', "order", "true|false", false,
         "mark the topic ordered (default false): stored in its config and "
         "shown by topicRoute and topicList -c; queue choice is unchanged, "
         "per-key order comes from sending with a sharding key and "
         "consuming orderly"}},
       UpdateTopic},
      {"deleteTopic",
       "Topics",
       "Delete a topic from the masters of a cluster and the NameServers",
       {NamesrvFlag(),
        {'c', "clusterName", "CLUSTER", true, "cluster holding the topic"},
        TopicFlag()},
       DeleteTopic},
      {"topicList",
       "Topics",
       "List every topic the NameServer knows",
       {NamesrvFlag(),
        SwitchFlag('c', "clusterModel",
                   "print each topic's cluster and consumer groups (#Cluster "
                   "Name, #Topic, #Consumer Group; retry and DLQ topics left "
                   "out)")},
       TopicList},
      {"topicRoute",
       "Topics",
       "Show a topic's brokers and queues",
       {NamesrvFlag(), TopicFlag()},
       TopicRoute},
      {"topicStatus",
       "Topics",
       "Show min/max offset and last update time of every queue of a topic",
       {NamesrvFlag(), TopicFlag()},
       TopicStatusCommand},
      {"updateTopicPerm",
       "Topics",
       "Change a topic's permission on one master or every master of a "
       "cluster, keeping its queues",
       {NamesrvFlag(),
        {'c', "clusterName", "CLUSTER", false,
         "on every master of this cluster holding the topic"},
        {'b', "brokerAddr", "BROKERADDR", false,
         "on this master only (instead of -c)"},
        TopicFlag(),
        {'p', "perm", "PERM", true,
         "2 write only, 4 read only, 6 read and write"}},
       UpdateTopicPerm},
      {"topicClusterList",
       "Topics",
       "List the clusters holding a topic",
       {NamesrvFlag(), TopicFlag()},
       TopicClusterList},
  };
}

}  // namespace cometmq::admin
