#ifndef COMETMQ_CLIENT_MESSAGE_LISTENER_H_
#define COMETMQ_CLIENT_MESSAGE_LISTENER_H_

#include <functional>

#include "cpp/client/message.h"

namespace cometmq::client {

// What a push consumer's listener says about one message. kReconsumeLater
// sends a concurrently consumed message back for a delayed retry; for an
// orderly consumer it suspends the queue a moment and retries the same
// message locally (RocketMQ's SUSPEND_CURRENT_QUEUE_A_MOMENT).
enum class ConsumeResult { kSuccess, kReconsumeLater };

using MessageListener = std::function<ConsumeResult(const MessageExt&)>;

}  // namespace cometmq::client

#endif  // COMETMQ_CLIENT_MESSAGE_LISTENER_H_
