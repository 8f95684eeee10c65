// The message subcommands: queryMsgById, queryMsgByUniqueKey,
// queryMsgByOffset and queryMsgByKey.

#include <limits>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "cpp/admin/command.h"
#include "cpp/client/client_error.h"
#include "cpp/client/message.h"

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
  };
}

}  // namespace cometmq::admin
