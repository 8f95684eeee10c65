#include "cpp/broker/send_processor.h"

#include <map>
#include <string>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "cpp/broker/delay_levels.h"
#include "cpp/broker/retry_policy.h"
#include "cpp/broker/transactional_message.h"
#include "cpp/common/byte_order.h"
#include "spdlog/spdlog.h"

namespace cometmq::broker {
namespace {

using remoting::Command;
using remoting::MakeResponse;

// total_size, magic, body_crc, flag, body_len.
constexpr size_t kBatchEntryHeader = 5 * 4;

proto::StatusCode StatusFor(store::PutStatus status) {
  switch (status) {
    case store::PutStatus::kOk:
      return proto::SUCCESS;
    case store::PutStatus::kFlushDiskTimeout:
      return proto::FLUSH_DISK_TIMEOUT;
    case store::PutStatus::kFlushSlaveTimeout:
      return proto::FLUSH_SLAVE_TIMEOUT;
    case store::PutStatus::kSlaveNotAvailable:
      return proto::SLAVE_NOT_AVAILABLE;
    case store::PutStatus::kServiceNotAvailable:
      return proto::SERVICE_NOT_AVAILABLE;
    case store::PutStatus::kMessageIllegal:
      return proto::MESSAGE_ILLEGAL;
    case store::PutStatus::kUnknownError:
      break;
  }
  return proto::SYSTEM_ERROR;
}

}  // namespace

absl::StatusOr<std::vector<MessageToStore>> DecodeBatchBody(
    absl::string_view body) {
  std::vector<MessageToStore> messages;
  size_t pos = 0;
  while (pos < body.size()) {
    const size_t index = messages.size();
    auto bad = [&](absl::string_view why) {
      return absl::InvalidArgumentError(
          absl::StrCat("batch message ", index, " at byte ", pos, ": ", why));
    };
    if (body.size() - pos < kBatchEntryHeader + 2) return bad("truncated");
    const char* p = body.data() + pos;
    const int32_t total = GetBig32(p);
    const int32_t flag = GetBig32(p + 12);
    const int32_t body_len = GetBig32(p + 16);
    if (total < static_cast<int32_t>(kBatchEntryHeader + 2) ||
        static_cast<size_t>(total) > body.size() - pos) {
      return bad(absl::StrCat("total_size ", total, " does not fit"));
    }
    if (body_len < 0 || kBatchEntryHeader + static_cast<size_t>(body_len) + 2 >
                            static_cast<size_t>(total)) {
      return bad(absl::StrCat("body_len ", body_len, " does not fit"));
    }
    const char* props_at = p + kBatchEntryHeader + body_len;
    const int32_t props_len = static_cast<uint16_t>(GetBig16(props_at));
    if (kBatchEntryHeader + static_cast<size_t>(body_len) + 2 +
            static_cast<size_t>(props_len) !=
        static_cast<size_t>(total)) {
      return bad("total_size does not match body_len and props_len");
    }
    MessageToStore message;
    message.flag = flag;
    message.body.assign(p + kBatchEntryHeader, static_cast<size_t>(body_len));
    message.properties.assign(props_at + 2, static_cast<size_t>(props_len));
    messages.push_back(std::move(message));
    pos += static_cast<size_t>(total);
  }
  if (messages.empty()) return absl::InvalidArgumentError("the batch is empty");
  return messages;
}

SendProcessor::SendProcessor(const BrokerConfig& config,
                             store::MessageStore* store,
                             TopicConfigManager* topics,
                             SubscriptionGroupManager* groups, ThreadPool* pool)
    : config_(config),
      store_(store),
      topics_(topics),
      groups_(groups),
      pool_(pool),
      inline_sends_(!config.store.sync_flush()) {}

void SendProcessor::Handle(Command&& request, remoting::Responder responder) {
  // Under ASYNC_FLUSH a send to an existing topic never waits: the append
  // is a copy into the mapped segment and the answer is made at once, so it
  // is handled right here on the I/O thread, saving two thread handoffs per
  // request. Topic auto-creation writes the topic file (with fsync), and
  // SYNC_FLUSH appends are pwrites that can stall behind the group commit's
  // msync of the same file (and measured no faster inline), so those go to
  // the pool, where a stall holds one pool thread instead of every
  // connection of an I/O thread. So do sends to retry topics, which may
  // create the group's dead-letter topic.
  if (inline_sends_ && request.header.has_send_message() &&
      !absl::StartsWith(request.header.send_message().topic(),
                        kRetryGroupTopicPrefix)) {
    std::optional<TopicConfigManager::WriteInfo> topic =
        topics_->FindForWrite(request.header.send_message().topic());
    if (topic.has_value()) {
      Process(request, responder, std::move(topic));
      return;
    }
  }
  auto shared = std::make_shared<Command>(std::move(request));
  if (!pool_->TrySubmit([this, shared, responder] {
        Process(*shared, responder, std::nullopt);
      })) {
    responder.Respond(MakeResponse(
        *shared, proto::SYSTEM_BUSY,
        "[TOO_MANY_REQUESTS] the broker's send queue is full; try later"));
  }
}

void SendProcessor::Process(
    Command& request, const remoting::Responder& responder,
    std::optional<TopicConfigManager::WriteInfo> topic) {
  Target target;
  target.topic = std::move(topic);
  std::vector<MessageToStore> messages;
  std::optional<Refusal> refusal = CheckRequest(request);
  if (!refusal) refusal = ResolveTarget(request.header.send_message(), &target);
  if (!refusal) {
    refusal = BuildMessages(request, responder, target, &messages);
  }
  if (!refusal) {
    refusal = Reroute(request.header.send_message(), target, &messages);
  }
  if (refusal) {
    responder.Respond(MakeResponse(request, refusal->code, refusal->remark));
    return;
  }
  Store(request, responder, target.queue_id, std::move(messages));
}

std::optional<SendProcessor::Refusal> SendProcessor::CheckRequest(
    const Command& request) const {
  if (!request.header.has_send_message()) {
    return Refusal{proto::BAD_REQUEST,
                   "SEND_MESSAGE needs a send_message payload"};
  }
  const proto::SendMessageRequest& send = request.header.send_message();
  if ((config_.brokerPermission.load() & proto::PERM_WRITE) == 0) {
    return Refusal{proto::NO_PERMISSION,
                   absl::StrCat("the broker[", config_.brokerName,
                                "] sending message is forbidden")};
  }
  if (absl::Status s = ValidateTopicName(send.topic()); !s.ok()) {
    return Refusal{proto::MESSAGE_ILLEGAL, std::string(s.message())};
  }
  if (send.topic() == kScheduleTopic || IsTransactionTopic(send.topic())) {
    return Refusal{proto::NO_PERMISSION,
                   absl::StrCat("sending message to topic[", send.topic(),
                                "] is forbidden")};
  }
  if (const int32_t tx = TransactionType(send.sys_flag());
      tx == kTransactionCommitType || tx == kTransactionRollbackType) {
    // Those types are the broker's own, for a half a producer ended: a sent
    // rollback-typed message would be stored where no consumer reads it,
    // and a commit-typed one would claim an END_TRANSACTION that never
    // happened.
    return Refusal{proto::MESSAGE_ILLEGAL,
                   "sysFlag carries a transaction commit or rollback type; "
                   "transactions are ended with END_TRANSACTION"};
  }
  // Checked before anything is created for the request.
  const size_t body_size = request.body.size();
  if (body_size == 0) {
    return Refusal{proto::MESSAGE_ILLEGAL, "the message body is empty"};
  }
  if (body_size > static_cast<size_t>(config_.store.maxMessageSize)) {
    return Refusal{
        proto::MESSAGE_ILLEGAL,
        absl::StrCat("the message body size ", body_size,
                     " exceeds maxMessageSize ", config_.store.maxMessageSize)};
  }
  if (send.reconsume_times() < 0) {
    // A negative count would buy the message retries past any limit.
    return Refusal{proto::MESSAGE_ILLEGAL,
                   absl::StrCat("reconsume times ", send.reconsume_times(),
                                " is negative")};
  }
  if (send.batch() && absl::StartsWith(send.topic(), kRetryGroupTopicPrefix)) {
    return Refusal{proto::MESSAGE_ILLEGAL,
                   "batch messages cannot be sent to a retry topic"};
  }
  return std::nullopt;
}

std::optional<SendProcessor::Refusal> SendProcessor::ResolveTarget(
    const proto::SendMessageRequest& send, Target* target) {
  // A consumer's copy of a message it failed (RocketMQ's handleRetryAndDLQ).
  if (absl::StartsWith(send.topic(), kRetryGroupTopicPrefix)) {
    absl::StatusOr<RetryDestination> destination = ResolveRetry(
        groups_, topics_, send.topic().substr(kRetryGroupTopicPrefix.size()),
        send.reconsume_times(), send.max_reconsume_times(),
        send.max_reconsume_times() < 0);
    if (!destination.ok()) {
      return Refusal{RetryErrorCode(destination.status()),
                     std::string(destination.status().message())};
    }
    target->topic = destination->write_info;
    target->retry = *std::move(destination);
  }
  if (!target->topic.has_value()) {
    if (std::optional<Refusal> refusal = FindOrCreateTopic(send, target)) {
      return refusal;
    }
  }
  if ((target->topic->perm & proto::PERM_WRITE) == 0) {
    return Refusal{proto::NO_PERMISSION,
                   absl::StrCat("the topic[", send.topic(),
                                "] sending message is forbidden")};
  }
  const int32_t queues = target->topic->write_queue_nums;
  if (queues <= 0) {
    return Refusal{
        proto::NO_PERMISSION,
        absl::StrCat("the topic[", send.topic(), "] has no write queue")};
  }
  target->queue_id = send.queue_id();
  if (target->queue_id < 0) {
    target->queue_id = static_cast<int32_t>(next_queue_.fetch_add(1) %
                                            static_cast<uint32_t>(queues));
  } else if (target->queue_id >= queues) {
    // As RocketMQ: a stale route must not lose the send.
    target->queue_id %= queues;
  }
  return std::nullopt;
}

std::optional<SendProcessor::Refusal> SendProcessor::FindOrCreateTopic(
    const proto::SendMessageRequest& send, Target* target) {
  target->topic = topics_->FindForWrite(send.topic());
  if (target->topic.has_value()) return std::nullopt;
  if (!config_.autoCreateTopicEnable) {
    return Refusal{proto::TOPIC_NOT_EXIST,
                   absl::StrCat("topic[", send.topic(),
                                "] not exist, apply first please!")};
  }
  absl::StatusOr<proto::TopicConfig> created =
      topics_->CreateOnSend(send.topic(), send.default_topic_queue_nums());
  if (!created.ok()) {
    return Refusal{proto::SYSTEM_ERROR,
                   absl::StrCat("cannot create topic[", send.topic(),
                                "]: ", created.status().message())};
  }
  spdlog::info("auto-created topic {} with {} queues", send.topic(),
               created->write_queue_nums());
  target->topic = TopicConfigManager::WriteInfo{created->perm(),
                                                created->write_queue_nums()};
  return std::nullopt;
}

std::optional<SendProcessor::Refusal> SendProcessor::BuildMessages(
    Command& request, const remoting::Responder& responder,
    const Target& target, std::vector<MessageToStore>* messages) const {
  const proto::SendMessageRequest& send = request.header.send_message();
  if (send.batch()) {
    absl::StatusOr<std::vector<MessageToStore>> decoded =
        DecodeBatchBody(request.body);
    if (!decoded.ok()) {
      return Refusal{proto::MESSAGE_ILLEGAL,
                     std::string(decoded.status().message())};
    }
    *messages = *std::move(decoded);
  } else {
    MessageToStore message;
    message.flag = send.flag();
    message.body = std::move(request.body);
    // The request is ours: its properties move instead of being copied.
    message.properties =
        std::move(*request.header.mutable_send_message()->mutable_properties());
    messages->push_back(std::move(message));
  }
  const bool single = messages->size() == 1;
  const uint32_t born_ip = responder.remote_ipv4();
  const uint32_t born_port = responder.remote_port();
  for (size_t i = 0; i < messages->size(); ++i) {
    MessageToStore& m = (*messages)[i];
    if (m.body.empty()) {
      return Refusal{
          proto::MESSAGE_ILLEGAL,
          single ? std::string("the message body is empty")
                 : absl::StrCat("batch message ", i, " has an empty body")};
    }
    // A producer's properties leave room for what retries, delays and
    // transactions add later, so any message it could send can still be
    // retried and dead-lettered; a consumer's retry copy already carries
    // that bookkeeping.
    if (!target.retry.has_value() &&
        m.properties.size() > static_cast<size_t>(kMaxProducerPropertiesSize)) {
      return Refusal{
          proto::MESSAGE_ILLEGAL,
          absl::StrCat(single ? std::string("the message's properties")
                              : absl::StrCat("the properties of batch "
                                             "message ",
                                             i),
                       " of ", m.properties.size(), " bytes exceed the ",
                       kMaxProducerPropertiesSize,
                       " bytes a message may carry")};
    }
    m.topic = target.retry.has_value() ? target.retry->topic : send.topic();
    m.queue_id = target.queue_id;
    m.sys_flag = send.sys_flag();
    m.born_timestamp = send.born_timestamp();
    m.born_ip = born_ip;
    m.born_port = born_port;
    m.reconsume_times = send.reconsume_times();
  }
  return std::nullopt;
}

std::optional<SendProcessor::Refusal> SendProcessor::Reroute(
    const proto::SendMessageRequest& send, const Target& target,
    std::vector<MessageToStore>* messages) const {
  MessageToStore& first = messages->front();
  if (target.retry.has_value() && target.retry->dead_letter) {
    spdlog::info(
        "message {} goes to {} after {} reconsumes",
        std::string(FindProperty(first.properties, kPropertyOriginMessageId)
                        .value_or("")),
        target.retry->topic, send.reconsume_times());
    EraseDelayProperties(&first);  // dead letters wait no more
  }
  absl::StatusOr<int> level = RequestedDelayLevel(first.properties);
  if (!level.ok()) {
    return Refusal{proto::MESSAGE_ILLEGAL,
                   std::string(level.status().message())};
  }
  // A prepared transactional message waits as a half on
  // RMQ_SYS_TRANS_HALF_TOPIC until the producer ends the transaction
  // (RocketMQ's prepareMessage); the answer still names the real queue.
  std::optional<Refusal> refusal;
  if (IsTransactionPrepared(first.properties) ||
      TransactionType(send.sys_flag()) == kTransactionPreparedType) {
    refusal = MakeHalf(send, *level, messages);
  } else if (*level > 0) {
    refusal = Delay(*level, messages);
  } else if (send.batch()) {
    refusal = CheckBatchNotDelayed(*messages);
  }
  if (refusal) return refusal;
  if (target.retry.has_value() && !target.retry->dead_letter &&
      first.properties.size() > static_cast<size_t>(kMaxRecordPropertiesSize)) {
    return DivertToDeadLetters(send, &first);
  }
  return std::nullopt;
}

std::optional<SendProcessor::Refusal> SendProcessor::Delay(
    int level, std::vector<MessageToStore>* messages) const {
  // Delayed messages go through SCHEDULE_TOPIC_XXXX (RocketMQ's
  // transformDelayLevelMessage); the answer still names the real queue.
  if (messages->size() > 1) {
    return Refusal{proto::MESSAGE_ILLEGAL,
                   "batch messages cannot have a delay level"};
  }
  RewriteForDelay(config_.delay_levels, level, &messages->front());
  return std::nullopt;
}

std::optional<SendProcessor::Refusal> SendProcessor::MakeHalf(
    const proto::SendMessageRequest& send, int delay_level,
    std::vector<MessageToStore>* messages) {
  if (messages->size() > 1 || send.batch()) {
    return Refusal{proto::MESSAGE_ILLEGAL,
                   "batch messages cannot be transactional"};
  }
  if (delay_level > 0) {
    return Refusal{proto::MESSAGE_ILLEGAL,
                   "transactional messages cannot have a delay level"};
  }
  if (!FindProperty(messages->front().properties, kPropertyProducerGroup)
           .has_value()) {
    return Refusal{
        proto::MESSAGE_ILLEGAL,
        absl::StrCat("a transactional message needs the ",
                     kPropertyProducerGroup, " property (its producer group)")};
  }
  RewriteForHalf(&messages->front());
  return std::nullopt;
}

std::optional<SendProcessor::Refusal> SendProcessor::CheckBatchNotDelayed(
    const std::vector<MessageToStore>& messages) {
  for (size_t i = 0; i < messages.size(); ++i) {
    absl::StatusOr<int> each = RequestedDelayLevel(messages[i].properties);
    if (!each.ok()) {
      return Refusal{
          proto::MESSAGE_ILLEGAL,
          absl::StrCat("batch message ", i, ": ", each.status().message())};
    }
    if (*each > 0) {
      return Refusal{proto::MESSAGE_ILLEGAL,
                     "batch messages cannot have a delay level"};
    }
  }
  return std::nullopt;
}

std::optional<SendProcessor::Refusal> SendProcessor::DivertToDeadLetters(
    const proto::SendMessageRequest& send, MessageToStore* message) const {
  // No room for the delay bookkeeping: the dead-letter queue, which needs
  // none, rather than a refusal that leaves the consumer redelivering the
  // message locally without end.
  absl::StatusOr<RetryDestination> dlq = ResolveRetry(
      groups_, topics_, send.topic().substr(kRetryGroupTopicPrefix.size()),
      send.reconsume_times(), send.max_reconsume_times(), /*to_dlq=*/true);
  if (!dlq.ok()) {
    return Refusal{RetryErrorCode(dlq.status()),
                   std::string(dlq.status().message())};
  }
  EraseDelayProperties(message);
  message->topic = dlq->topic;
  message->queue_id = 0;
  spdlog::warn(
      "message {} with {} bytes of properties has no room for a retry's "
      "delay bookkeeping (a record holds {}); it goes to {} instead of "
      "being retried",
      std::string(FindProperty(message->properties, kPropertyOriginMessageId)
                      .value_or("")),
      message->properties.size(), kMaxRecordPropertiesSize, dlq->topic);
  return std::nullopt;
}

void SendProcessor::EraseDelayProperties(MessageToStore* message) {
  std::map<std::string, std::string> props =
      DecodeProperties(message->properties);
  EraseDelayBookkeeping(&props);
  message->properties = EncodeProperties(props);
}

void SendProcessor::Store(const Command& request,
                          const remoting::Responder& responder,
                          int32_t queue_id,
                          std::vector<MessageToStore> messages) {
  const size_t count = messages.size();
  // The answer needs only the request's code and opaque.
  const int32_t request_code = request.header.code();
  const uint64_t opaque = request.header.opaque();
  store_->Put(std::move(messages), [this, request_code, opaque, responder,
                                    queue_id, count](store::PutResult result) {
    const proto::StatusCode code = StatusFor(result.status);
    Command response = MakeResponse(request_code, opaque, code, result.error);
    if (store::PutStored(result.status)) {
      messages_put_.fetch_add(static_cast<int64_t>(count));
      proto::SendMessageResponse* out =
          response.header.mutable_send_message_response();
      if (result.offset_msg_ids.size() == 1) {
        out->set_msg_id(std::move(result.offset_msg_ids[0]));
      } else {
        out->set_msg_id(absl::StrJoin(result.offset_msg_ids, ","));
      }
      out->set_queue_id(queue_id);
      out->set_queue_offset(result.queue_offset);
      out->set_batch_count(result.message_count);
    }
    responder.Respond(std::move(response));
  });
}

}  // namespace cometmq::broker
