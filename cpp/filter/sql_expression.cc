#include "cpp/filter/sql_expression.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "cpp/filter/sql_lexer.h"
#include "cpp/filter/sql_node.h"
#include "cpp/filter/sql_parser.h"
#include "cpp/filter/sql_value.h"

namespace cometmq::filter {

SqlExpression::SqlExpression(std::string text, std::unique_ptr<Node> root)
    : text_(std::move(text)), root_(std::move(root)) {}

SqlExpression::~SqlExpression() = default;

absl::StatusOr<std::shared_ptr<const SqlExpression>> SqlExpression::Compile(
    absl::string_view text) {
  if (text.size() > kMaxExpressionLength) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid SQL92 expression: longer than ",
                     kMaxExpressionLength, " characters"));
  }
  absl::StatusOr<std::vector<Token>> tokens = Tokenize(text);
  if (!tokens.ok()) return tokens.status();
  if (tokens->size() == 1) {
    return absl::InvalidArgumentError(
        "invalid SQL92 expression: the expression is empty");
  }
  absl::StatusOr<NodePtr> root = Parse(text, *std::move(tokens));
  if (!root.ok()) return root.status();
  return std::shared_ptr<const SqlExpression>(
      new SqlExpression(std::string(text), *std::move(root)));
}

Outcome SqlExpression::Evaluate(PropertyLookup lookup) const {
  const Value v = Eval(*root_, lookup);
  switch (v.kind) {
    case Value::kBool:
      return v.b ? Outcome::kTrue : Outcome::kFalse;
    case Value::kError:
      return Outcome::kError;
    default:
      return Outcome::kUnknown;
  }
}

absl::Status ValidateSql92(absl::string_view text) {
  return SqlExpression::Compile(text).status();
}

}  // namespace cometmq::filter
