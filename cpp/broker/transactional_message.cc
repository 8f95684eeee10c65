#include "cpp/broker/transactional_message.h"

#include <map>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "cpp/broker/real_queue.h"

namespace cometmq::broker {

bool IsTransactionTopic(absl::string_view topic) {
  return topic == kTransHalfTopic || topic == kTransOpHalfTopic;
}

bool IsTransactionPrepared(absl::string_view properties) {
  std::optional<absl::string_view> value =
      FindProperty(properties, kPropertyTransactionPrepared);
  return value.has_value() && *value == "true";
}

void RewriteForHalf(MessageToStore* message) {
  ParkOnSystemQueue(kTransHalfTopic, 0, {}, message);
  message->sys_flag &= ~kTransactionRollbackType;  // "not transactional"
}

bool RestoreFromHalf(const RecordView& half, MessageToStore* out) {
  if (!RestoreRealQueue(
          half, {kPropertyTransactionPrepared, kPropertyCheckTimes}, out)) {
    return false;
  }
  out->sys_flag =
      (out->sys_flag & ~kTransactionRollbackType) | kTransactionCommitType;
  out->prepared_tx_offset = half.physical_offset;
  return true;
}

std::string TransactionIdOf(const RecordView& half) {
  return std::string(
      FindProperty(half.properties, kPropertyUniqKey).value_or(""));
}

int CheckTimesOf(const RecordView& half) {
  std::optional<absl::string_view> value =
      FindProperty(half.properties, kPropertyCheckTimes);
  int times = 0;
  if (!value.has_value() || !absl::SimpleAtoi(*value, &times) || times < 0) {
    return 0;
  }
  return times;
}

MessageToStore MakeDiscardedCopy(const RecordView& half) {
  MessageToStore copy = CopyRecord(half);
  copy.topic = std::string(kTransCheckMaxTimeTopic);
  copy.queue_id = 0;
  return copy;
}

MessageToStore MakeOpMessage(int64_t half_queue_offset,
                             absl::string_view transaction_id) {
  std::map<std::string, std::string> props = {
      {std::string(kPropertyTags), std::string(kTransOpRemoveTag)}};
  if (!transaction_id.empty()) {
    props[std::string(kPropertyTransactionId)] = std::string(transaction_id);
  }
  MessageToStore op;
  op.topic = std::string(kTransOpHalfTopic);
  op.queue_id = 0;
  op.body = absl::StrCat(half_queue_offset);
  op.properties = EncodeProperties(props);
  return op;
}

std::optional<OpEntry> ParseOp(const RecordView& op) {
  if (FindProperty(op.properties, kPropertyTags).value_or("") !=
      kTransOpRemoveTag) {
    return std::nullopt;
  }
  OpEntry entry;
  if (!absl::SimpleAtoi(op.body, &entry.half_queue_offset) ||
      entry.half_queue_offset < 0) {
    return std::nullopt;
  }
  entry.transaction_id = std::string(
      FindProperty(op.properties, kPropertyTransactionId).value_or(""));
  return entry;
}

}  // namespace cometmq::broker
