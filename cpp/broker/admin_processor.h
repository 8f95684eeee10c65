#ifndef COMETMQ_BROKER_ADMIN_PROCESSOR_H_
#define COMETMQ_BROKER_ADMIN_PROCESSOR_H_

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "cpp/broker/broker_config.h"
#include "cpp/broker/client_manager.h"
#include "cpp/broker/consumer_offset_manager.h"
#include "cpp/broker/schedule_service.h"
#include "cpp/broker/subscription_group_manager.h"
#include "cpp/broker/thread_pool.h"
#include "cpp/broker/topic_config_manager.h"
#include "cpp/remoting/remoting_server.h"
#include "cpp/store/message_store.h"

namespace cometmq::broker {

// Queue offsets, topic administration, statistics and message lookup: the
// broker codes of PROTOCOL.md that are not send, pull or client bookkeeping.
// They may write config files or read cold records, so Handle() queues them
// on the single admin thread (SYSTEM_BUSY when its queue is full).
//
// Answers read from consume queues or the key index (a queue's max offset,
// the offset for a time, topic and consume stats, lookups by key) count
// every message acknowledged before the request arrived: such a request is
// parked until the store has dispatched them, as a new consumer group that
// starts at LAST_OFFSET right after sends would otherwise start before
// them and consume them again.
class AdminProcessor {
 public:
  // Extra runtime figures (counters owned by other processors).
  using RuntimeFigures = std::function<std::map<std::string, std::string>()>;
  // Changes one broker.conf key of the running broker (BrokerController::
  // UpdateConfig): InvalidArgument for a key or value it refuses.
  using UpdateConfig = std::function<absl::Status(const std::string& key,
                                                  const std::string& value)>;

  AdminProcessor(const BrokerConfig& config, store::MessageStore* store,
                 TopicConfigManager* topics, ConsumerOffsetManager* offsets,
                 SubscriptionGroupManager* groups,
                 const ScheduleService* schedule, ClientManager* clients,
                 ThreadPool* pool, RuntimeFigures figures,
                 std::function<void()> register_now,
                 UpdateConfig update_config = nullptr);

  static std::vector<int32_t> Codes();
  void Handle(remoting::Command request, remoting::Responder responder);

 private:
  remoting::Command Process(const remoting::Command& request);
  remoting::Command QueueOffset(const remoting::Command& request);
  remoting::Command UpdateTopic(const remoting::Command& request);
  remoting::Command DeleteTopic(const remoting::Command& request);
  // Starts the queues `after` adds to `before` at their first message for
  // the groups that consumed the topic before (ConsumerOffsetManager).
  void StartAddedQueues(const proto::TopicConfig& before,
                        const proto::TopicConfig& after);
  remoting::Command UpdateGroup(const remoting::Command& request);
  remoting::Command DeleteGroup(const remoting::Command& request);
  // GET_ALL_TOPIC_CONFIG: the whole table, or the page asked for.
  remoting::Command AllTopics(const remoting::Command& request);
  // GET_ALL_CONSUMER_OFFSET and GET_ALL_SUBSCRIPTIONGROUP_CONFIG: the
  // table's file text in the body, whole or the page asked for.
  remoting::Command TextTable(const remoting::Command& request);
  remoting::Command TopicStats(const remoting::Command& request);
  remoting::Command ConsumeStats(const remoting::Command& request);
  remoting::Command ViewMessage(const remoting::Command& request);
  remoting::Command QueryMessage(const remoting::Command& request);
  remoting::Command RuntimeInfo(const remoting::Command& request);
  remoting::Command UpdateBrokerConfig(const remoting::Command& request);
  // Groups online and subscribed to the topic, and groups with committed
  // offsets for it (RocketMQ's queryTopicConsumeByWho).
  remoting::Command TopicConsumeByWho(const remoting::Command& request);
  // INVOKE_BROKER_TO_RESET_OFFSET: resets an online group's offsets on a
  // topic and tells its clients (RocketMQ's Broker2Client.resetOffset).
  remoting::Command ResetOffset(const remoting::Command& request);
  // CLONE_GROUP_OFFSET: a group takes another's offsets (RocketMQ's
  // cloneGroupOffset) and its online clients are told.
  remoting::Command CloneGroupOffset(const remoting::Command& request);
  // Queues `notify` (RESET_CONSUMER_CLIENT_OFFSET) to every member still
  // connected; returns how many.
  static int TellResetOffset(const remoting::Command& notify,
                             const std::vector<ClientChannel>& members);

  const BrokerConfig& config_;
  store::MessageStore* const store_;
  TopicConfigManager* const topics_;
  ConsumerOffsetManager* const offsets_;
  SubscriptionGroupManager* const groups_;
  const ScheduleService* const schedule_;
  ClientManager* const clients_;
  ThreadPool* const pool_;
  const RuntimeFigures figures_;
  // Registers with the NameServers before a topic change is answered, so a
  // route asked for right after the answer already shows the change.
  const std::function<void()> register_now_;
  const UpdateConfig update_config_;
};

}  // namespace cometmq::broker

#endif  // COMETMQ_BROKER_ADMIN_PROCESSOR_H_
