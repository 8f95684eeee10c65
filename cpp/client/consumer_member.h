#ifndef COMETMQ_CLIENT_CONSUMER_MEMBER_H_
#define COMETMQ_CLIENT_CONSUMER_MEMBER_H_

#include <string>

#include "proto/remoting.pb.h"

namespace cometmq::client {

// What a ClientInstance needs from a consumer registered with it: the data
// its heartbeats carry and a way to ask for a prompt rebalance.
class ConsumerMember {
 public:
  virtual ~ConsumerMember() = default;
  virtual const std::string& group() const = 0;
  virtual proto::ConsumerData HeartbeatData() const = 0;
  // Called on the remoting I/O thread: must only schedule work.
  virtual void OnConsumerIdsChanged() = 0;
  // A broker reset the group's offsets (RESET_CONSUMER_CLIENT_OFFSET).
  // Called on the remoting I/O thread: must only schedule work.
  virtual void OnResetOffset(const proto::ResetOffsetTable& table) = 0;
};

}  // namespace cometmq::client

#endif  // COMETMQ_CLIENT_CONSUMER_MEMBER_H_
