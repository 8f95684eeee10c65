#ifndef COMETMQ_CLIENT_SUBSCRIPTION_H_
#define COMETMQ_CLIENT_SUBSCRIPTION_H_

#include <set>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace cometmq::client {

// A parsed tag expression: `*` or empty for every message, else tags
// joined by `||`. Matching is by exact tag, the client's half of the
// filter (the broker filters by tag hash only).
struct Subscription {
  std::string topic;
  std::string expression;
  bool all = true;
  std::set<std::string> tags;

  bool Matches(const std::string& tag) const {
    return all || tags.count(tag) > 0;
  }
};

absl::StatusOr<Subscription> ParseSubscription(const std::string& topic,
                                               const std::string& expression);

// InvalidArgument for a consumer group the broker would refuse in every
// pull, commit and heartbeat: empty, over 127 characters, or a character
// outside A-Z a-z 0-9 _ % | - (a group names its %RETRY% topic).
absl::Status ValidateConsumerGroup(const std::string& group);

}  // namespace cometmq::client

#endif  // COMETMQ_CLIENT_SUBSCRIPTION_H_
