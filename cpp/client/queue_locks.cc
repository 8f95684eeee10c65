#include "cpp/client/queue_locks.h"

#include <map>
#include <utility>

#include "cpp/client/client_error.h"
#include "spdlog/spdlog.h"

namespace cometmq::client {
namespace {

std::map<std::string, std::vector<MessageQueue>> ByBroker(
    const std::vector<MessageQueue>& queues) {
  std::map<std::string, std::vector<MessageQueue>> by_broker;
  for (const MessageQueue& queue : queues) {
    by_broker[queue.broker_name].push_back(queue);
  }
  return by_broker;
}

remoting::Command LockRequest(int32_t code, ClientInstance* instance,
                              const std::string& group,
                              const std::vector<MessageQueue>& queues) {
  remoting::Command request = remoting::MakeRequest(code);
  proto::LockBatchRequest* lock = request.header.mutable_lock_batch();
  lock->set_consumer_group(group);
  lock->set_client_id(instance->client_id());
  for (const MessageQueue& queue : queues) {
    proto::MessageQueue* mq = lock->add_queues();
    mq->set_topic(queue.topic);
    mq->set_broker_name(queue.broker_name);
    mq->set_queue_id(queue.queue_id);
  }
  return request;
}

}  // namespace

std::set<MessageQueue> LockQueues(ClientInstance* instance,
                                  const std::string& group,
                                  const std::vector<MessageQueue>& queues,
                                  std::set<std::string>* answered_brokers) {
  std::set<MessageQueue> locked;
  for (const auto& [broker, batch] : ByBroker(queues)) {
    absl::StatusOr<remoting::Command> response = instance->CallBroker(
        broker, LockRequest(proto::LOCK_BATCH_MQ, instance, group, batch),
        instance->config().request_timeout);
    absl::Status status =
        response.ok() ? ResponseStatus(*response) : response.status();
    if (!status.ok()) {
      spdlog::warn("consumer {}: cannot lock queues on {}: {}", group, broker,
                   status.ToString());
      continue;
    }
    if (answered_brokers != nullptr) answered_brokers->insert(broker);
    for (const proto::MessageQueue& mq :
         response->header.lock_batch_response().locked()) {
      locked.insert(MessageQueue{mq.topic(), mq.broker_name(), mq.queue_id()});
    }
  }
  return locked;
}

void UnlockQueues(ClientInstance* instance, const std::string& group,
                  const std::vector<MessageQueue>& queues) {
  for (const auto& [broker, batch] : ByBroker(queues)) {
    absl::StatusOr<remoting::Command> response = instance->CallBroker(
        broker, LockRequest(proto::UNLOCK_BATCH_MQ, instance, group, batch),
        instance->config().request_timeout);
    absl::Status status =
        response.ok() ? ResponseStatus(*response) : response.status();
    if (!status.ok()) {
      spdlog::warn(
          "consumer {}: cannot unlock queues on {} (they expire there): {}",
          group, broker, status.ToString());
    }
  }
}

}  // namespace cometmq::client
