#ifndef COMETMQ_BROKER_SEND_BACK_PROCESSOR_H_
#define COMETMQ_BROKER_SEND_BACK_PROCESSOR_H_

#include <string>

#include "absl/strings/string_view.h"
#include "cpp/broker/broker_config.h"
#include "cpp/broker/retry_policy.h"
#include "cpp/broker/subscription_group_manager.h"
#include "cpp/broker/thread_pool.h"
#include "cpp/broker/topic_config_manager.h"
#include "cpp/remoting/remoting_server.h"
#include "cpp/store/message_store.h"

namespace cometmq::broker {

// CONSUMER_SEND_MSG_BACK: a consumer failed a message. Runs on the send
// pool. Reads the original record by commit log offset and stores a copy
// with reconsume times + 1 where ResolveRetry says (delay_level < 0: the
// DLQ), a retry going through the delay path at level delay_level (0: 3 +
// reconsume times). RETRY_TOPIC keeps the
// first topic the message was consumed from and ORIGIN_MESSAGE_ID its first
// id; body, keys, tags, UNIQ_KEY and born timestamp are kept. SUCCESS is
// answered only once the copy is stored. A record no consumer is given (on
// SCHEDULE_TOPIC_XXXX, a transaction's half or op) is refused: BAD_REQUEST.
class SendBackProcessor {
 public:
  SendBackProcessor(const BrokerConfig& config, store::MessageStore* store,
                    TopicConfigManager* topics,
                    SubscriptionGroupManager* groups, ThreadPool* pool);

  void Handle(remoting::Command request, remoting::Responder responder);

 private:
  void Process(const remoting::Command& request,
               const remoting::Responder& responder);

  const BrokerConfig& config_;
  store::MessageStore* const store_;
  TopicConfigManager* const topics_;
  SubscriptionGroupManager* const groups_;
  ThreadPool* const pool_;
};

}  // namespace cometmq::broker

#endif  // COMETMQ_BROKER_SEND_BACK_PROCESSOR_H_
