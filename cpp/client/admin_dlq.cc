// Admin::ResendDlq: dead letters back to the topics they failed on.
#include <algorithm>
#include <map>
#include <utility>

#include "absl/strings/str_cat.h"
#include "cpp/client/admin.h"
#include "cpp/client/client_error.h"
#include "cpp/client/send_request.h"
#include "cpp/common/message_record.h"

namespace cometmq::client {
namespace {

constexpr int32_t kPullBatch = 32;

// Bookkeeping of the retry path, not part of the message the user sent.
constexpr absl::string_view kBookkeeping[] = {
    kPropertyRetryTopic,    kPropertyOriginMessageId,
    kPropertyReconsumeTime, kPropertyMaxReconsumeTimes,
    kPropertyRealTopic,     kPropertyRealQueueId,
    kPropertyDelayLevel};

// The message as its producer sent it to `topic`.
Message Original(const MessageExt& dead, const std::string& topic) {
  Message message;
  message.topic = topic;
  message.body = dead.body;
  message.tags = dead.tags;
  message.keys = dead.keys;
  message.properties = dead.properties;
  for (absl::string_view name : kBookkeeping) {
    message.properties.erase(std::string(name));
  }
  message.properties.erase(std::string(kPropertyTags));
  message.properties.erase(std::string(kPropertyKeys));
  // It keeps its id, so it can be traced through its failures.
  message.properties[std::string(kPropertyUniqKey)] = dead.msg_id;
  return message;
}

}  // namespace

absl::StatusOr<std::vector<ResentMessage>> Admin::ResendDlq(
    const std::string& group, int32_t max_messages) {
  if (group.empty()) return absl::InvalidArgumentError("group is empty");
  if (max_messages < 1) {
    return absl::InvalidArgumentError("max_messages must be at least 1");
  }
  absl::StatusOr<std::shared_ptr<ClientInstance>> instance = Instance();
  if (!instance.ok()) return instance.status();
  RouteCache* routes = (*instance)->routes();
  const std::string dlq = absl::StrCat(kDlqGroupTopicPrefix, group);
  auto route = routes->Refresh(dlq);
  if (!route.ok()) {
    if (BrokerStatusCode(route.status()) == proto::TOPIC_NOT_EXIST) {
      return std::vector<ResentMessage>{};
    }
    return route.status();
  }
  std::vector<ResentMessage> resent;
  std::map<std::string, int64_t> next_queue;  // round robin per topic
  for (const proto::QueueData& queues : (*route)->data.queue_datas()) {
    absl::StatusOr<std::string> master =
        routes->MasterAddress(queues.broker_name());
    if (!master.ok()) return master.status();
    for (int32_t queue_id = 0; queue_id < queues.read_queue_nums();
         ++queue_id) {
      remoting::Command query =
          remoting::MakeRequest(proto::QUERY_CONSUMER_OFFSET);
      proto::ConsumerOffsetRequest* q = query.header.mutable_consumer_offset();
      q->set_consumer_group(group);
      q->set_topic(dlq);
      q->set_queue_id(queue_id);
      absl::StatusOr<remoting::Command> committed =
          (*instance)->remoting()->InvokeSync(*master, std::move(query),
                                              config_.request_timeout);
      if (!committed.ok()) return Annotate(committed.status(), *master);
      int64_t offset = 0;  // never re-sent: from the first dead letter kept
      if (committed->header.status() == proto::SUCCESS) {
        offset = committed->header.consumer_offset_response().offset();
      } else if (committed->header.status() != proto::QUERY_NOT_FOUND) {
        return Annotate(ResponseStatus(*committed), *master);
      }
      while (static_cast<int32_t>(resent.size()) < max_messages) {
        remoting::Command request = remoting::MakeRequest(proto::PULL_MESSAGE);
        proto::PullMessageRequest* pull = request.header.mutable_pull_message();
        pull->set_consumer_group(group);
        pull->set_topic(dlq);
        pull->set_queue_id(queue_id);
        pull->set_queue_offset(offset);
        pull->set_max_msg_nums(std::min<int32_t>(
            kPullBatch, max_messages - static_cast<int32_t>(resent.size())));
        pull->set_suspend_timeout_millis(0);
        pull->set_subscription("*");
        pull->set_commit_offset(-1);
        absl::StatusOr<remoting::Command> pulled =
            (*instance)->remoting()->InvokeSync(*master, std::move(request),
                                                config_.request_timeout);
        if (!pulled.ok()) return Annotate(pulled.status(), *master);
        const int32_t status = pulled->header.status();
        const int64_t next =
            pulled->header.pull_message_response().next_begin_offset();
        if (status == proto::PULL_NOT_FOUND) break;
        if (status == proto::PULL_OFFSET_MOVED ||
            status == proto::PULL_RETRY_IMMEDIATELY) {
          if (next <= offset) break;
          offset = next;
          continue;
        }
        if (status != proto::SUCCESS) {
          return Annotate(ResponseStatus(*pulled), *master);
        }
        auto messages = DecodeMessages(pulled->body, queues.broker_name());
        if (!messages.ok()) return messages.status();
        // Marks the dead letters below `upto` re-sent.
        auto commit = [&](int64_t upto) -> absl::Status {
          remoting::Command request =
              remoting::MakeRequest(proto::UPDATE_CONSUMER_OFFSET);
          proto::ConsumerOffsetRequest* update =
              request.header.mutable_consumer_offset();
          update->set_consumer_group(group);
          update->set_topic(dlq);
          update->set_queue_id(queue_id);
          update->set_commit_offset(upto);
          return Call(instance->get(), *master, std::move(request)).status();
        };
        // A dead letter that cannot be re-sent ends the call with its error;
        // those re-sent before it are marked first, so the next call does
        // not send them again.
        auto stop_at = [&](const MessageExt& dead, absl::Status error) {
          if (dead.queue_offset > offset) {
            if (absl::Status s = commit(dead.queue_offset); !s.ok()) {
              return s;
            }
          }
          return error;
        };
        for (const MessageExt& dead : *messages) {
          auto topic = dead.properties.find(std::string(kPropertyRetryTopic));
          if (topic == dead.properties.end() || topic->second.empty()) {
            return stop_at(dead, absl::DataLossError(absl::StrCat(
                                     "dead letter ", dead.msg_id, " at ", dlq,
                                     " offset ", dead.queue_offset,
                                     " does not name the topic it failed on")));
          }
          absl::StatusOr<ResentMessage> sent =
              Resend(instance->get(), dead, topic->second,
                     next_queue[topic->second]++);
          if (!sent.ok()) return stop_at(dead, sent.status());
          resent.push_back(*std::move(sent));
        }
        offset = next;
        if (absl::Status s = commit(offset); !s.ok()) return s;
      }
    }
  }
  return resent;
}

absl::StatusOr<ResentMessage> Admin::Resend(ClientInstance* instance,
                                            const MessageExt& dead,
                                            const std::string& topic,
                                            int64_t sequence) {
  auto route = instance->routes()->Get(topic);
  if (!route.ok()) return route.status();
  const std::vector<MessageQueue>& queues = (*route)->write_queues;
  if (queues.empty()) {
    return absl::UnavailableError(
        absl::StrCat("topic ", topic, " has no writable queue"));
  }
  const MessageQueue& queue = queues[sequence % queues.size()];
  absl::StatusOr<PreparedSend> prepared =
      PrepareSend(Original(dead, topic), kInnerProducerGroup, SendLimits{},
                  PropertiesSetBy::kClient);
  if (!prepared.ok()) return prepared.status();
  absl::StatusOr<std::string> addr =
      instance->routes()->MasterAddress(queue.broker_name);
  if (!addr.ok()) return addr.status();
  auto response = Call(instance, *addr,
                       MakeSendCommand(*prepared, queue.queue_id,
                                       /*default_topic_queue_nums=*/4));
  if (!response.ok()) return response.status();
  const proto::SendMessageResponse& answer =
      response->header.send_message_response();
  return ResentMessage{dead.msg_id, topic, queue.broker_name, answer.queue_id(),
                       answer.queue_offset()};
}

}  // namespace cometmq::client
