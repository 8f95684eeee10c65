#ifndef COMETMQ_FILTER_SQL_PARSER_H_
#define COMETMQ_FILTER_SQL_PARSER_H_

#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "cpp/filter/sql_lexer.h"
#include "cpp/filter/sql_node.h"

namespace cometmq::filter {

// Builds the tree of a boolean expression from `tokens`, which Tokenize made
// of `text` (error messages quote the text). Guarantees: what RocketMQ's
// SelectorParser rejects is rejected with a SyntaxError at the offending
// token; the tree's height and the parser's recursion stay within
// kMaxExpressionDepth.
absl::StatusOr<NodePtr> Parse(absl::string_view text,
                              std::vector<Token> tokens);

}  // namespace cometmq::filter

#endif  // COMETMQ_FILTER_SQL_PARSER_H_
