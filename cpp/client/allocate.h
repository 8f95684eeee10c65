#ifndef COMETMQ_CLIENT_ALLOCATE_H_
#define COMETMQ_CLIENT_ALLOCATE_H_

#include <string>
#include <vector>

#include "cpp/client/message_queue.h"

namespace cometmq::client {

// RocketMQ's AllocateMessageQueueAveragely: after sorting queues and client
// ids, each client takes a contiguous block; the first `queues % clients`
// clients take one extra. Guarantee: every client computing this from the
// same inputs (in any order) gets disjoint blocks covering every queue; a
// client not in `client_ids` gets nothing.
std::vector<MessageQueue> AllocateAveragely(std::vector<MessageQueue> queues,
                                            std::vector<std::string> client_ids,
                                            const std::string& client_id);

}  // namespace cometmq::client

#endif  // COMETMQ_CLIENT_ALLOCATE_H_
