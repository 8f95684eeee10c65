#ifndef COMETMQ_CLIENT_RETRY_COPY_H_
#define COMETMQ_CLIENT_RETRY_COPY_H_

#include <string>
#include <vector>

#include "cpp/client/message.h"
#include "cpp/client/message_queue.h"
#include "cpp/client/route_cache.h"

namespace cometmq::client {

// The topic a clustering group's sent-back messages come again from.
std::string RetryTopic(const std::string& group);

// What a push consumer sends to %RETRY%<group> when the broker a failed
// message came from did not take it back (RocketMQ's fallback through its
// internal producer): the message with its id, tags, keys and properties,
// RETRY_TOPIC and ORIGIN_MESSAGE_ID kept from its first failure, delay
// level 3 + reconsume times, and the counts the broker's retry/DLQ rule
// needs (RECONSUME_TIME = reconsume times + 1; MAX_RECONSUME_TIMES =
// `max_reconsume_times`, or -1 for straight to the DLQ when `to_dlq` or
// the limit is 0 or less). Transaction and delay bookkeeping is dropped.
// The reconsume times are the consumer's, which also count its local
// redeliveries.
Message MakeRetryCopy(const std::string& group, const MessageExt& message,
                      bool to_dlq, int max_reconsume_times);

// The first message id a retried message had (its own when first failed).
std::string OriginMessageId(const MessageExt& message);

// The queues a retry copy is offered to, one per broker of `route`: other
// brokers first, `origin_broker` last and only if `origin_may_take_it` (it
// answered; one that timed out is not asked again).
std::vector<MessageQueue> RetryCopyTargets(const TopicRoute& route,
                                           const std::string& origin_broker,
                                           bool origin_may_take_it);

}  // namespace cometmq::client

#endif  // COMETMQ_CLIENT_RETRY_COPY_H_
