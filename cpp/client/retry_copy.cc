#include "cpp/client/retry_copy.h"

#include <algorithm>
#include <limits>

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
  // Counted up to INT32_MAX and no further (a wrapped count would be
  // negative: retries without end).
  const int32_t done = std::max(message.reconsume_times, 0);
  props[std::string(kPropertyReconsumeTime)] = absl::StrCat(
      done < std::numeric_limits<int32_t>::max() ? done + 1 : done);
  props[std::string(kPropertyMaxReconsumeTimes)] = absl::StrCat(
      to_dlq || max_reconsume_times <= 0 ? -1 : max_reconsume_times);
  props.erase(std::string(kPropertyTransactionPrepared));
  props.erase(std::string(kPropertyRealTopic));
  props.erase(std::string(kPropertyRealQueueId));
  // At most 18 levels exist; the broker takes any level past its table as
  // its last.
  if (!to_dlq) copy.delay_level = 3 + std::min(done, 15);
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
