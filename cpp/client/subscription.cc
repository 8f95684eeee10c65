#include "cpp/client/subscription.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

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

absl::Status ValidateConsumerGroup(const std::string& group) {
  // The broker checks groups as topic names (ValidateTopicName).
  constexpr size_t kMaxLength = 127;
  if (group.empty())
    return absl::InvalidArgumentError("consumer group is empty");
  if (group.size() > kMaxLength) {
    return absl::InvalidArgumentError(absl::StrCat(
        "consumer group is longer than ", kMaxLength, " characters"));
  }
  for (char c : group) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '_' &&
        c != '%' && c != '|' && c != '-') {
      return absl::InvalidArgumentError(absl::StrCat(
          "consumer group[", group, "] may contain only A-Z a-z 0-9 _ % | -"));
    }
  }
  return absl::OkStatus();
}

}  // namespace cometmq::client
