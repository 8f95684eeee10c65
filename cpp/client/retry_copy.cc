#include "cpp/client/retry_copy.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "cpp/common/message_record.h"

namespace cometmq::client {

std::string RetryTopic(const std::string& group) {
  return absl::StrCat(kRetryGroupTopicPrefix, group);
}

std::string OriginMessageId(const MessageExt& message) {
  auto origin = message.properties.find(std::string(kPropertyOriginMessageId));
  return origin != message.properties.end() ? origin->second : message.msg_id;
}

Message MakeRetryCopy(const std::string& group, const MessageExt& message,
                      bool to_dlq, int max_reconsume_times) {
  Message copy;
  copy.topic = RetryTopic(group);
  copy.body = message.body;
  copy.tags = message.tags;
  copy.keys = message.keys;
  copy.properties = message.properties;
  auto& props = copy.properties;
  props[std::string(kPropertyUniqKey)] = message.msg_id;  // the same msg id
  // `message.topic` is already the first topic of a retried message.
  props.emplace(std::string(kPropertyRetryTopic), message.topic);
  props[std::string(kPropertyOriginMessageId)] = OriginMessageId(message);
  props[std::string(kPropertyReconsumeTime)] =
      absl::StrCat(message.reconsume_times + 1);
  props[std::string(kPropertyMaxReconsumeTimes)] = absl::StrCat(
      to_dlq || max_reconsume_times <= 0 ? -1 : max_reconsume_times);
  props.erase(std::string(kPropertyTransactionPrepared));
  props.erase(std::string(kPropertyRealTopic));
  props.erase(std::string(kPropertyRealQueueId));
  if (!to_dlq) copy.delay_level = 3 + message.reconsume_times;
  return copy;
}

std::vector<MessageQueue> RetryCopyTargets(const TopicRoute& route,
                                           const std::string& origin_broker,
                                           bool origin_may_take_it) {
  std::vector<MessageQueue> targets;
  for (const MessageQueue& queue : route.write_queues) {
    const bool seen =
        std::any_of(targets.begin(), targets.end(), [&](const MessageQueue& t) {
          return t.broker_name == queue.broker_name;
        });
    if (seen) continue;
    if (queue.broker_name != origin_broker || origin_may_take_it) {
      targets.push_back(queue);
    }
  }
  std::stable_partition(targets.begin(), targets.end(),
                        [&](const MessageQueue& queue) {
                          return queue.broker_name != origin_broker;
                        });
  return targets;
}

}  // namespace cometmq::client
