#ifndef COMETMQ_CLIENT_SUBSCRIPTION_H_
#define COMETMQ_CLIENT_SUBSCRIPTION_H_

#include <set>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace cometmq::client {

// How a subscription selects messages (RocketMQ's ExpressionType).
enum class ExpressionType {
  kTag,    // `*`, or tags joined by `||`
  kSql92,  // a SQL92 selector over the message's properties
};

// RocketMQ's MessageSelector: what Subscribe() takes besides a plain tag
// expression. BySql needs brokers started with enablePropertyFilter=true.
class MessageSelector {
 public:
  static MessageSelector ByTag(std::string expression) {
    return MessageSelector(ExpressionType::kTag, std::move(expression));
  }
  static MessageSelector BySql(std::string sql) {
    return MessageSelector(ExpressionType::kSql92, std::move(sql));
  }
  ExpressionType type() const { return type_; }
  const std::string& expression() const { return expression_; }

 private:
  MessageSelector(ExpressionType type, std::string expression)
      : type_(type), expression_(std::move(expression)) {}
  ExpressionType type_;
  std::string expression_;
};

// A parsed subscription. TAG: `*` or empty for every message, else tags
// joined by `||`; matching is by exact tag, the client's half of the filter
// (the broker filters by tag hash only). SQL92: the broker alone filters
// (as in RocketMQ), so every message it returns matches.
struct Subscription {
  std::string topic;
  std::string expression;
  ExpressionType type = ExpressionType::kTag;
  bool all = true;
  std::set<std::string> tags;

  bool Matches(const std::string& tag) const {
    return all || type == ExpressionType::kSql92 || tags.count(tag) > 0;
  }
};

absl::StatusOr<Subscription> ParseSubscription(const std::string& topic,
                                               const std::string& expression);
// InvalidArgument for a SQL92 selector that does not compile (the message
// names the position), as the broker would refuse it.
absl::StatusOr<Subscription> ParseSubscription(const std::string& topic,
                                               const MessageSelector& selector);

// InvalidArgument for a consumer group the broker would refuse in every
// pull, commit and heartbeat: empty, over 127 characters, or a character
// outside A-Z a-z 0-9 _ % | - (a group names its %RETRY% topic).
absl::Status ValidateConsumerGroup(const std::string& group);

}  // namespace cometmq::client

#endif  // COMETMQ_CLIENT_SUBSCRIPTION_H_
