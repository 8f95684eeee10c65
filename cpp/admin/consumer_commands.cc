// The consumer group subcommands: consumerProgress, resetOffsetByTime and
// updateSubGroup (not available yet).

#include <algorithm>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "cpp/admin/command.h"

namespace cometmq::admin {
namespace {

absl::Status ConsumerProgress(const CommandContext& ctx) {
  const std::string group = ctx.args.Get('g');
  const std::string topic = ctx.args.Get('t');
  absl::StatusOr<std::vector<client::QueueProgress>> progress =
      ctx.admin->ConsumerProgress(group, topic);
  if (!progress.ok()) return TopicStatus(progress.status(), topic);
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

// "now" or milliseconds since the epoch.
absl::StatusOr<int64_t> ParseTimestamp(const std::string& text) {
  if (text == "now") return absl::ToUnixMillis(absl::Now());
  int64_t millis = 0;
  if (!absl::SimpleAtoi(text, &millis) || millis < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "-s needs 'now' or milliseconds since the epoch, got '", text, "'"));
  }
  return millis;
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

}  // namespace

std::vector<CommandSpec> ConsumerCommands() {
  return {
      {"consumerProgress",
       "Consumer groups",
       "Show a group's broker offset, consumer offset and lag per queue",
       {NamesrvFlag(),
        GroupFlag(),
        {'t', "topic", "TOPIC", false, "only this topic (default: all)"}},
       ConsumerProgress,
       ""},
      {"resetOffsetByTime",
       "Consumer groups",
       "Set a group's offsets on a topic to the first message stored at or "
       "after a time (stop the group's consumers first)",
       {NamesrvFlag(),
        GroupFlag(),
        TopicFlag(),
        {'s', "timestamp", "TIMESTAMP", true,
         "'now' or milliseconds since the epoch"}},
       ResetOffsetByTime,
       ""},
      {"updateSubGroup",
       "Consumer groups",
       "Create or update a subscription group",
       {NamesrvFlag(),
        GroupFlag(),
        {'c', "clusterName", "CLUSTER", false, "cluster"},
        {'b', "brokerAddr", "BROKERADDR", false, "broker address"}},
       nullptr,
       "updateSubGroup is not available yet: the broker does not support "
       "UPDATE_AND_CREATE_SUBSCRIPTIONGROUP (groups are created on first "
       "use)"},
  };
}

}  // namespace cometmq::admin
