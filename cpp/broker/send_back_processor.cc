#include "cpp/broker/send_back_processor.h"

#include <algorithm>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "cpp/broker/delay_levels.h"
#include "cpp/broker/topic_config_manager.h"
#include "cpp/broker/transactional_message.h"
#include "spdlog/spdlog.h"

namespace cometmq::broker {
namespace {

using remoting::Command;
using remoting::MakeResponse;

// The topic a consumed record was first consumed from.
std::string OriginalTopic(const RecordView& record) {
  std::optional<absl::string_view> retry_topic =
      FindProperty(record.properties, kPropertyRetryTopic);
  if (retry_topic.has_value() && !retry_topic->empty()) {
    return std::string(*retry_topic);
  }
  return std::string(record.topic);
}

}  // namespace

SendBackProcessor::SendBackProcessor(const BrokerConfig& config,
                                     store::MessageStore* store,
                                     TopicConfigManager* topics,
                                     SubscriptionGroupManager* groups,
                                     ThreadPool* pool)
    : config_(config),
      store_(store),
      topics_(topics),
      groups_(groups),
      pool_(pool) {}

void SendBackProcessor::Handle(Command request, remoting::Responder responder) {
  auto shared = std::make_shared<Command>(std::move(request));
  if (!pool_->TrySubmit(
          [this, shared, responder] { Process(*shared, responder); })) {
    responder.Respond(MakeResponse(
        *shared, proto::SYSTEM_BUSY,
        "[TOO_MANY_REQUESTS] the broker's send queue is full; try later"));
  }
}

void SendBackProcessor::Process(const Command& request,
                                const remoting::Responder& responder) {
  if (!request.header.has_consumer_send_msg_back()) {
    responder.Respond(
        remoting::MissingPayloadResponse(request, "consumer_send_msg_back"));
    return;
  }
  const proto::ConsumerSendMsgBackRequest& back =
      request.header.consumer_send_msg_back();
  auto fail = [&](proto::StatusCode code, absl::string_view remark) {
    responder.Respond(MakeResponse(request, code, remark));
  };
  if ((config_.brokerPermission.load() & proto::PERM_WRITE) == 0) {
    return fail(proto::NO_PERMISSION,
                absl::StrCat("the broker[", config_.brokerName,
                             "] sending message is forbidden"));
  }
  store::RecordSlice slice;
  RecordView record;
  if (!store_->ReadRecord(back.commit_log_offset(), &slice) ||
      DecodeRecord(slice.data, slice.size, /*check_crc=*/false, &record) !=
          DecodeResult::kRecord) {
    return fail(proto::SYSTEM_ERROR,
                absl::StrCat("no message at commit log offset ",
                             back.commit_log_offset()));
  }
  // Consumers are only given messages of their topics: a delayed message
  // still waiting or a transaction's half (open or rolled back) copied to
  // the retry topic would be delivered before its time or at all.
  if (record.topic == kScheduleTopic || IsTransactionTopic(record.topic) ||
      TransactionType(record.sys_flag) == kTransactionPreparedType ||
      TransactionType(record.sys_flag) == kTransactionRollbackType) {
    return fail(proto::BAD_REQUEST,
                absl::StrCat("the record at commit log offset ",
                             back.commit_log_offset(), " (topic ",
                             std::string(record.topic),
                             ") is not a message a consumer was given"));
  }
  // Counted in 64 bits and stored up to INT32_MAX: a count that wrapped
  // negative would buy the message about 2^31 more retries.
  const int32_t done_times = std::max(record.reconsume_times, 0);
  const int64_t failures = int64_t{done_times} + 1;
  const int32_t reconsume_times = static_cast<int32_t>(
      std::min<int64_t>(failures, std::numeric_limits<int32_t>::max()));
  absl::StatusOr<RetryDestination> destination =
      ResolveRetry(groups_, topics_, back.group(), failures,
                   back.max_reconsume_times(), back.delay_level() < 0);
  if (!destination.ok()) {
    return fail(RetryErrorCode(destination.status()),
                destination.status().message());
  }
  const bool to_dlq = destination->dead_letter;

  std::map<std::string, std::string> props =
      DecodeProperties(record.properties);
  // The first topic comes from the stored record, as RocketMQ takes it: its
  // RETRY_TOPIC once it failed before, else its topic. A client's
  // original_topic that disagrees is a client bug or a forged request; it
  // is ignored rather than refused, because a refused consumer falls back
  // to sending its own copy, which would carry the wrong topic on.
  const std::string original_topic = OriginalTopic(record);
  if (!back.original_topic().empty() &&
      back.original_topic() != original_topic) {
    spdlog::warn(
        "group {}: send-back of the message at commit log offset {} names "
        "original topic {}, but it was consumed from {}; using {}",
        back.group(), back.commit_log_offset(), back.original_topic(),
        original_topic, original_topic);
  }
  // A message failing again on the retry topic keeps its first topic and id.
  props.emplace(std::string(kPropertyRetryTopic), original_topic);
  if (!back.original_msg_id().empty()) {
    props.emplace(std::string(kPropertyOriginMessageId),
                  back.original_msg_id());
  }
  props[std::string(kPropertyReconsumeTime)] = absl::StrCat(reconsume_times);
  EraseDelayBookkeeping(&props);

  MessageToStore message;
  message.topic = destination->topic;
  message.queue_id = 0;
  message.flag = record.flag;
  message.sys_flag = record.sys_flag;
  message.born_timestamp = record.born_timestamp;
  message.born_ip = record.born_ip;
  message.born_port = record.born_port;
  message.reconsume_times = reconsume_times;
  message.body = std::string(record.body);
  message.properties = EncodeProperties(props);
  if (!to_dlq) {
    const int level = back.delay_level() > 0
                          ? back.delay_level()
                          : 3 + std::min(done_times, kMaxDelayLevel);
    RewriteForDelay(config_.delay_levels, level, &message);
  } else {
    spdlog::info("group {}: message {} goes to {} after {} reconsumes",
                 back.group(), back.original_msg_id(), destination->topic,
                 done_times);
  }
  if (!to_dlq && message.properties.size() >
                     static_cast<size_t>(kMaxRecordPropertiesSize)) {
    // Only a record stored before producers were held to
    // kMaxProducerPropertiesSize (or a consumer's own copy sent to the retry
    // topic near the record limit) lacks room for the delay bookkeeping;
    // the DLQ copy needs none. Refusing would leave the consumer
    // redelivering it locally without end.
    absl::StatusOr<RetryDestination> dlq =
        ResolveRetry(groups_, topics_, back.group(), failures,
                     back.max_reconsume_times(), /*to_dlq=*/true);
    if (!dlq.ok()) {
      return fail(RetryErrorCode(dlq.status()), dlq.status().message());
    }
    spdlog::warn(
        "group {}: message {} with {} bytes of properties has no room for a "
        "retry's delay bookkeeping (a record holds {}); it goes to {} "
        "instead of being retried",
        back.group(), back.original_msg_id(), record.properties.size(),
        kMaxRecordPropertiesSize, dlq->topic);
    message.topic = dlq->topic;
    message.queue_id = 0;
    message.properties = EncodeProperties(props);
  }
  if (message.properties.size() >
      static_cast<size_t>(kMaxRecordPropertiesSize)) {
    spdlog::error(
        "group {}: message {} with {} bytes of properties cannot carry the "
        "retry bookkeeping in a record ({} bytes at most); not sent back",
        back.group(), back.original_msg_id(), record.properties.size(),
        kMaxRecordPropertiesSize);
    return fail(proto::MESSAGE_ILLEGAL,
                absl::StrCat("the message's ", record.properties.size(),
                             " bytes of properties leave no room for the "
                             "retry bookkeeping within ",
                             kMaxRecordPropertiesSize, " bytes"));
  }
  std::vector<MessageToStore> one;
  one.push_back(std::move(message));
  store_->Put(std::move(one), [request_header = Command{request.header, {}},
                               responder](store::PutResult result) {
    const bool stored = store::PutStored(result.status);
    responder.Respond(MakeResponse(
        request_header, stored ? proto::SUCCESS : proto::SYSTEM_ERROR,
        stored ? "" : result.error));
  });
}

}  // namespace cometmq::broker
