// The topic subcommands: updateTopic, deleteTopic, topicList, topicRoute,
// topicStatus.

#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "cpp/admin/command.h"
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
  absl::Status status =
      broker.empty()
          ? ctx.admin->CreateTopic(topic, cluster, static_cast<int32_t>(*read),
                                   static_cast<int32_t>(*write))
          : ctx.admin->CreateTopicOnBroker(topic, broker,
                                           static_cast<int32_t>(*read),
                                           static_cast<int32_t>(*write));
  if (!status.ok()) return status;
  const std::string where =
      broker.empty() ? absl::StrCat("cluster ", cluster) : broker;
  JsonValue json = JsonValue::Object();
  json.Set("topic", JsonValue::String(topic))
      .Set(broker.empty() ? "cluster" : "brokerAddr",
           JsonValue::String(broker.empty() ? cluster : broker))
      .Set("readQueueNums", JsonValue::Int(*read))
      .Set("writeQueueNums", JsonValue::Int(*write))
      .Set("success", JsonValue::Bool(true));
  ctx.Emit(absl::StrCat("create topic [", topic, "] to ", where,
                        " success (read queues ", *read, ", write queues ",
                        *write, ").\n"),
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

absl::Status TopicList(const CommandContext& ctx) {
  absl::StatusOr<std::vector<std::string>> topics = ctx.admin->TopicList();
  if (!topics.ok()) return topics.status();
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

std::string PermName(int32_t perm) {
  std::string name;
  if (perm & proto::PERM_READ) name += "R";
  if (perm & proto::PERM_WRITE) name += "W";
  return name.empty() ? "-" : name;
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
  Table queues({"#Broker Name", "#Read Queues", "#Write Queues", "#Perm"});
  JsonValue queue_list = JsonValue::Array();
  for (const proto::QueueData& queue : route->queue_datas()) {
    queues.AddRow({queue.broker_name(), absl::StrCat(queue.read_queue_nums()),
                   absl::StrCat(queue.write_queue_nums()),
                   PermName(queue.perm())});
    JsonValue entry = JsonValue::Object();
    entry.Set("brokerName", JsonValue::String(queue.broker_name()))
        .Set("readQueueNums", JsonValue::Int(queue.read_queue_nums()))
        .Set("writeQueueNums", JsonValue::Int(queue.write_queue_nums()))
        .Set("perm", JsonValue::Int(queue.perm()));
    queue_list.Push(std::move(entry));
  }
  JsonValue json = JsonValue::Object();
  json.Set("topic", JsonValue::String(topic))
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
        {'w', "writeQueueNums", "WRITE", false, "write queues (default 8)"}},
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
       {NamesrvFlag()},
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
  };
}

}  // namespace cometmq::admin
