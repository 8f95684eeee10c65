// The consumer group subcommands: consumerProgress, resetOffsetByTime and
// updateSubGroup.

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

absl::Status ResetOffsetByTime(const CommandContext& ctx) {
  const std::string group = ctx.args.Get('g');
  const std::string topic = ctx.args.Get('t');
  absl::StatusOr<int64_t> timestamp = ParseTimestamp(ctx.args.Get('s'));
  if (!timestamp.ok()) return timestamp.status();
  absl::StatusOr<std::vector<client::QueueReset>> resets =
      ctx.admin->ResetOffsetByTime(group, topic, *timestamp);
  if (!resets.ok()) return TopicStatus(resets.status(), topic);
  Table table({"#Broker Name", "#QID", "#Offset"});
  JsonValue queues = JsonValue::Array();
  for (const client::QueueReset& q : *resets) {
    table.AddRow(
        {q.broker_name, absl::StrCat(q.queue_id), absl::StrCat(q.offset)});
    JsonValue entry = JsonValue::Object();
    entry.Set("brokerName", JsonValue::String(q.broker_name))
        .Set("queueId", JsonValue::Int(q.queue_id))
        .Set("offset", JsonValue::Int(q.offset));
    queues.Push(std::move(entry));
  }
  JsonValue json = JsonValue::Object();
  json.Set("group", JsonValue::String(group))
      .Set("topic", JsonValue::String(topic))
      .Set("timestamp", JsonValue::Int(*timestamp))
      .Set("queues", std::move(queues));
  ctx.Emit(absl::StrCat(table.Render(),
                        "\nRunning consumers of the group may overwrite these "
                        "offsets with their own commits; stop them before "
                        "resetting.\n"),
           json);
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
       "after a time (stop the group's consumers first)",
       {NamesrvFlag(),
        GroupFlag(),
        TopicFlag(),
        {'s', "timestamp", "TIMESTAMP", true,
         "'now', milliseconds since the epoch or yyyy-MM-dd#HH:mm:ss:SSS "
         "(local time)"}},
       ResetOffsetByTime},
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
  };
}

}  // namespace cometmq::admin
