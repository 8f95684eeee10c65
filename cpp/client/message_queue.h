#ifndef COMETMQ_CLIENT_MESSAGE_QUEUE_H_
#define COMETMQ_CLIENT_MESSAGE_QUEUE_H_

#include <cstdint>
#include <string>
#include <tuple>

#include "absl/strings/str_cat.h"

namespace cometmq::client {

// One queue of a topic on one broker. Ordered by (topic, broker name, queue
// id), the order every client sorts by so allocation agrees across clients.
struct MessageQueue {
  std::string topic;
  std::string broker_name;
  int32_t queue_id = 0;

  friend bool operator<(const MessageQueue& a, const MessageQueue& b) {
    return std::tie(a.topic, a.broker_name, a.queue_id) <
           std::tie(b.topic, b.broker_name, b.queue_id);
  }
  friend bool operator==(const MessageQueue& a, const MessageQueue& b) {
    return a.topic == b.topic && a.broker_name == b.broker_name &&
           a.queue_id == b.queue_id;
  }
  std::string ToString() const {
    return absl::StrCat(topic, "@", broker_name, ":", queue_id);
  }
};

}  // namespace cometmq::client

#endif  // COMETMQ_CLIENT_MESSAGE_QUEUE_H_
