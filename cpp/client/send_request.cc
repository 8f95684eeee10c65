#include "cpp/client/send_request.h"

#include <cstdint>
#include <optional>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "cpp/client/batch_encoder.h"
#include "cpp/client/compression.h"
#include "cpp/client/message_id.h"
#include "cpp/common/message_record.h"
#include "cpp/common/resource_name.h"

namespace cometmq::client {
namespace {

bool IsUtf8(absl::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    int extra;
    uint32_t code;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      extra = 1;
      code = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      extra = 2;
      code = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      extra = 3;
      code = c & 0x07;
    } else {
      return false;
    }
    if (text.size() - i <= static_cast<size_t>(extra)) return false;
    for (int k = 1; k <= extra; ++k) {
      const auto next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xC0) != 0x80) return false;
      code = (code << 6) | (next & 0x3F);
    }
    static constexpr uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
    if (code < kMin[extra] || code > 0x10FFFF ||
        (code >= 0xD800 && code <= 0xDFFF)) {
      return false;  // overlong, out of range, or a surrogate
    }
    i += static_cast<size_t>(extra) + 1;
  }
  return true;
}

// Topic, tags, keys and properties travel in protobuf string fields of the
// send header, which must be UTF-8: a broker cannot parse the frame
// otherwise and closes the connection, failing every request on it. The
// property separators would split one property into others.
absl::Status ValidateText(absl::string_view what, absl::string_view text) {
  if (!IsUtf8(text)) {
    return absl::InvalidArgumentError(
        absl::StrCat("message ", what, " is not valid UTF-8"));
  }
  if (text.find_first_of(absl::string_view("\x01\x02", 2)) !=
      absl::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrCat(
        "message ", what, " contains a \\x01 or \\x02 (property separators)"));
  }
  return absl::OkStatus();
}

absl::Status ValidateTexts(const Message& message) {
  if (absl::Status s = ValidateText("topic", message.topic); !s.ok()) return s;
  if (absl::Status s = ValidateText("tags", message.tags); !s.ok()) return s;
  for (const std::string& key : message.keys) {
    if (absl::Status s = ValidateText("key", key); !s.ok()) return s;
  }
  for (const auto& [name, value] : message.properties) {
    if (absl::Status s = ValidateText("property name", name); !s.ok()) {
      return s;
    }
    if (absl::Status s =
            ValidateText(absl::StrCat("property ", name, "'s value"), value);
        !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

// RocketMQ 4.9's MessageConst.STRING_HASH_SET, and the names only this
// broker gives a meaning to.
constexpr absl::string_view kSystemPropertyNames[] = {
    "ARRIVE_TIME",
    "BUYER_ID",
    "CHECK_IMMUNITY_TIME_IN_SECONDS",
    "CLUSTER",
    "CONSUME_START_TIME",
    "CORRECTION_FLAG",
    "CORRELATION_ID",
    "DELAY",
    "INSTANCE_ID",
    "KEYS",
    "MAX_OFFSET",
    "MAX_RECONSUME_TIMES",
    "MIN_OFFSET",
    "MQ2_FLAG",
    "MSG_REGION",
    "MSG_TYPE",
    "ORIGIN_MESSAGE_ID",
    "PGROUP",
    "PUSH_REPLY_TIME",
    "REAL_QID",
    "REAL_TOPIC",
    "RECONSUME_TIME",
    "REPLY_TO_CLIENT",
    "RETRY_TOPIC",
    "TAGS",
    "TRACE_ON",
    "TRANSACTION_CHECK_TIMES",
    "TRANSFER_FLAG",
    "TRAN_MSG",
    "TRAN_PREPARED_QUEUE_OFFSET",
    "TTL",
    "UNIQ_KEY",
    "WAIT",
    "__transactionId__",
};

bool IsSystemPropertyName(absl::string_view name) {
  for (absl::string_view system : kSystemPropertyNames) {
    if (name == system) return true;
  }
  return false;
}

absl::Status Validate(const Message& message, const SendLimits& limits) {
  // Refused here, as RocketMQ's client does, rather than by the broker
  // after a round trip (and a route lookup that cannot succeed).
  if (absl::Status s = ValidateResourceName("message topic", message.topic);
      !s.ok()) {
    return s;
  }
  if (message.body.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("message body is empty (topic ", message.topic, ")"));
  }
  if (static_cast<int64_t>(message.body.size()) > limits.max_message_size) {
    return absl::InvalidArgumentError(
        absl::StrCat("message body is ", message.body.size(),
                     " bytes, over maxMessageSize ", limits.max_message_size));
  }
  if (message.delay_level < 0) {
    return absl::InvalidArgumentError("delay_level must not be negative");
  }
  return ValidateTexts(message);
}

// A message this client sends again (a consumer's retry copy, a re-sent
// dead letter) keeps its UNIQ_KEY, so it keeps its msg id, as in RocketMQ.
std::string UniqKeyFor(const Message& message) {
  auto it = message.properties.find(std::string(kPropertyUniqKey));
  if (it != message.properties.end() && !it->second.empty()) return it->second;
  return GlobalIdGenerator().Next();
}

// A consumer's copy to %RETRY%<group> carries its reconsume counts as
// properties; they travel in the send header (RocketMQ's sendKernelImpl).
void MoveRetryCounts(std::map<std::string, std::string>* props,
                     proto::SendMessageRequest* header) {
  if (!absl::StartsWith(header->topic(), kRetryGroupTopicPrefix)) return;
  // Removes the property; its value when it is a number.
  auto take = [props](absl::string_view name) -> std::optional<int32_t> {
    auto it = props->find(std::string(name));
    if (it == props->end()) return std::nullopt;
    int32_t value = 0;
    const bool parsed = absl::SimpleAtoi(it->second, &value);
    props->erase(it);
    return parsed ? std::optional<int32_t>(value) : std::nullopt;
  };
  if (auto n = take(kPropertyReconsumeTime)) header->set_reconsume_times(*n);
  if (auto n = take(kPropertyMaxReconsumeTimes)) {
    header->set_max_reconsume_times(*n);
  }
}

std::map<std::string, std::string> Properties(const Message& message,
                                              const std::string& uniq_key) {
  std::map<std::string, std::string> props = message.properties;
  if (!message.tags.empty()) props[std::string(kPropertyTags)] = message.tags;
  if (!message.keys.empty()) {
    props[std::string(kPropertyKeys)] = absl::StrJoin(message.keys, " ");
  }
  if (message.delay_level > 0) {
    props[std::string(kPropertyDelayLevel)] = absl::StrCat(message.delay_level);
  }
  props[std::string(kPropertyUniqKey)] = uniq_key;
  return props;
}

}  // namespace

absl::Status ValidateUserProperties(
    const std::map<std::string, std::string>& properties) {
  for (const auto& [name, value] : properties) {
    if (name.empty()) {
      return absl::InvalidArgumentError("message property name is empty");
    }
    if (IsSystemPropertyName(name)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "message property ", name,
          " is used by the system; choose another name (tags, keys and "
          "delay level have fields of their own)"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<PreparedSend> PrepareSend(const Message& message,
                                         const std::string& producer_group,
                                         const SendLimits& limits,
                                         PropertiesSetBy set_by) {
  if (absl::Status status = Validate(message, limits); !status.ok()) {
    return status;
  }
  if (set_by == PropertiesSetBy::kUser) {
    if (absl::Status s = ValidateUserProperties(message.properties); !s.ok()) {
      return s;
    }
  }
  PreparedSend prepared;
  prepared.code = proto::SEND_MESSAGE;
  prepared.msg_id = UniqKeyFor(message);
  proto::SendMessageRequest& header = prepared.header;
  header.set_producer_group(producer_group);
  header.set_topic(message.topic);
  header.set_born_timestamp(absl::ToUnixMillis(absl::Now()));
  std::map<std::string, std::string> props =
      Properties(message, prepared.msg_id);
  MoveRetryCounts(&props, &header);
  header.set_properties(EncodeProperties(props));
  if (static_cast<int64_t>(message.body.size()) > limits.compress_over) {
    prepared.body = Compress(message.body);
  }
  // Incompressible bodies (already compressed, encrypted) go as they are:
  // a "compressed" body larger than the original only costs space.
  if (!prepared.body.empty() && prepared.body.size() < message.body.size()) {
    header.set_sys_flag(kSysFlagCompressed);
  } else {
    prepared.body = message.body;
  }
  return prepared;
}

absl::StatusOr<PreparedSend> PrepareBatch(const std::vector<Message>& messages,
                                          const std::string& producer_group,
                                          const SendLimits& limits) {
  if (messages.empty()) {
    return absl::InvalidArgumentError("batch has no messages");
  }
  std::vector<BatchEntry> entries;
  std::vector<std::string> ids;
  for (const Message& message : messages) {
    if (absl::Status status = Validate(message, limits); !status.ok()) {
      return status;
    }
    if (absl::Status s = ValidateUserProperties(message.properties); !s.ok()) {
      return s;
    }
    if (message.topic != messages.front().topic) {
      return absl::InvalidArgumentError(
          absl::StrCat("a batch goes to one topic; got ",
                       messages.front().topic, " and ", message.topic));
    }
    if (message.delay_level > 0) {
      return absl::InvalidArgumentError("batch messages cannot be delayed");
    }
    ids.push_back(UniqKeyFor(message));
    entries.push_back(
        {message.body, EncodeProperties(Properties(message, ids.back())), 0});
  }
  PreparedSend prepared;
  prepared.code = proto::SEND_BATCH_MESSAGE;
  prepared.body = EncodeBatch(entries);
  if (static_cast<int64_t>(prepared.body.size()) > limits.max_message_size) {
    return absl::InvalidArgumentError(absl::StrCat(
        "batch is ", prepared.body.size(), " bytes, over maxMessageSize ",
        limits.max_message_size, "; split it"));
  }
  prepared.msg_id = absl::StrJoin(ids, ",");
  prepared.header.set_producer_group(producer_group);
  prepared.header.set_topic(messages.front().topic);
  prepared.header.set_born_timestamp(absl::ToUnixMillis(absl::Now()));
  prepared.header.set_batch(true);
  return prepared;
}

remoting::Command MakeSendCommand(const PreparedSend& prepared,
                                  int32_t queue_id,
                                  int32_t default_topic_queue_nums) {
  remoting::Command request = remoting::MakeRequest(prepared.code);
  proto::SendMessageRequest* header = request.header.mutable_send_message();
  *header = prepared.header;
  header->set_queue_id(queue_id);
  header->set_default_topic_queue_nums(default_topic_queue_nums);
  request.body = prepared.body;
  return request;
}

}  // namespace cometmq::client
