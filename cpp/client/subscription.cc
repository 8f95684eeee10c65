#include "cpp/client/subscription.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "cpp/common/resource_name.h"
#include "cpp/filter/sql_expression.h"

namespace cometmq::client {

absl::StatusOr<Subscription> ParseSubscription(const std::string& topic,
                                               const std::string& expression) {
  if (topic.empty()) return absl::InvalidArgumentError("topic is empty");
  Subscription subscription;
  subscription.topic = topic;
  absl::string_view trimmed = absl::StripAsciiWhitespace(expression);
  if (trimmed.empty() || trimmed == "*") {
    // Not `= "*"`: GCC 12 reports a false -Wrestrict on it at -O2.
    subscription.expression.assign(1, '*');
    return subscription;
  }
  subscription.all = false;
  for (absl::string_view tag : absl::StrSplit(trimmed, "||")) {
    tag = absl::StripAsciiWhitespace(tag);
    if (tag.empty() || tag == "*") {
      return absl::InvalidArgumentError(
          absl::StrCat("bad tag expression '", expression,
                       "': use * alone or tags joined by ||"));
    }
    subscription.tags.emplace(tag);
  }
  subscription.expression = std::string(trimmed);
  return subscription;
}

absl::StatusOr<Subscription> ParseSubscription(
    const std::string& topic, const MessageSelector& selector) {
  if (selector.type() == ExpressionType::kTag) {
    return ParseSubscription(topic, selector.expression());
  }
  if (topic.empty()) return absl::InvalidArgumentError("topic is empty");
  if (absl::Status s = filter::ValidateSql92(selector.expression()); !s.ok()) {
    return s;
  }
  Subscription subscription;
  subscription.topic = topic;
  subscription.expression = selector.expression();
  subscription.type = ExpressionType::kSql92;
  subscription.all = false;
  return subscription;
}

absl::Status ValidateConsumerGroup(const std::string& group) {
  // The broker checks groups by the same rule as topics.
  return ValidateResourceName("consumer group", group);
}

}  // namespace cometmq::client
