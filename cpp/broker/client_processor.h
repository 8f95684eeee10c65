#ifndef COMETMQ_BROKER_CLIENT_PROCESSOR_H_
#define COMETMQ_BROKER_CLIENT_PROCESSOR_H_

#include <cstdint>
#include <vector>

#include "cpp/broker/broker_config.h"
#include "cpp/broker/client_manager.h"
#include "cpp/broker/consumer_offset_manager.h"
#include "cpp/broker/rebalance_lock_manager.h"
#include "cpp/broker/subscription_group_manager.h"
#include "cpp/broker/topic_config_manager.h"
#include "cpp/remoting/remoting_server.h"

namespace cometmq::broker {

// Client bookkeeping requests: HEART_BEAT, UNREGISTER_CLIENT,
// GET_CONSUMER_LIST_BY_GROUP, GET_CONSUMER_CONNECTION_LIST,
// GET_PRODUCER_CONNECTION_LIST, QUERY_CONSUMER_OFFSET, UPDATE_CONSUMER_OFFSET,
// the orderly consumers' LOCK_BATCH_MQ and UNLOCK_BATCH_MQ, and
// CHECK_CLIENT_CONFIG (can this broker serve a subscription: SQL92 needs
// enablePropertyFilter and a selector that compiles). All of them only
// touch memory, so they are answered on the I/O thread.
class ClientProcessor {
 public:
  ClientProcessor(const BrokerConfig& config, ClientManager* clients,
                  SubscriptionGroupManager* groups,
                  ConsumerOffsetManager* offsets, TopicConfigManager* topics,
                  RebalanceLockManager* locks);

  static std::vector<int32_t> Codes();
  void Handle(remoting::Command request, remoting::Responder responder);

 private:
  remoting::Command Heartbeat(const remoting::Command& request,
                              const remoting::Responder& responder);
  remoting::Command Unregister(const remoting::Command& request);
  remoting::Command ConsumerList(const remoting::Command& request);
  remoting::Command ConsumerConnections(const remoting::Command& request);
  remoting::Command ProducerConnections(const remoting::Command& request);
  remoting::Command QueryOffset(const remoting::Command& request);
  remoting::Command UpdateOffset(const remoting::Command& request);
  remoting::Command LockBatch(const remoting::Command& request);
  remoting::Command UnlockBatch(const remoting::Command& request);
  remoting::Command CheckClientConfig(const remoting::Command& request);

  const BrokerConfig& config_;
  ClientManager* const clients_;
  SubscriptionGroupManager* const groups_;
  ConsumerOffsetManager* const offsets_;
  TopicConfigManager* const topics_;
  RebalanceLockManager* const locks_;
};

}  // namespace cometmq::broker

#endif  // COMETMQ_BROKER_CLIENT_PROCESSOR_H_
