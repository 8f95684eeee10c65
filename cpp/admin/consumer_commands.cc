// The consumer and producer group subcommands: consumerProgress,
// resetOffsetByTime, skipAccumulatedMessage, cloneGroupOffset,
// updateSubGroup, deleteSubGroup, consumerConnection and producerConnection.

#include <algorithm>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "cpp/admin/command.h"
#include "proto/remoting.pb.h"

namespace cometmq::admin {
namespace {

absl::Status ConsumerProgress(const CommandContext& ctx) {
  const std::string group = ctx.args.Get('g');
  const std::string topic = ctx.args.Get('t');
  absl::StatusOr<std::vector<client::QueueProgress>> progress =
      ctx.admin->ConsumerProgress(group, topic);
  if (!progress.ok()) return TopicStatus(progress.status(), topic);
  if (progress->empty() && topic.empty()) {
    // An empty table would read as "no lag" for a misspelt group; RocketMQ
    // fails here too.
    return absl::NotFoundError(absl::StrCat(
        "consumer group [", group,
        "] has no committed offsets and no online consumer on any broker"));
  }
  std::sort(progress->begin(), progress->end(),
            [](const client::QueueProgress& a, const client::QueueProgress& b) {
              return std::tie(a.topic, a.broker_name, a.queue_id) <
                     std::tie(b.topic, b.broker_name, b.queue_id);
            });
  Table table({"#Topic", "#Broker Name", "#QID", "#Broker Offset",
               "#Consumer Offset", "#Diff"});
  JsonValue queues = JsonValue::Array();
  int64_t total = 0;
  for (const client::QueueProgress& q : *progress) {
    table.AddRow({q.topic, q.broker_name, absl::StrCat(q.queue_id),
                  absl::StrCat(q.broker_offset),
                  absl::StrCat(q.consumer_offset), absl::StrCat(q.lag)});
    total += q.lag;
    JsonValue entry = JsonValue::Object();
    entry.Set("topic", JsonValue::String(q.topic))
        .Set("brokerName", JsonValue::String(q.broker_name))
        .Set("queueId", JsonValue::Int(q.queue_id))
        .Set("brokerOffset", JsonValue::Int(q.broker_offset))
        .Set("consumerOffset", JsonValue::Int(q.consumer_offset))
        .Set("diff", JsonValue::Int(q.lag));
    queues.Push(std::move(entry));
  }
  JsonValue json = JsonValue::Object();
  json.Set("group", JsonValue::String(group))
      .Set("queues", std::move(queues))
      .Set("diffTotal", JsonValue::Int(total));
  ctx.Emit(absl::StrCat(table.Render(), "\nDiff Total: ", total, "\n"), json);
  return absl::OkStatus();
}

// "true"/"false" for a boolean option.
absl::StatusOr<bool> GetBool(const ParsedArgs& args, char letter,
                             bool fallback) {
  if (!args.Has(letter)) return fallback;
  const std::string value = args.Get(letter);
  if (value == "true") return true;
  if (value == "false") return false;
  return absl::InvalidArgumentError(absl::StrCat(
      "-", std::string(1, letter), " needs true or false, got '", value, "'"));
}

// Prints what ResetOffsetByTime did, for resetOffsetByTime (`timestamp`
// as given in -s) and skipAccumulatedMessage (timestamp -1).
absl::Status ResetOffsets(const CommandContext& ctx, int64_t timestamp,
                          const std::string& timestamp_text) {
  const std::string group = ctx.args.Get('g');
  const std::string topic = ctx.args.Get('t');
  // As RocketMQ: force unless -f false.
  absl::StatusOr<bool> force = GetBool(ctx.args, 'f', true);
  if (!force.ok()) return force.status();
  absl::StatusOr<client::OffsetReset> reset =
      ctx.admin->ResetOffsetByTime(group, topic, timestamp, *force);
  if (!reset.ok()) return TopicStatus(reset.status(), topic);
  Table table({"#Broker Name", "#QID", "#Offset"});
  JsonValue queues = JsonValue::Array();
  size_t online = 0;
  for (const client::QueueReset& q : reset->queues) {
    table.AddRow(
        {q.broker_name, absl::StrCat(q.queue_id), absl::StrCat(q.offset)});
    JsonValue entry = JsonValue::Object();
    entry.Set("brokerName", JsonValue::String(q.broker_name))
        .Set("queueId", JsonValue::Int(q.queue_id))
        .Set("offset", JsonValue::Int(q.offset))
        .Set("online", JsonValue::Bool(q.online));
    queues.Push(std::move(entry));
    if (q.online) ++online;
  }
  // "online": the brokers reset the offsets and told the group's running
  // consumers; "direct": no consumer was online, the offsets were written.
  const std::string path = online == 0                      ? "direct"
                           : online == reset->queues.size() ? "online"
                                                            : "mixed";
  JsonValue json = JsonValue::Object();
  json.Set("group", JsonValue::String(group))
      .Set("topic", JsonValue::String(topic))
      .Set("timestamp", JsonValue::Int(timestamp))
      .Set("force", JsonValue::Bool(*force))
      .Set("path", JsonValue::String(path))
      .Set("clientsNotified", JsonValue::Int(reset->clients_notified))
      .Set("queues", std::move(queues));
  std::string text = absl::StrCat(
      "reset consumer offset by specified group[", group, "], topic[", topic,
      "], force[", *force ? "true" : "false", "], timestamp(string)[",
      timestamp_text, "], timestamp(long)[", timestamp, "]\n");
  if (path == "online") {
    absl::StrAppend(&text,
                    "The brokers reset the offsets and told the group's "
                    "online consumers (",
                    reset->clients_notified,
                    " notified); they continue from the new offsets.\n");
  } else if (path == "direct") {
    absl::StrAppend(&text,
                    "The group has no online consumer: the offsets were "
                    "written directly.\n");
  } else {
    absl::StrAppend(
        &text,
        "The group was online on some brokers only: their consumers were "
        "told; the queues of the other brokers were written directly.\n");
  }
  absl::StrAppend(&text, table.Render());
  ctx.Emit(text, json);
  return absl::OkStatus();
}

absl::Status CloneGroupOffset(const CommandContext& ctx) {
  const std::string src = ctx.args.Get('s');
  const std::string dest = ctx.args.Get('d');
  const std::string topic = ctx.args.Get('t');
  if (src == dest) {
    return absl::InvalidArgumentError("-s and -d name the same group");
  }
  absl::StatusOr<bool> offline = GetBool(ctx.args, 'o', false);
  if (!offline.ok()) return offline.status();
  absl::StatusOr<std::vector<client::GroupOffsetClone>> clones =
      ctx.admin->CloneGroupOffset(src, dest, topic, *offline);
  if (!clones.ok()) return TopicStatus(clones.status(), topic);
  Table table({"#Broker Name", "#Cloned", "#Clients Notified"});
  JsonValue brokers = JsonValue::Array();
  int cloned = 0;
  for (const client::GroupOffsetClone& c : *clones) {
    const bool done = !c.topics.empty();
    cloned += done ? 1 : 0;
    table.AddRow({c.broker_name, done ? "true" : "false",
                  absl::StrCat(c.clients_notified)});
    JsonValue entry = JsonValue::Object();
    entry.Set("brokerName", JsonValue::String(c.broker_name))
        .Set("cloned", JsonValue::Bool(done))
        .Set("clientsNotified", JsonValue::Int(c.clients_notified));
    brokers.Push(std::move(entry));
  }
  JsonValue json = JsonValue::Object();
  json.Set("srcGroup", JsonValue::String(src))
      .Set("destGroup", JsonValue::String(dest))
      .Set("topic", JsonValue::String(topic))
      .Set("offline", JsonValue::Bool(*offline))
      .Set("brokers", std::move(brokers));
  std::string text =
      absl::StrCat("clone group offset success. srcGroup[", src,
                   "], destGroup[", dest, "], topic[", topic, "]\n");
  if (cloned < static_cast<int>(clones->size())) {
    absl::StrAppend(&text,
                    "Not cloned where the source group has no offsets, or "
                    "is online without subscribing to the topic (-o true "
                    "clones it anyway).\n");
  }
  absl::StrAppend(&text, table.Render());
  ctx.Emit(text, json);
  return absl::OkStatus();
}

absl::Status ResetOffsetByTime(const CommandContext& ctx) {
  const std::string text = ctx.args.Get('s');
  absl::StatusOr<int64_t> timestamp = ParseTimestamp(text);
  if (!timestamp.ok()) return timestamp.status();
  return ResetOffsets(ctx, *timestamp, text);
}

absl::Status SkipAccumulatedMessage(const CommandContext& ctx) {
  return ResetOffsets(ctx, /*timestamp=*/-1, "-1");
}

absl::Status UpdateSubGroup(const CommandContext& ctx) {
  const std::string cluster = ctx.args.Get('c');
  const std::string broker = ctx.args.Get('b');
  if (cluster.empty() == broker.empty()) {
    return absl::InvalidArgumentError(
        "updateSubGroup needs exactly one of -c CLUSTER and -b BROKERADDR");
  }
  absl::StatusOr<bool> consume_enable = GetBool(ctx.args, 's', true);
  if (!consume_enable.ok()) return consume_enable.status();
  absl::StatusOr<int64_t> retry_max = ctx.args.GetInt('r', 16);
  if (!retry_max.ok()) return retry_max.status();
  absl::StatusOr<int64_t> retry_queues = ctx.args.GetInt('q', 1);
  if (!retry_queues.ok()) return retry_queues.status();
  if (*retry_max < 0 || *retry_max > 1000 || *retry_queues < 0 ||
      *retry_queues > 1024) {
    return absl::InvalidArgumentError(
        "-r must be between 0 and 1000 and -q between 0 and 1024");
  }
  proto::SubscriptionGroupConfig group;
  group.set_group_name(ctx.args.Get('g'));
  group.set_consume_enable(*consume_enable);
  group.set_retry_max_times(static_cast<int32_t>(*retry_max));
  group.set_retry_queue_nums(static_cast<int32_t>(*retry_queues));
  absl::StatusOr<std::vector<std::string>> addrs =
      ctx.admin->UpdateSubscriptionGroup(group, cluster, broker);
  if (!addrs.ok()) return addrs.status();
  JsonValue brokers = JsonValue::Array();
  std::string text;
  for (const std::string& addr : *addrs) {
    brokers.Push(JsonValue::String(addr));
    absl::StrAppend(&text, "create subscription group [", group.group_name(),
                    "] to ", addr, " success.\n");
  }
  JsonValue json = JsonValue::Object();
  json.Set("groupName", JsonValue::String(group.group_name()))
      .Set("consumeEnable", JsonValue::Bool(group.consume_enable()))
      .Set("retryMaxTimes", JsonValue::Int(group.retry_max_times()))
      .Set("retryQueueNums", JsonValue::Int(group.retry_queue_nums()))
      .Set("brokers", std::move(brokers));
  ctx.Emit(text, json);
  return absl::OkStatus();
}

// The clients' table and its JSON, in RocketMQ's columns.
void AddConnections(const std::vector<client::ClientConnection>& connections,
                    Table* table, JsonValue* json) {
  for (const client::ClientConnection& c : connections) {
    table->AddRow({c.client_id, c.address, c.language, c.version});
    JsonValue entry = JsonValue::Object();
    entry.Set("clientId", JsonValue::String(c.client_id))
        .Set("clientAddr", JsonValue::String(c.address))
        .Set("language", JsonValue::String(c.language))
        .Set("version", JsonValue::String(c.version));
    json->Push(std::move(entry));
  }
}

// As RocketMQ's consumerConnection: the clients, the subscription table,
// then consume type, message model and consume-from-where.
absl::Status ConsumerConnection(const CommandContext& ctx) {
  const std::string group = ctx.args.Get('g');
  absl::StatusOr<client::ConsumerConnectionInfo> info =
      ctx.admin->ConsumerConnection(group, ctx.args.Get('b'));
  if (!info.ok()) return info.status();
  Table clients({"#ClientId", "#ClientAddr", "#Language", "#Version"});
  JsonValue connections = JsonValue::Array();
  AddConnections(info->connections, &clients, &connections);
  Table subscriptions({"#Topic", "#SubExpression", "#Type"});
  JsonValue subs = JsonValue::Array();
  for (const auto& [topic, expression] : info->subscriptions) {
    const std::string& type = info->expression_types.at(topic);
    subscriptions.AddRow({topic, expression, type});
    JsonValue entry = JsonValue::Object();
    entry.Set("topic", JsonValue::String(topic))
        .Set("subExpression", JsonValue::String(expression))
        .Set("expressionType", JsonValue::String(type));
    subs.Push(std::move(entry));
  }
  JsonValue json = JsonValue::Object();
  json.Set("group", JsonValue::String(group))
      .Set("connections", std::move(connections))
      .Set("subscriptions", std::move(subs))
      .Set("consumeType", JsonValue::String(info->consume_type))
      .Set("messageModel", JsonValue::String(info->message_model))
      .Set("consumeFromWhere", JsonValue::String(info->consume_from_where));
  ctx.Emit(absl::StrCat(clients.Render(), "\nBelow is subscription:\n",
                        subscriptions.Render(),
                        "\nConsumeType: ", info->consume_type,
                        "\nMessageModel: ", info->message_model,
                        "\nConsumeFromWhere: ", info->consume_from_where, "\n"),
           json);
  return absl::OkStatus();
}

absl::Status ProducerConnection(const CommandContext& ctx) {
  const std::string group = ctx.args.Get('g');
  const std::string topic = ctx.args.Get('t');
  absl::StatusOr<std::vector<client::ClientConnection>> producers =
      ctx.admin->ProducerConnection(group, topic);
  if (!producers.ok()) return TopicStatus(producers.status(), topic);
  Table clients({"#ClientId", "#ClientAddr", "#Language", "#Version"});
  JsonValue connections = JsonValue::Array();
  AddConnections(*producers, &clients, &connections);
  JsonValue json = JsonValue::Object();
  json.Set("group", JsonValue::String(group))
      .Set("topic", JsonValue::String(topic))
      .Set("connections", std::move(connections));
  ctx.Emit({clients}, json);
  return absl::OkStatus();
}

// As RocketMQ's deleteSubGroup: from one broker (-b) or every master of a
// cluster (-c), which also deletes the group's retry and DLQ topics from
// the cluster, best effort (a failure there is reported, not fatal).
absl::Status DeleteSubGroup(const CommandContext& ctx) {
  const std::string group = ctx.args.Get('g');
  const std::string cluster = ctx.args.Get('c');
  const std::string broker = ctx.args.Get('b');
  if (cluster.empty() == broker.empty()) {
    return absl::InvalidArgumentError(
        "deleteSubGroup needs exactly one of -c CLUSTER and -b BROKERADDR");
  }
  bool remove_offsets = false;
  if (ctx.args.Has('r')) {
    absl::StatusOr<bool> r = ParseBool('r', ctx.args.Get('r'));
    if (!r.ok()) return r.status();
    remove_offsets = *r;
  }
  absl::StatusOr<std::vector<client::DeletedGroup>> deleted =
      ctx.admin->DeleteSubscriptionGroup(group, cluster, broker,
                                         remove_offsets);
  if (!deleted.ok()) return deleted.status();
  std::string text;
  JsonValue brokers = JsonValue::Array();
  for (const client::DeletedGroup& d : *deleted) {
    absl::StrAppend(
        &text, "delete subscription group [", group, "] from broker [",
        d.broker_addr, "]",
        cluster.empty() ? "" : absl::StrCat(" in cluster [", cluster, "]"),
        " success.\n");
    // RocketMQ says success here too; the broker only logs it.
    if (!d.existed) {
      absl::StrAppend(&text, "  (broker [", d.broker_addr,
                      "] had no subscription group [", group, "])\n");
    }
    if (remove_offsets) {
      absl::StrAppend(&text, "  removed the group's offsets of ",
                      d.offsets_removed, " topic(s) on [", d.broker_addr,
                      "]\n");
    }
    JsonValue entry = JsonValue::Object();
    entry.Set("brokerAddr", JsonValue::String(d.broker_addr))
        .Set("existed", JsonValue::Bool(d.existed))
        .Set("offsetsRemoved", JsonValue::Int(d.offsets_removed));
    brokers.Push(std::move(entry));
  }
  JsonValue json = JsonValue::Object();
  json.Set("groupName", JsonValue::String(group))
      .Set("removeOffset", JsonValue::Bool(remove_offsets))
      .Set("brokers", std::move(brokers));
  if (!cluster.empty()) {
    JsonValue topics = JsonValue::Array();
    JsonValue errors = JsonValue::Object();
    for (const std::string& topic :
         {absl::StrCat("%RETRY%", group), absl::StrCat("%DLQ%", group)}) {
      absl::Status s = ctx.admin->DeleteTopic(topic, cluster);
      if (s.ok()) {
        topics.Push(JsonValue::String(topic));
        absl::StrAppend(&text, "delete topic [", topic, "] from cluster [",
                        cluster, "] success.\n");
      } else if (!absl::IsNotFound(s)) {
        errors.Set(topic, JsonValue::String(std::string(s.message())));
        absl::StrAppend(&text, "could not delete topic [", topic,
                        "]: ", s.message(), "\n");
      }
    }
    json.Set("deletedTopics", std::move(topics))
        .Set("topicErrors", std::move(errors));
  }
  ctx.Emit(text, json);
  return absl::OkStatus();
}

}  // namespace

std::vector<CommandSpec> ConsumerCommands() {
  return {
      {"consumerProgress",
       "Consumer groups",
       "Show a group's broker offset, consumer offset and lag per queue",
       {NamesrvFlag(),
        GroupFlag(),
        {'t', "topic", "TOPIC", false, "only this topic (default: all)"}},
       ConsumerProgress},
      {"resetOffsetByTime",
       "Consumer groups",
       "Set a group's offsets on a topic to the first message stored at or "
       "after a time; running consumers continue from there",
       {NamesrvFlag(),
        GroupFlag(),
        TopicFlag(),
        {'s', "timestamp", "TIMESTAMP", true,
         "'now', milliseconds since the epoch or yyyy-MM-dd#HH:mm:ss:SSS "
         "(local time)"},
        {'f', "force", "BOOL", false,
         "true (default): set every queue; false: only move a queue back, "
         "never past its committed offset"}},
       ResetOffsetByTime},
      {"skipAccumulatedMessage",
       "Consumer groups",
       "Skip a group's backlog on a topic: set its offsets to the end of "
       "every queue; running consumers continue from there",
       {NamesrvFlag(),
        GroupFlag(),
        TopicFlag(),
        {'f', "force", "BOOL", false,
         "true (default): set every queue; false: only move a queue back "
         "(so nothing is skipped)"}},
       SkipAccumulatedMessage},
      {"cloneGroupOffset",
       "Consumer groups",
       "Give a group another group's offsets on a topic; its running "
       "consumers continue from them",
       {NamesrvFlag(),
        {'s', "srcGroup", "GROUP", true, "the group whose offsets are copied"},
        {'d', "destGroup", "GROUP", true, "the group that takes them"},
        TopicFlag(),
        {'o', "offline", "BOOL", false,
         "true: clone even where the source group is online without "
         "subscribing to the topic (default false)"}},
       CloneGroupOffset},
      {"updateSubGroup",
       "Consumer groups",
       "Create or update a subscription group",
       {NamesrvFlag(),
        {'c', "clusterName", "CLUSTER", false,
         "update on every master of this cluster"},
        {'b', "brokerAddr", "BROKERADDR", false,
         "update on this broker only (instead of -c)"},
        GroupFlag(),
        {'s', "consumeEnable", "BOOL", false,
         "true or false: may the group consume (default true)"},
        {'r', "retryMaxTimes", "TIMES", false,
         "deliveries before a message goes to the DLQ (default 16)"},
        {'q', "retryQueueNums", "NUM", false,
         "queues of the group's retry topic (default 1)"}},
       UpdateSubGroup},
      {"deleteSubGroup",
       "Consumer groups",
       "Delete a subscription group from a broker or a cluster's masters "
       "(with -c also its retry and DLQ topics)",
       {NamesrvFlag(),
        {'b', "brokerAddr", "BROKERADDR", false,
         "delete from this broker (or -c)"},
        {'c', "clusterName", "CLUSTER", false,
         "delete from every master of this cluster, and delete the group's "
         "%RETRY% and %DLQ% topics"},
        GroupFlag(),
        {'r', "removeOffset", "BOOL", false,
         "true: also remove the group's committed offsets (default false)"}},
       DeleteSubGroup},
      {"consumerConnection",
       "Consumer groups",
       "Show a consumer group's online clients, subscriptions, consume type, "
       "message model and consume-from-where",
       {NamesrvFlag(),
        GroupFlag(),
        {'b', "brokerAddr", "BROKERADDR", false,
         "ask this broker (default: the brokers of the group's retry "
         "topic)"}},
       ConsumerConnection},
      {"producerConnection",
       "Producer groups",
       "Show a producer group's online clients on the brokers of a topic",
       {NamesrvFlag(),
        {'g', "producerGroup", "GROUP", true, "producer group name"},
        TopicFlag()},
       ProducerConnection},
  };
}

}  // namespace cometmq::admin
