#ifndef COMETMQ_BROKER_RETRY_POLICY_H_
#define COMETMQ_BROKER_RETRY_POLICY_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "cpp/broker/subscription_group_manager.h"
#include "cpp/broker/topic_config_manager.h"
#include "cpp/common/message_record.h"
#include "proto/remoting.pb.h"

namespace cometmq::broker {

std::string RetryTopic(absl::string_view group);
std::string DlqTopic(absl::string_view group);

// Where a message a consumer group failed goes next: %RETRY%<group>, or
// %DLQ%<group> once it has been reconsumed more often than allowed. One rule
// for both ways a failed message comes back to the broker: a
// CONSUMER_SEND_MSG_BACK, and a consumer's own send of a copy to the retry
// topic when the send-back failed (RocketMQ's handleRetryAndDLQ).
struct RetryDestination {
  std::string topic;
  TopicConfigManager::WriteInfo write_info;
  bool dead_letter = false;
};

// `reconsume_times` counts the failure being handled (1 for a first
// failure). Reconsumes allowed: `requested_max` when positive, else the
// group's retryMaxTimes; `to_dlq` skips the retries. The destination topic
// (one read-write queue) is created when missing. NotFound when the group
// neither exists nor may be created; other errors when the topic cannot be.
absl::StatusOr<RetryDestination> ResolveRetry(SubscriptionGroupManager* groups,
                                              TopicConfigManager* topics,
                                              absl::string_view group,
                                              int64_t reconsume_times,
                                              int32_t requested_max,
                                              bool to_dlq);

// The answer for a ResolveRetry error: SUBSCRIPTION_GROUP_NOT_EXIST for
// NotFound, else SYSTEM_ERROR.
proto::StatusCode RetryErrorCode(const absl::Status& error);

}  // namespace cometmq::broker

#endif  // COMETMQ_BROKER_RETRY_POLICY_H_
