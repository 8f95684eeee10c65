#ifndef COMETMQ_CLIENT_MESSAGE_LISTENER_H_
#define COMETMQ_CLIENT_MESSAGE_LISTENER_H_

#include <functional>
#include <vector>

#include "cpp/client/message.h"

namespace cometmq::client {

// What a push consumer's listener says about one message. kReconsumeLater
// sends a concurrently consumed message back for a delayed retry; for an
// orderly consumer it suspends the queue a moment and retries the same
// message locally (RocketMQ's SUSPEND_CURRENT_QUEUE_A_MOMENT).
enum class ConsumeResult { kSuccess, kReconsumeLater };

using MessageListener = std::function<ConsumeResult(const MessageExt&)>;

// A push consumer's batch listener (RocketMQ's consumeMessage(List<MessageExt>)
// with consumeMessageBatchMaxSize): up to ConsumerOptions::
// consume_batch_max_size messages of one queue, in queue-offset order. Its
// result is the whole batch's: kSuccess consumes every message,
// kReconsumeLater (or an exception) fails every one of them, each then
// retried as a failed single message would be.
using BatchMessageListener =
    std::function<ConsumeResult(const std::vector<MessageExt>&)>;

}  // namespace cometmq::client

#endif  // COMETMQ_CLIENT_MESSAGE_LISTENER_H_
