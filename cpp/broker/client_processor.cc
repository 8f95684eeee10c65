#include "cpp/broker/client_processor.h"

#include <optional>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "cpp/broker/send_back_processor.h"
#include "cpp/broker/sql_filter.h"
#include "cpp/broker/topic_config_manager.h"
#include "cpp/common/monotonic_clock.h"
#include "cpp/filter/sql_expression.h"
#include "spdlog/spdlog.h"

namespace cometmq::broker {
namespace {

using remoting::Command;
using remoting::MakeResponse;

std::vector<LockedQueue> ToLockedQueues(
    const google::protobuf::RepeatedPtrField<proto::MessageQueue>& queues) {
  std::vector<LockedQueue> out;
  out.reserve(queues.size());
  for (const proto::MessageQueue& q : queues) {
    out.push_back(LockedQueue{q.topic(), q.broker_name(), q.queue_id()});
  }
  return out;
}

void SetConnection(const ClientChannel& channel, proto::Connection* out) {
  out->set_client_id(channel.client_id);
  out->set_client_addr(channel.remote_address);
  out->set_language(channel.language);
  out->set_version(channel.version);
}

// The lock requests' shared checks; nullopt when the request is usable.
std::optional<Command> CheckLockRequest(const Command& request) {
  if (!request.header.has_lock_batch()) {
    return remoting::MissingPayloadResponse(request, "lock_batch");
  }
  const proto::LockBatchRequest& lock = request.header.lock_batch();
  if (lock.consumer_group().empty() || lock.client_id().empty()) {
    return MakeResponse(request, proto::BAD_REQUEST,
                        "LOCK_BATCH_MQ and UNLOCK_BATCH_MQ need a consumer "
                        "group and a client id");
  }
  return std::nullopt;
}

}  // namespace

ClientProcessor::ClientProcessor(const BrokerConfig& config,
                                 ClientManager* clients,
                                 SubscriptionGroupManager* groups,
                                 ConsumerOffsetManager* offsets,
                                 TopicConfigManager* topics,
                                 RebalanceLockManager* locks)
    : config_(config),
      clients_(clients),
      groups_(groups),
      offsets_(offsets),
      topics_(topics),
      locks_(locks) {}

std::vector<int32_t> ClientProcessor::Codes() {
  return {proto::HEART_BEAT,
          proto::UNREGISTER_CLIENT,
          proto::GET_CONSUMER_LIST_BY_GROUP,
          proto::GET_CONSUMER_CONNECTION_LIST,
          proto::GET_PRODUCER_CONNECTION_LIST,
          proto::QUERY_CONSUMER_OFFSET,
          proto::UPDATE_CONSUMER_OFFSET,
          proto::LOCK_BATCH_MQ,
          proto::UNLOCK_BATCH_MQ,
          proto::CHECK_CLIENT_CONFIG};
}

void ClientProcessor::Handle(Command request, remoting::Responder responder) {
  Command response;
  switch (request.header.code()) {
    case proto::HEART_BEAT:
      response = Heartbeat(request, responder);
      break;
    case proto::UNREGISTER_CLIENT:
      response = Unregister(request);
      break;
    case proto::GET_CONSUMER_LIST_BY_GROUP:
      response = ConsumerList(request);
      break;
    case proto::GET_CONSUMER_CONNECTION_LIST:
      response = ConsumerConnections(request);
      break;
    case proto::GET_PRODUCER_CONNECTION_LIST:
      response = ProducerConnections(request);
      break;
    case proto::QUERY_CONSUMER_OFFSET:
      response = QueryOffset(request);
      break;
    case proto::UPDATE_CONSUMER_OFFSET:
      response = UpdateOffset(request);
      break;
    case proto::LOCK_BATCH_MQ:
      response = LockBatch(request);
      break;
    case proto::UNLOCK_BATCH_MQ:
      response = UnlockBatch(request);
      break;
    case proto::CHECK_CLIENT_CONFIG:
      response = CheckClientConfig(request);
      break;
    default:
      response =
          MakeResponse(request, proto::REQUEST_CODE_NOT_SUPPORTED,
                       absl::StrCat("request code ", request.header.code(),
                                    " is not a client request"));
  }
  responder.Respond(std::move(response));
}

Command ClientProcessor::Heartbeat(const Command& request,
                                   const remoting::Responder& responder) {
  if (!request.header.has_heartbeat()) {
    return remoting::MissingPayloadResponse(request, "heartbeat");
  }
  const proto::HeartbeatData& heartbeat = request.header.heartbeat();
  if (heartbeat.client_id().empty()) {
    return MakeResponse(request, proto::BAD_REQUEST,
                        "the heartbeat has no client_id");
  }
  for (const proto::ConsumerData& consumer : heartbeat.consumers()) {
    if (absl::Status s = ValidateGroupName(consumer.group()); !s.ok()) {
      return MakeResponse(request, proto::BAD_REQUEST, s.message());
    }
    if (!groups_->FindOrCreate(consumer.group()).has_value()) {
      return MakeResponse(request, proto::SUBSCRIPTION_GROUP_NOT_EXIST,
                          absl::StrCat("subscription group[", consumer.group(),
                                       "] does not exist"));
    }
  }
  // A clustering push consumer pulls its retry topic from the start, so the
  // topic exists (and is routed) before any message is sent back.
  for (const proto::ConsumerData& consumer : heartbeat.consumers()) {
    if (consumer.message_model() != "CLUSTERING" ||
        consumer.consume_type() != "CONSUME_PASSIVELY") {
      continue;
    }
    const std::string retry = RetryTopic(consumer.group());
    if (topics_->Find(retry).has_value()) continue;
    if (absl::StatusOr<proto::TopicConfig> created =
            topics_->CreateOnSend(retry, 1);
        !created.ok()) {
      spdlog::warn("cannot create retry topic {}: {}", retry,
                   created.status().ToString());
    }
  }
  clients_->Heartbeat(heartbeat, responder.connection(),
                      responder.remote_address(), MonotonicNow());
  return MakeResponse(request, proto::SUCCESS);
}

Command ClientProcessor::Unregister(const Command& request) {
  if (!request.header.has_unregister_client()) {
    return remoting::MissingPayloadResponse(request, "unregister_client");
  }
  const proto::UnregisterClientRequest& un = request.header.unregister_client();
  clients_->Unregister(un.client_id(), un.producer_group(),
                       un.consumer_group());
  return MakeResponse(request, proto::SUCCESS);
}

Command ClientProcessor::ConsumerList(const Command& request) {
  if (!request.header.has_consumer_list()) {
    return remoting::MissingPayloadResponse(request, "consumer_list");
  }
  Command response = MakeResponse(request, proto::SUCCESS);
  proto::ConsumerListResponse* out =
      response.header.mutable_consumer_list_response();
  for (std::string& id :
       clients_->ConsumerIds(request.header.consumer_list().consumer_group())) {
    out->add_client_ids(std::move(id));
  }
  return response;
}

Command ClientProcessor::ConsumerConnections(const Command& request) {
  if (!request.header.has_connection_list()) {
    return remoting::MissingPayloadResponse(request, "connection_list");
  }
  const std::string& group = request.header.connection_list().group();
  std::optional<ConsumerConnection> conn =
      clients_->ConsumerConnectionOf(group);
  if (!conn.has_value()) {
    // RocketMQ's answer and remark.
    return MakeResponse(
        request, proto::CONSUMER_NOT_ONLINE,
        absl::StrCat("the consumer group[", group, "] not online"));
  }
  Command response = MakeResponse(request, proto::SUCCESS);
  proto::ConsumerConnection* out =
      response.header.mutable_consumer_connection_response();
  for (const ClientChannel& member : conn->members) {
    SetConnection(member, out->add_connections());
  }
  out->set_consume_type(conn->consume_type);
  out->set_message_model(conn->message_model);
  out->set_consume_from_where(conn->consume_from_where);
  for (const auto& [topic, subscription] : conn->subscriptions) {
    *out->add_subscriptions() = subscription;
  }
  return response;
}

Command ClientProcessor::ProducerConnections(const Command& request) {
  if (!request.header.has_connection_list()) {
    return remoting::MissingPayloadResponse(request, "connection_list");
  }
  Command response = MakeResponse(request, proto::SUCCESS);
  proto::ProducerConnection* out =
      response.header.mutable_producer_connection_response();
  for (const ClientChannel& member :
       clients_->Producers(request.header.connection_list().group())) {
    SetConnection(member, out->add_connections());
  }
  return response;
}

Command ClientProcessor::QueryOffset(const Command& request) {
  if (!request.header.has_consumer_offset()) {
    return remoting::MissingPayloadResponse(request, "consumer_offset");
  }
  const proto::ConsumerOffsetRequest& q = request.header.consumer_offset();
  std::optional<int64_t> offset =
      offsets_->Query(q.consumer_group(), q.topic(), q.queue_id());
  if (!offset.has_value()) {
    return MakeResponse(request, proto::QUERY_NOT_FOUND,
                        absl::StrCat("group[", q.consumer_group(),
                                     "] never committed an offset for ",
                                     q.topic(), " queue ", q.queue_id()));
  }
  Command response = MakeResponse(request, proto::SUCCESS);
  response.header.mutable_consumer_offset_response()->set_offset(*offset);
  return response;
}

Command ClientProcessor::UpdateOffset(const Command& request) {
  if (!request.header.has_consumer_offset()) {
    return remoting::MissingPayloadResponse(request, "consumer_offset");
  }
  const proto::ConsumerOffsetRequest& u = request.header.consumer_offset();
  if (u.consumer_group().empty() || u.topic().empty() || u.queue_id() < 0 ||
      u.commit_offset() < 0) {
    return MakeResponse(request, proto::BAD_REQUEST,
                        "UPDATE_CONSUMER_OFFSET needs a group, a topic, a "
                        "queue id >= 0 and an offset >= 0");
  }
  if (absl::Status s = ValidateGroupName(u.consumer_group()); !s.ok()) {
    return MakeResponse(request, proto::BAD_REQUEST, s.message());
  }
  // The offsets file is written as `group@topic=...` lines: a topic with a
  // line break, '=' or ':' would make it unreadable, and the broker would
  // not start again.
  if (absl::Status s = ValidateTopicName(u.topic()); !s.ok()) {
    return MakeResponse(request, proto::BAD_REQUEST,
                        absl::StrCat("bad topic: ", s.message()));
  }
  offsets_->Commit(u.consumer_group(), u.topic(), u.queue_id(),
                   u.commit_offset());
  return MakeResponse(request, proto::SUCCESS);
}

Command ClientProcessor::LockBatch(const Command& request) {
  if (std::optional<Command> bad = CheckLockRequest(request)) return *bad;
  const proto::LockBatchRequest& lock = request.header.lock_batch();
  std::vector<LockedQueue> locked =
      locks_->TryLockBatch(lock.consumer_group(), lock.client_id(),
                           ToLockedQueues(lock.queues()), MonotonicNow());
  Command response = MakeResponse(request, proto::SUCCESS);
  proto::LockBatchResponse* out = response.header.mutable_lock_batch_response();
  for (LockedQueue& q : locked) {
    proto::MessageQueue* mq = out->add_locked();
    mq->set_topic(std::move(q.topic));
    mq->set_broker_name(std::move(q.broker_name));
    mq->set_queue_id(q.queue_id);
  }
  return response;
}

Command ClientProcessor::UnlockBatch(const Command& request) {
  if (std::optional<Command> bad = CheckLockRequest(request)) return *bad;
  const proto::LockBatchRequest& unlock = request.header.lock_batch();
  locks_->UnlockBatch(unlock.consumer_group(), unlock.client_id(),
                      ToLockedQueues(unlock.queues()));
  return MakeResponse(request, proto::SUCCESS);
}

Command ClientProcessor::CheckClientConfig(const Command& request) {
  if (!request.header.has_check_client_config()) {
    return remoting::MissingPayloadResponse(request, "check_client_config");
  }
  const proto::SubscriptionData& sub =
      request.header.check_client_config().subscription();
  if (sub.expression_type() == proto::EXPRESSION_TAG) {
    return MakeResponse(request, proto::SUCCESS, "");
  }
  if (sub.expression_type() != proto::EXPRESSION_SQL92) {
    return MakeResponse(request, proto::BAD_REQUEST,
                        absl::StrCat("unknown expression type ",
                                     static_cast<int>(sub.expression_type())));
  }
  // As RocketMQ's checkClientConfig: refused while the broker cannot
  // filter by properties, else the selector must compile.
  if (!config_.enablePropertyFilter) {
    return MakeResponse(request, proto::SYSTEM_ERROR, kSql92NotSupported);
  }
  if (absl::Status s = filter::ValidateSql92(sub.expression()); !s.ok()) {
    return MakeResponse(
        request, proto::SUBSCRIPTION_PARSE_FAILED,
        absl::StrCat("parse the consumer's subscription[", sub.expression(),
                     "] failed: ", s.message()));
  }
  return MakeResponse(request, proto::SUCCESS, "");
}

}  // namespace cometmq::broker
