#include "cpp/broker/retry_policy.h"

#include <optional>

#include "absl/strings/str_cat.h"

namespace cometmq::broker {

std::string RetryTopic(absl::string_view group) {
  return absl::StrCat(kRetryGroupTopicPrefix, group);
}
std::string DlqTopic(absl::string_view group) {
  return absl::StrCat(kDlqGroupTopicPrefix, group);
}

absl::StatusOr<RetryDestination> ResolveRetry(SubscriptionGroupManager* groups,
                                              TopicConfigManager* topics,
                                              absl::string_view group,
                                              int64_t reconsume_times,
                                              int32_t requested_max,
                                              bool to_dlq) {
  std::optional<SubscriptionGroup> config = groups->FindOrCreate(group);
  if (!config.has_value()) {
    return absl::NotFoundError(
        absl::StrCat("subscription group[", group, "] does not exist"));
  }
  const int32_t max_times =
      requested_max > 0 ? requested_max : config->retry_max_times;
  RetryDestination destination;
  destination.dead_letter = to_dlq || reconsume_times > max_times;
  destination.topic =
      destination.dead_letter ? DlqTopic(group) : RetryTopic(group);
  absl::StatusOr<proto::TopicConfig> created =
      topics->CreateOnSend(destination.topic, 1);
  if (!created.ok()) {
    return absl::InternalError(absl::StrCat("cannot create topic[",
                                            destination.topic,
                                            "]: ", created.status().message()));
  }
  destination.write_info = TopicConfigManager::WriteInfo{
      created->perm(), created->write_queue_nums()};
  return destination;
}

proto::StatusCode RetryErrorCode(const absl::Status& error) {
  return absl::IsNotFound(error) ? proto::SUBSCRIPTION_GROUP_NOT_EXIST
                                 : proto::SYSTEM_ERROR;
}

}  // namespace cometmq::broker
