#ifndef COMETMQ_FILTER_SQL_EXPRESSION_H_
#define COMETMQ_FILTER_SQL_EXPRESSION_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "cpp/filter/sql_types.h"

namespace cometmq::filter {

// Subscription expression types, named as RocketMQ's ExpressionType.
inline constexpr absl::string_view kExpressionTypeTag = "TAG";
inline constexpr absl::string_view kExpressionTypeSql92 = "SQL92";

// Outcome of evaluating an expression on one message (RocketMQ's
// three-valued logic; kError where RocketMQ's evaluation throws, such as
// `a > 5` on a = 'abc'). Only kTrue selects the message.
enum class Outcome { kTrue, kFalse, kUnknown, kError };

struct Node;

// A compiled SQL92 message selector with RocketMQ 4.9's grammar and
// semantics (org.apache.rocketmq.filter): constants (long, double,
// 'string' with '' escapes, TRUE, FALSE, NULL), properties, = <> > >= < <=,
// [NOT] BETWEEN, [NOT] IN, IS [NOT] NULL, AND, OR, NOT, unary + -,
// parentheses, -- and /* */ comments, and RocketMQ 5's [NOT] CONTAINS,
// [NOT] STARTSWITH, [NOT] ENDSWITH.
//
// Guarantees: what RocketMQ rejects when it compiles an expression is
// rejected here with InvalidArgument naming the 1-based position; the
// compiled tree is immutable, so one instance may be evaluated by any
// number of threads at once; neither compiling nor evaluating recurses
// deeper than kMaxExpressionDepth.
class SqlExpression {
 public:
  static absl::StatusOr<std::shared_ptr<const SqlExpression>> Compile(
      absl::string_view text);

  ~SqlExpression();
  SqlExpression(const SqlExpression&) = delete;
  SqlExpression& operator=(const SqlExpression&) = delete;

  // True when the expression evaluates to TRUE for a message with these
  // properties; unknown (a missing property) and errors select nothing.
  bool Matches(PropertyLookup lookup) const {
    return Evaluate(lookup) == Outcome::kTrue;
  }
  Outcome Evaluate(PropertyLookup lookup) const;

  const std::string& text() const { return text_; }

 private:
  SqlExpression(std::string text, std::unique_ptr<Node> root);

  std::string text_;
  std::unique_ptr<Node> root_;
};

// Compiles `text` only to check it: OK or the error Compile would give.
absl::Status ValidateSql92(absl::string_view text);

}  // namespace cometmq::filter

#endif  // COMETMQ_FILTER_SQL_EXPRESSION_H_
