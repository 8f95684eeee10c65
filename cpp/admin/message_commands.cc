// The message subcommands: queryMsgById, queryMsgByUniqueKey,
// queryMsgByOffset, queryMsgByKey, sendMessage and consumeMessage.

#include <algorithm>
#include <limits>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "cpp/admin/command.h"
#include "cpp/client/client_error.h"
#include "cpp/client/message.h"
#include "cpp/client/message_queue.h"
#include "cpp/client/producer.h"

namespace cometmq::admin {
namespace {

bool IsPrintableAscii(const std::string& body) {
  for (char c : body) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x80 || (byte < 0x20 && c != '\n' && c != '\t' && c != '\r')) {
      return false;
    }
  }
  return true;
}

JsonValue MessageJson(const client::MessageExt& m) {
  JsonValue keys = JsonValue::Array();
  for (const std::string& key : m.keys) keys.Push(JsonValue::String(key));
  JsonValue properties = JsonValue::Object();
  for (const auto& [name, value] : m.properties) {
    properties.Set(name, JsonValue::String(value));
  }
  JsonValue json = JsonValue::Object();
  json.Set("topic", JsonValue::String(m.topic))
      .Set("msgId", JsonValue::String(m.msg_id))
      .Set("offsetMsgId", JsonValue::String(m.offset_msg_id))
      .Set("brokerName", JsonValue::String(m.broker_name))
      .Set("queueId", JsonValue::Int(m.queue_id))
      .Set("queueOffset", JsonValue::Int(m.queue_offset))
      .Set("commitLogOffset", JsonValue::Int(m.commit_log_offset))
      .Set("tags", JsonValue::String(m.tags))
      .Set("keys", std::move(keys))
      .Set("bornTimestamp", JsonValue::Int(m.born_timestamp))
      .Set("storeTimestamp", JsonValue::Int(m.store_timestamp))
      .Set("reconsumeTimes", JsonValue::Int(m.reconsume_times))
      .Set("properties", std::move(properties));
  if (IsPrintableAscii(m.body)) {
    json.Set("body", JsonValue::String(m.body));
  } else {
    json.Set("bodyBase64", JsonValue::String(absl::Base64Escape(m.body)));
  }
  return json;
}

Table MessageTable(const client::MessageExt& m) {
  std::vector<std::string> properties;
  for (const auto& [name, value] : m.properties) {
    properties.push_back(absl::StrCat(name, "=", value));
  }
  Table table({"#Field", "#Value"});
  table.AddRow({"Topic", m.topic});
  table.AddRow({"Tags", m.tags});
  table.AddRow({"Keys", absl::StrJoin(m.keys, " ")});
  table.AddRow({"Msg Id", m.msg_id});
  table.AddRow({"Offset Msg Id", m.offset_msg_id});
  table.AddRow({"Broker Name", m.broker_name});
  table.AddRow({"Queue ID", absl::StrCat(m.queue_id)});
  table.AddRow({"Queue Offset", absl::StrCat(m.queue_offset)});
  table.AddRow({"CommitLog Offset", absl::StrCat(m.commit_log_offset)});
  table.AddRow({"Reconsume Times", absl::StrCat(m.reconsume_times)});
  table.AddRow({"Born Timestamp", FormatMillis(m.born_timestamp)});
  table.AddRow({"Store Timestamp", FormatMillis(m.store_timestamp)});
  table.AddRow({"Properties", absl::StrJoin(properties, ", ")});
  table.AddRow({"Body Length", absl::StrCat(m.body.size())});
  table.AddRow(
      {"Body", IsPrintableAscii(m.body) ? absl::CEscape(m.body) : "(binary)"});
  return table;
}

// What a user who gave a producer's msg id without -t should read.
constexpr char kProducerIdHint[] =
    "a producer's msg id (the msgId of its SendResult) needs -t TOPIC";

absl::Status QueryMsgById(const CommandContext& ctx) {
  const std::string id = ctx.args.Get('i');
  const std::string topic = ctx.args.Get('t');
  absl::StatusOr<client::MessageExt> message =
      topic.empty() ? ctx.admin->ViewMessage(id)
                    : ctx.admin->ViewMessageInTopic(topic, id);
  if (!message.ok()) {
    const absl::Status& status = message.status();
    if (!topic.empty()) {
      // NotFound names the id and the topic already.
      if (client::BrokerStatusCode(status) == proto::TOPIC_NOT_EXIST ||
          absl::IsNotFound(status)) {
        return TopicStatus(status, topic);
      }
    } else if (!client::BrokerStatusCode(status).has_value() &&
               (absl::IsInvalidArgument(status) || absl::IsNotFound(status))) {
      // Not a broker's answer: the id is no offset message id of this
      // cluster, which is what a producer's msg id looks like.
      return absl::Status(
          status.code(), absl::StrCat(status.message(), "; ", kProducerIdHint));
    }
    return absl::Status(
        status.code(),
        absl::StrCat("message [", id, "] not found: ", status.message()));
  }
  ctx.Emit({MessageTable(*message)}, MessageJson(*message));
  return absl::OkStatus();
}

absl::Status QueryMsgByUniqueKey(const CommandContext& ctx) {
  const std::string topic = ctx.args.Get('t');
  const std::string id = ctx.args.Get('i');
  absl::StatusOr<std::vector<client::MessageExt>> copies =
      ctx.admin->QueryByUniqueKey(topic, id);
  if (!copies.ok()) return TopicStatus(copies.status(), topic);
  if (copies->empty()) {
    return absl::NotFoundError(absl::StrCat("no message in topic [", topic,
                                            "] has msg id [", id, "]"));
  }
  std::vector<Table> tables;
  JsonValue list = JsonValue::Array();
  for (const client::MessageExt& m : *copies) {
    tables.push_back(MessageTable(m));
    list.Push(MessageJson(m));
  }
  JsonValue json = JsonValue::Object();
  json.Set("topic", JsonValue::String(topic))
      .Set("msgId", JsonValue::String(id))
      .Set("messages", std::move(list));
  ctx.Emit(tables, json);
  return absl::OkStatus();
}

absl::Status QueryMsgByOffset(const CommandContext& ctx) {
  const std::string topic = ctx.args.Get('t');
  const std::string broker = ctx.args.Get('b');
  absl::StatusOr<int64_t> queue_id = ctx.args.GetInt('i', 0);
  if (!queue_id.ok()) return queue_id.status();
  if (*queue_id < 0 || *queue_id > std::numeric_limits<int32_t>::max()) {
    return absl::InvalidArgumentError("-i must be a queue id, 0 or more");
  }
  absl::StatusOr<int64_t> offset = ctx.args.GetInt('o', 0);
  if (!offset.ok()) return offset.status();
  if (*offset < 0) {
    return absl::InvalidArgumentError("-o must be a queue offset, 0 or more");
  }
  absl::StatusOr<client::MessageExt> message = ctx.admin->MessageAtOffset(
      topic, broker, static_cast<int32_t>(*queue_id), *offset);
  if (!message.ok()) return TopicStatus(message.status(), topic);
  ctx.Emit({MessageTable(*message)}, MessageJson(*message));
  return absl::OkStatus();
}

absl::Status QueryMsgByKey(const CommandContext& ctx) {
  const std::string topic = ctx.args.Get('t');
  const std::string key = ctx.args.Get('k');
  absl::StatusOr<int64_t> begin = ctx.args.GetInt('b', 0);
  if (!begin.ok()) return begin.status();
  absl::StatusOr<int64_t> end =
      ctx.args.GetInt('e', absl::ToUnixMillis(absl::Now()) + 1);
  if (!end.ok()) return end.status();
  absl::StatusOr<int64_t> max_num = ctx.args.GetInt('m', 64);
  if (!max_num.ok()) return max_num.status();
  if (*max_num < 1 || *max_num > 65536) {
    return absl::InvalidArgumentError("-m must be between 1 and 65536");
  }
  absl::StatusOr<std::vector<client::MessageExt>> messages =
      ctx.admin->QueryByKey(topic, key, *begin, *end,
                            static_cast<int32_t>(*max_num));
  if (!messages.ok()) return TopicStatus(messages.status(), topic);
  Table table({"#Message ID", "#Offset Msg ID", "#Broker Name", "#QID",
               "#Offset", "#Store Time"});
  JsonValue list = JsonValue::Array();
  for (const client::MessageExt& m : *messages) {
    table.AddRow({m.msg_id, m.offset_msg_id, m.broker_name,
                  absl::StrCat(m.queue_id), absl::StrCat(m.queue_offset),
                  FormatMillis(m.store_timestamp)});
    list.Push(MessageJson(m));
  }
  JsonValue json = JsonValue::Object();
  json.Set("topic", JsonValue::String(topic))
      .Set("key", JsonValue::String(key))
      .Set("messages", std::move(list));
  ctx.Emit({table}, json);
  return absl::OkStatus();
}

// A queue id given as -letter: 0 or more.
absl::StatusOr<int32_t> QueueIdFlag(const ParsedArgs& args, char letter) {
  absl::StatusOr<int64_t> queue_id = args.GetInt(letter, 0);
  if (!queue_id.ok()) return queue_id.status();
  if (*queue_id < 0 || *queue_id > std::numeric_limits<int32_t>::max()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "-", std::string(1, letter), " must be a queue id, 0 or more"));
  }
  return static_cast<int32_t>(*queue_id);
}

// RocketMQ's tools send as a throwaway producer group; this one says what
// sent the message in producerConnection.
constexpr char kToolsProducerGroup[] = "TOOLS_PRODUCER";

absl::Status SendMessage(const CommandContext& ctx) {
  const std::string broker = ctx.args.Get('b');
  if (ctx.args.Has('b') != ctx.args.Has('i')) {
    return absl::InvalidArgumentError(
        "-b BROKERNAME and -i QUEUEID go together (send to that queue); give "
        "neither to let the producer choose");
  }
  if (ctx.args.Get('m', "false") != "false") {
    return absl::InvalidArgumentError(
        "-m true: message traces are not supported");
  }
  client::Message message;
  message.topic = ctx.args.Get('t');
  message.body = ctx.args.Get('p');
  message.tags = ctx.args.Get('c');
  if (ctx.args.Has('k')) {
    message.keys = absl::StrSplit(ctx.args.Get('k'), ' ', absl::SkipEmpty());
  }
  client::ProducerOptions options;
  options.client.namesrv_addr = ctx.args.Get('n');
  options.client.instance_name = "mqadmin";
  client::DefaultProducer producer(kToolsProducerGroup, options);
  if (absl::Status started = producer.Start(); !started.ok()) return started;
  absl::StatusOr<client::SendResult> sent;
  if (broker.empty()) {
    sent = producer.SendSync(message);
  } else {
    absl::StatusOr<int32_t> queue_id = QueueIdFlag(ctx.args, 'i');
    if (!queue_id.ok()) {
      producer.Shutdown();
      return queue_id.status();
    }
    sent = producer.SendToQueue(message, {message.topic, broker, *queue_id});
  }
  producer.Shutdown();
  if (!sent.ok()) return TopicStatus(sent.status(), message.topic);
  Table table({"#Broker Name", "#QID", "#Send Result", "#MsgId"});
  table.AddRow({sent->broker_name, absl::StrCat(sent->queue_id), sent->status,
                sent->msg_id});
  JsonValue json = JsonValue::Object();
  json.Set("topic", JsonValue::String(message.topic))
      .Set("brokerName", JsonValue::String(sent->broker_name))
      .Set("queueId", JsonValue::Int(sent->queue_id))
      .Set("queueOffset", JsonValue::Int(sent->queue_offset))
      .Set("sendStatus", JsonValue::String(sent->status))
      .Set("msgId", JsonValue::String(sent->msg_id))
      .Set("offsetMsgId", JsonValue::String(sent->offset_msg_id));
  ctx.Emit({table}, json);
  return absl::OkStatus();
}

// One queue consumeMessage reads: from `begin` up to (not including) `end`.
struct QueueRange {
  std::string broker_name;
  int32_t queue_id = 0;
  int64_t begin = 0;
  int64_t end = 0;
};

// The queues consumeMessage reads, with where each starts and stops: -o on
// one queue, else the first message stored at or after -s, else the queue's
// first message; each stops at its end as it is now.
absl::StatusOr<std::vector<QueueRange>> RangesToConsume(
    const CommandContext& ctx, const std::string& topic) {
  const bool one_queue = ctx.args.Has('b') && ctx.args.Has('i');
  if (ctx.args.Has('o') && !one_queue) {
    return absl::InvalidArgumentError(
        "-o OFFSET needs -b BROKERNAME and -i QUEUEID");
  }
  absl::StatusOr<int32_t> queue_id = QueueIdFlag(ctx.args, 'i');
  if (!queue_id.ok()) return queue_id.status();
  absl::StatusOr<int64_t> offset = ctx.args.GetInt('o', 0);
  if (!offset.ok()) return offset.status();
  if (*offset < 0) {
    return absl::InvalidArgumentError("-o must be a queue offset, 0 or more");
  }
  std::optional<int64_t> begin_millis;
  if (ctx.args.Has('s')) {
    absl::StatusOr<int64_t> begin = ParseTimestamp(ctx.args.Get('s'));
    if (!begin.ok()) return begin.status();
    begin_millis = *begin;
  }
  absl::StatusOr<std::vector<client::QueueOffsets>> stats =
      ctx.admin->TopicStats(topic);
  if (!stats.ok()) return stats.status();
  std::vector<QueueRange> ranges;
  for (const client::QueueOffsets& q : *stats) {
    if (ctx.args.Has('b') && q.broker_name != ctx.args.Get('b')) continue;
    if (ctx.args.Has('i') && q.queue_id != *queue_id) continue;
    QueueRange range{q.broker_name, q.queue_id, q.min_offset, q.max_offset};
    if (ctx.args.Has('o')) {
      range.begin = std::max(*offset, q.min_offset);
    } else if (begin_millis.has_value()) {
      absl::StatusOr<int64_t> found = ctx.admin->SearchOffset(
          topic, q.broker_name, q.queue_id, *begin_millis);
      if (!found.ok()) return found.status();
      range.begin = std::max(*found, q.min_offset);
    }
    ranges.push_back(range);
  }
  if (ranges.empty() && (ctx.args.Has('b') || ctx.args.Has('i'))) {
    return absl::NotFoundError(absl::StrCat(
        "topic [", topic, "] has no queue",
        ctx.args.Has('i') ? absl::StrCat(" ", *queue_id) : "",
        ctx.args.Has('b') ? absl::StrCat(" on broker [", ctx.args.Get('b'), "]")
                          : ""));
  }
  std::sort(ranges.begin(), ranges.end(),
            [](const QueueRange& a, const QueueRange& b) {
              return std::tie(a.broker_name, a.queue_id) <
                     std::tie(b.broker_name, b.queue_id);
            });
  return ranges;
}

absl::Status ConsumeMessage(const CommandContext& ctx) {
  const std::string topic = ctx.args.Get('t');
  absl::StatusOr<int64_t> count = ctx.args.GetInt('c', 128);
  if (!count.ok()) return count.status();
  if (*count < 1 || *count > 65536) {
    return absl::InvalidArgumentError("-c must be between 1 and 65536");
  }
  int64_t end_millis = std::numeric_limits<int64_t>::max();
  if (ctx.args.Has('e')) {
    absl::StatusOr<int64_t> end = ParseTimestamp(ctx.args.Get('e'));
    if (!end.ok()) return end.status();
    end_millis = *end;
  }
  absl::StatusOr<std::vector<QueueRange>> ranges = RangesToConsume(ctx, topic);
  if (!ranges.ok()) return TopicStatus(ranges.status(), topic);
  // The broker answers at most this many messages per pull.
  constexpr int32_t kPullBatch = 32;
  std::vector<client::MessageExt> read;
  for (const QueueRange& range : *ranges) {
    int64_t next = range.begin;
    bool queue_done = false;
    while (!queue_done && next < range.end &&
           static_cast<int64_t>(read.size()) < *count) {
      absl::StatusOr<std::vector<client::MessageExt>> batch =
          ctx.admin->PullMessages(topic, range.broker_name, range.queue_id,
                                  next, kPullBatch);
      if (!batch.ok()) return TopicStatus(batch.status(), topic);
      if (batch->empty()) break;
      for (client::MessageExt& m : *batch) {
        next = m.queue_offset + 1;
        if (m.queue_offset >= range.end || m.store_timestamp > end_millis) {
          queue_done = true;
          break;
        }
        read.push_back(std::move(m));
        if (static_cast<int64_t>(read.size()) == *count) break;
      }
    }
  }
  Table table({"#Broker Name", "#QID", "#Offset", "#MsgId", "#Store Time",
               "#Tags", "#Keys", "#Body"});
  JsonValue list = JsonValue::Array();
  for (const client::MessageExt& m : read) {
    table.AddRow({m.broker_name, absl::StrCat(m.queue_id),
                  absl::StrCat(m.queue_offset), m.msg_id,
                  FormatMillis(m.store_timestamp), m.tags,
                  absl::StrJoin(m.keys, " "),
                  IsPrintableAscii(m.body)
                      ? absl::CEscape(m.body)
                      : absl::StrCat("(binary, ", m.body.size(), " bytes)")});
    list.Push(MessageJson(m));
  }
  JsonValue json = JsonValue::Object();
  json.Set("topic", JsonValue::String(topic)).Set("messages", std::move(list));
  ctx.Emit({table}, json);
  return absl::OkStatus();
}

}  // namespace

std::vector<CommandSpec> MessageCommands() {
  return {
      {"queryMsgById",
       "Messages",
       "Show a message by offset message id, or with -t by producer msg id",
       {NamesrvFlag(),
        {'t', "topic", "TOPIC", false,
         "the message's topic; needed for a producer's msg id"},
        {'i', "msgId", "MSGID", true,
         "offset message id (32 hex chars), or with -t the msg id of the "
         "producer's SendResult (its oldest copy)"}},
       QueryMsgById},
      {"queryMsgByUniqueKey",
       "Messages",
       "Show every stored copy of a message by its producer msg id",
       {NamesrvFlag(),
        TopicFlag(),
        {'i', "msgId", "MSGID", true,
         "the msg id of the producer's SendResult (its UNIQ_KEY)"},
        SwitchFlag('a', "showAll",
                   "accepted as in RocketMQ; every copy is always shown")},
       QueryMsgByUniqueKey},
      {"queryMsgByOffset",
       "Messages",
       "Show the message at an offset of one queue",
       {NamesrvFlag(),
        TopicFlag(),
        {'b', "brokerName", "BROKERNAME", true, "broker name"},
        {'i', "queueId", "QUEUEID", true, "queue id"},
        {'o', "offset", "OFFSET", true, "queue offset"}},
       QueryMsgByOffset},
      {"queryMsgByKey",
       "Messages",
       "Find a topic's messages by key",
       {NamesrvFlag(),
        TopicFlag(),
        {'k', "msgKey", "KEY", true, "message key"},
        {'b', "beginTimestamp", "BEGIN_MS", false,
         "earliest store time, ms (default 0)"},
        {'e', "endTimestamp", "END_MS", false,
         "latest store time, ms (default now)"},
        {'m', "maxNum", "MAX", false, "at most this many (default 64)"}},
       QueryMsgByKey},
      {"sendMessage",
       "Messages",
       "Send one message and show where it was stored",
       {NamesrvFlag(),
        TopicFlag(),
        {'p', "body", "BODY", true, "the message body"},
        {'k', "key", "KEYS", false, "message keys, space-separated"},
        {'c', "tags", "TAGS", false, "message tag"},
        {'b', "broker", "BROKERNAME", false,
         "send to this broker's queue -i (with -i)"},
        {'i', "qid", "QUEUEID", false, "send to this queue (with -b)"},
        {'m', "msgTraceEnable", "false", false,
         "accepted as in RocketMQ; only false (traces are not supported)"}},
       SendMessage},
      {"consumeMessage",
       "Messages",
       "Print a topic's messages, reading as TOOLS_CONSUMER and committing "
       "no offset",
       {NamesrvFlag(),
        TopicFlag(),
        {'b', "brokerName", "BROKERNAME", false, "only this broker's queues"},
        {'i', "queueId", "QUEUEID", false, "only this queue id"},
        {'o', "offset", "OFFSET", false,
         "start at this queue offset (with -b and -i)"},
        {'s', "beginTimestamp", "TIME", false,
         "start at the first message stored at or after this time "
         "(now|ms|yyyy-MM-dd#HH:mm:ss:SSS; default: each queue's first "
         "message)"},
        {'e', "endTimestamp", "TIME", false,
         "stop at messages stored after this time (default: each queue's "
         "end when the command starts)"},
        {'c', "MessageNumber", "COUNT", false,
         "at most this many messages in all (default 128)"},
        {'g', "consumerGroup", "GROUP", false,
         "accepted as in RocketMQ; messages are read as TOOLS_CONSUMER"}},
       ConsumeMessage},
  };
}

}  // namespace cometmq::admin
