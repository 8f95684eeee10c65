#ifndef COMETMQ_BROKER_SEND_BACK_PROCESSOR_H_
#define COMETMQ_BROKER_SEND_BACK_PROCESSOR_H_

#include <string>

#include "absl/strings/string_view.h"
#include "cpp/broker/broker_config.h"
#include "cpp/broker/subscription_group_manager.h"
#include "cpp/broker/thread_pool.h"
#include "cpp/broker/topic_config_manager.h"
#include "cpp/remoting/remoting_server.h"
#include "cpp/store/message_store.h"

namespace cometmq::broker {

inline constexpr absl::string_view kRetryGroupTopicPrefix = "%RETRY%";
inline constexpr absl::string_view kDlqGroupTopicPrefix = "%DLQ%";

std::string RetryTopic(absl::string_view group);
std::string DlqTopic(absl::string_view group);

// CONSUMER_SEND_MSG_BACK: a consumer failed a message. Runs on the send
// pool. Reads the original record by commit log offset and stores a copy
// with reconsume times + 1 — into %DLQ%<group> when that exceeds the
// allowed reconsumes (request's max_reconsume_times, else the group's
// retryMaxTimes) or delay_level < 0, else into %RETRY%<group> through the
// delay path at level delay_level (0: 3 + reconsume times). Both topics have
// one read-write queue and are created on first use. RETRY_TOPIC keeps the
// first topic the message was consumed from and ORIGIN_MESSAGE_ID its first
// id; body, keys, tags, UNIQ_KEY and born timestamp are kept. SUCCESS is
// answered only once the copy is stored.
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
