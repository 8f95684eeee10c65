#ifndef COMETMQ_FILTER_SQL_NODE_H_
#define COMETMQ_FILTER_SQL_NODE_H_

#include <cstddef>
#include <memory>
#include <string>

#include "absl/container/flat_hash_set.h"
#include "cpp/filter/sql_types.h"
#include "cpp/filter/sql_value.h"

namespace cometmq::filter {

// What a node computes; an expression tree is built of these.
enum class Op {
  kConstant,
  kProperty,
  kNegate,
  kBoolCast,  // a bare property where a boolean is expected
  kNot,
  kAnd,
  kOr,
  kEqual,  // also IS NULL (against the NULL constant)
  kGreater,
  kGreaterEqual,
  kLess,
  kLessEqual,
  kIn,
  kContains,
  kStartsWith,
  kEndsWith,
};

// One node of a compiled expression tree, as the parser builds it.
//
// Guarantees: a node owns its children; a kConstant string's value views
// the node's own `text`, so a tree (or a Clone of one) depends on nothing
// outside itself. The tree is never changed once built, so any number of
// threads may evaluate it at once.
struct Node {
  Op op = Op::kConstant;
  Value constant;        // kConstant (strings point into `text`)
  std::string text;      // kConstant string, kProperty name, kContains...
  bool negated = false;  // kIn: NOT IN
  bool boolean = false;  // RocketMQ's BooleanExpression
  int height = 1;
  size_t begin = 0;  // source span, for error messages
  size_t end = 0;
  std::unique_ptr<Node> left;
  std::unique_ptr<Node> right;
  absl::flat_hash_set<std::string> in_list;
};

using NodePtr = std::unique_ptr<Node>;

// Evaluates `node` on one message with RocketMQ's three-valued logic: a
// missing property is NULL, a failed conversion is kError. Recurses as deep
// as the tree is high, which the parser keeps within kMaxExpressionDepth.
Value Eval(const Node& node, PropertyLookup lookup);

// A deep copy of `n` whose string constants view the copy's own text.
NodePtr Clone(const Node& n);

}  // namespace cometmq::filter

#endif  // COMETMQ_FILTER_SQL_NODE_H_
