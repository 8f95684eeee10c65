#include "cpp/filter/sql_parser.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "cpp/filter/sql_types.h"
#include "cpp/filter/sql_value.h"

namespace cometmq::filter {
namespace {

// Recursive descent over RocketMQ's SelectorParser.jj grammar, with its
// type checks (asBooleanExpression, checkLessThanOperand, BETWEEN's order)
// done while building. One instance parses one expression.
class Parser {
 public:
  Parser(absl::string_view text, std::vector<Token> tokens)
      : text_(text), tokens_(std::move(tokens)) {}

  absl::StatusOr<NodePtr> Run() {
    absl::StatusOr<NodePtr> root = Or();
    if (!root.ok()) return root;
    if (Peek().kind != Tok::kEnd) return Unexpected(Peek());
    return AsBoolean(*std::move(root));
  }

 private:
  const Token& Peek(size_t ahead = 0) const {
    return tokens_[std::min(next_ + ahead, tokens_.size() - 1)];
  }
  const Token& Take() {
    const Token& t = Peek();
    if (next_ < tokens_.size() - 1) ++next_;
    return t;
  }

  absl::Status Unexpected(const Token& t) const {
    if (t.kind == Tok::kEnd) {
      return SyntaxError(t.begin, "unexpected end of expression");
    }
    return SyntaxError(
        t.begin, absl::StrCat("unexpected '",
                              text_.substr(t.begin, t.end - t.begin), "'"));
  }
  absl::Status Expect(Tok kind, absl::string_view what) {
    if (Peek().kind != kind) {
      const Token& t = Peek();
      return SyntaxError(
          t.begin,
          absl::StrCat(
              "expected ", what, " but found ",
              t.kind == Tok::kEnd
                  ? std::string("end of expression")
                  : absl::StrCat("'", text_.substr(t.begin, t.end - t.begin),
                                 "'")));
    }
    Take();
    return absl::OkStatus();
  }

  std::string Source(const Node& n) const {
    return std::string(text_.substr(n.begin, n.end - n.begin));
  }

  // A new node over its children; fails when the tree gets too deep.
  absl::StatusOr<NodePtr> Make(Op op, NodePtr left, NodePtr right,
                               bool boolean) {
    auto node = std::make_unique<Node>();
    node->op = op;
    node->boolean = boolean;
    int height = 0;
    size_t begin = SIZE_MAX;
    size_t end = 0;
    for (const NodePtr* child : {&left, &right}) {
      if (*child == nullptr) continue;
      height = std::max(height, (*child)->height);
      begin = std::min(begin, (*child)->begin);
      end = std::max(end, (*child)->end);
    }
    node->height = height + 1;
    node->begin = begin == SIZE_MAX ? 0 : begin;
    node->end = end;
    if (node->height > kMaxExpressionDepth) {
      return SyntaxError(node->begin,
                         absl::StrCat("expression nested deeper than ",
                                      kMaxExpressionDepth, " levels"));
    }
    node->left = std::move(left);
    node->right = std::move(right);
    return node;
  }

  // RocketMQ's asBooleanExpression: a property is cast, anything else
  // that is not a boolean expression is an error.
  absl::StatusOr<NodePtr> AsBoolean(NodePtr n) {
    if (n->boolean) return n;
    if (n->op == Op::kProperty) {
      return Make(Op::kBoolCast, std::move(n), nullptr, true);
    }
    return SyntaxError(n->begin,
                       absl::StrCat("expression will not result in a boolean "
                                    "value: ",
                                    Source(*n)));
  }

  // RocketMQ's checkLessThanOperand: > >= < <= BETWEEN take numbers or
  // properties, never strings, booleans, NULL or conditions.
  absl::Status CheckOrderable(const Node& n, absl::string_view op) const {
    const bool number_constant =
        n.op == Op::kConstant &&
        (n.constant.kind == Value::kLong || n.constant.kind == Value::kDouble);
    if (number_constant) return absl::OkStatus();
    if (n.op == Op::kConstant || n.boolean) {
      return SyntaxError(n.begin, absl::StrCat("value '", Source(n),
                                               "' cannot be compared with '",
                                               op, "' (only numbers can)"));
    }
    return absl::OkStatus();
  }

  absl::StatusOr<NodePtr> Ordering(Op op, absl::string_view symbol,
                                   NodePtr left, NodePtr right) {
    if (absl::Status s = CheckOrderable(*left, symbol); !s.ok()) return s;
    if (absl::Status s = CheckOrderable(*right, symbol); !s.ok()) return s;
    return Make(op, std::move(left), std::move(right), true);
  }

  absl::StatusOr<NodePtr> Equal(NodePtr left, NodePtr right) {
    for (const Node* n : {left.get(), right.get()}) {
      if (n->op == Op::kConstant && n->constant.kind == Value::kNull) {
        return SyntaxError(n->begin,
                           "'NULL' cannot be compared; use IS NULL or IS NOT "
                           "NULL");
      }
    }
    if (left->op == Op::kConstant && right->op == Op::kConstant &&
        left->boolean && !right->boolean) {
      return SyntaxError(left->begin, absl::StrCat("'", Source(*left),
                                                   "' cannot be compared "
                                                   "with '",
                                                   Source(*right), "'"));
    }
    return Make(Op::kEqual, std::move(left), std::move(right), true);
  }

  absl::StatusOr<NodePtr> NullConstant(size_t at) {
    auto n = std::make_unique<Node>();
    n->op = Op::kConstant;
    n->boolean = true;
    n->begin = at;
    n->end = at;
    return n;
  }

  absl::StatusOr<NodePtr> Or() {
    return Junction(Tok::kOr, Op::kOr, &Parser::And);
  }

  absl::StatusOr<NodePtr> And() {
    return Junction(Tok::kAnd, Op::kAnd, &Parser::Equality);
  }

  // operand (keyword operand)*, left-associative, both sides boolean.
  absl::StatusOr<NodePtr> Junction(
      Tok keyword, Op op, absl::StatusOr<NodePtr> (Parser::*operand)()) {
    absl::StatusOr<NodePtr> left = (this->*operand)();
    if (!left.ok()) return left;
    while (Peek().kind == keyword) {
      Take();
      absl::StatusOr<NodePtr> right = (this->*operand)();
      if (!right.ok()) return right;
      absl::StatusOr<NodePtr> l = AsBoolean(*std::move(left));
      if (!l.ok()) return l;
      absl::StatusOr<NodePtr> r = AsBoolean(*std::move(right));
      if (!r.ok()) return r;
      left = Make(op, *std::move(l), *std::move(r), true);
      if (!left.ok()) return left;
    }
    return left;
  }

  absl::StatusOr<NodePtr> Equality() {
    absl::StatusOr<NodePtr> left = Comparison();
    if (!left.ok()) return left;
    while (true) {
      const Tok kind = Peek().kind;
      if (kind == Tok::kEq || kind == Tok::kNe) {
        Take();
        absl::StatusOr<NodePtr> right = Comparison();
        if (!right.ok()) return right;
        left = Equal(*std::move(left), *std::move(right));
        if (left.ok() && kind == Tok::kNe) {
          left = Make(Op::kNot, *std::move(left), nullptr, true);
        }
      } else if (kind == Tok::kIs) {
        Take();
        bool negated = false;
        if (Peek().kind == Tok::kNot) {
          Take();
          negated = true;
        }
        const size_t null_at = Peek().begin;
        const size_t null_end = Peek().end;
        if (absl::Status s = Expect(Tok::kNull, "NULL"); !s.ok()) return s;
        absl::StatusOr<NodePtr> null = NullConstant(null_at);
        (*null)->end = null_end;
        left = Make(Op::kEqual, *std::move(left), *std::move(null), true);
        if (left.ok() && negated) {
          left = Make(Op::kNot, *std::move(left), nullptr, true);
        }
      } else {
        return left;
      }
      if (!left.ok()) return left;
    }
  }

  absl::StatusOr<std::string> StringLiteral() {
    if (Peek().kind != Tok::kString) {
      absl::Status s = Expect(Tok::kString, "a 'string' literal");
      return s;
    }
    return Take().text;
  }

  absl::StatusOr<NodePtr> InList(NodePtr left, bool negated) {
    if (left->op != Op::kProperty) {
      return SyntaxError(
          left->begin,
          absl::StrCat("expected a property for IN, got: ", Source(*left)));
    }
    if (absl::Status s = Expect(Tok::kLParen, "'('"); !s.ok()) return s;
    absl::flat_hash_set<std::string> values;
    while (true) {
      absl::StatusOr<std::string> value = StringLiteral();
      if (!value.ok()) return value.status();
      values.insert(*std::move(value));
      if (Peek().kind != Tok::kComma) break;
      Take();
    }
    const size_t end = Peek().end;
    if (absl::Status s = Expect(Tok::kRParen, "',' or ')'"); !s.ok()) {
      return s;
    }
    absl::StatusOr<NodePtr> n = Make(Op::kIn, std::move(left), nullptr, true);
    if (!n.ok()) return n;
    (*n)->negated = negated;
    (*n)->in_list = std::move(values);
    (*n)->end = end;
    return n;
  }

  absl::StatusOr<NodePtr> StringMatch(Op op, NodePtr left, bool negated) {
    const size_t end = Peek().end;
    absl::StatusOr<std::string> value = StringLiteral();
    if (!value.ok()) return value.status();
    absl::StatusOr<NodePtr> n = Make(op, std::move(left), nullptr, true);
    if (!n.ok()) return n;
    (*n)->text = *std::move(value);
    (*n)->end = end;
    if (negated) return Make(Op::kNot, *std::move(n), nullptr, true);
    return n;
  }

  absl::StatusOr<NodePtr> Between(NodePtr value, bool negated) {
    absl::StatusOr<NodePtr> low = Unary();
    if (!low.ok()) return low;
    if (absl::Status s = Expect(Tok::kAnd, "AND"); !s.ok()) return s;
    absl::StatusOr<NodePtr> high = Unary();
    if (!high.ok()) return high;
    const Node& lo = **low;
    const Node& hi = **high;
    if (!negated && lo.op == Op::kConstant && hi.op == Op::kConstant) {
      if (lo.constant.kind == Value::kNull ||
          hi.constant.kind == Value::kNull) {
        return SyntaxError(lo.begin, "BETWEEN values can not be NULL");
      }
      int answer = 0;
      if (Compare(hi.constant, lo.constant, &answer) && answer < 0) {
        return SyntaxError(lo.begin,
                           absl::StrCat("BETWEEN's low value (", Source(lo),
                                        ") must be less than or equal to its "
                                        "high value (",
                                        Source(hi), ")"));
      }
    }
    // The value is evaluated twice, as RocketMQ does: each half owns a copy.
    NodePtr value_copy = Clone(*value);
    if (negated) {
      absl::StatusOr<NodePtr> below =
          Ordering(Op::kLess, "NOT BETWEEN", std::move(value), *std::move(low));
      if (!below.ok()) return below;
      absl::StatusOr<NodePtr> above = Ordering(
          Op::kGreater, "NOT BETWEEN", std::move(value_copy), *std::move(high));
      if (!above.ok()) return above;
      return Make(Op::kOr, *std::move(below), *std::move(above), true);
    }
    absl::StatusOr<NodePtr> from = Ordering(Op::kGreaterEqual, "BETWEEN",
                                            std::move(value), *std::move(low));
    if (!from.ok()) return from;
    absl::StatusOr<NodePtr> to = Ordering(
        Op::kLessEqual, "BETWEEN", std::move(value_copy), *std::move(high));
    if (!to.ok()) return to;
    return Make(Op::kAnd, *std::move(from), *std::move(to), true);
  }

  absl::StatusOr<NodePtr> Comparison() {
    absl::StatusOr<NodePtr> left = Unary();
    if (!left.ok()) return left;
    while (true) {
      Tok kind = Peek().kind;
      bool negated = false;
      if (kind == Tok::kNot) {
        const Tok after = Peek(1).kind;
        if (after != Tok::kBetween && after != Tok::kIn &&
            after != Tok::kContains && after != Tok::kStartsWith &&
            after != Tok::kEndsWith) {
          return left;
        }
        Take();
        negated = true;
        kind = after;
      }
      switch (kind) {
        case Tok::kGt:
        case Tok::kGe:
        case Tok::kLt:
        case Tok::kLe: {
          const Token& t = Take();
          const std::string symbol(text_.substr(t.begin, t.end - t.begin));
          absl::StatusOr<NodePtr> right = Unary();
          if (!right.ok()) return right;
          const Op op = kind == Tok::kGt   ? Op::kGreater
                        : kind == Tok::kGe ? Op::kGreaterEqual
                        : kind == Tok::kLt ? Op::kLess
                                           : Op::kLessEqual;
          left = Ordering(op, symbol, *std::move(left), *std::move(right));
          break;
        }
        case Tok::kBetween:
          Take();
          left = Between(*std::move(left), negated);
          break;
        case Tok::kIn:
          Take();
          left = InList(*std::move(left), negated);
          break;
        case Tok::kContains:
          Take();
          left = StringMatch(Op::kContains, *std::move(left), negated);
          break;
        case Tok::kStartsWith:
          Take();
          left = StringMatch(Op::kStartsWith, *std::move(left), negated);
          break;
        case Tok::kEndsWith:
          Take();
          left = StringMatch(Op::kEndsWith, *std::move(left), negated);
          break;
        default:
          return left;
      }
      if (!left.ok()) return left;
    }
  }

  absl::StatusOr<NodePtr> Unary() {
    if (++depth_ > kMaxExpressionDepth) {
      return SyntaxError(Peek().begin,
                         absl::StrCat("expression nested deeper than ",
                                      kMaxExpressionDepth, " levels"));
    }
    absl::StatusOr<NodePtr> out = UnaryBody();
    --depth_;
    return out;
  }

  absl::StatusOr<NodePtr> UnaryBody() {
    const Token& t = Peek();
    const size_t begin = t.begin;
    switch (t.kind) {
      case Tok::kPlus: {
        Take();
        absl::StatusOr<NodePtr> n = Unary();
        if (n.ok()) (*n)->begin = begin;
        return n;
      }
      case Tok::kMinus: {
        Take();
        absl::StatusOr<NodePtr> n = Unary();
        if (!n.ok()) return n;
        Node& operand = **n;
        // A negative number literal stays a constant, so the parse-time
        // checks (BETWEEN's order, comparability) see its value.
        if (operand.op == Op::kConstant &&
            operand.constant.kind == Value::kLong) {
          operand.constant.l = static_cast<int64_t>(
              0 - static_cast<uint64_t>(operand.constant.l));
          operand.begin = begin;
          return n;
        }
        if (operand.op == Op::kConstant &&
            operand.constant.kind == Value::kDouble) {
          operand.constant.d = -operand.constant.d;
          operand.begin = begin;
          return n;
        }
        absl::StatusOr<NodePtr> neg =
            Make(Op::kNegate, *std::move(n), nullptr, false);
        if (neg.ok()) (*neg)->begin = begin;
        return neg;
      }
      case Tok::kNot: {
        Take();
        absl::StatusOr<NodePtr> n = Unary();
        if (!n.ok()) return n;
        absl::StatusOr<NodePtr> b = AsBoolean(*std::move(n));
        if (!b.ok()) return b;
        absl::StatusOr<NodePtr> neg =
            Make(Op::kNot, *std::move(b), nullptr, true);
        if (neg.ok()) (*neg)->begin = begin;
        return neg;
      }
      default:
        return Primary();
    }
  }

  absl::StatusOr<NodePtr> Primary() {
    const Token& t = Take();
    auto n = std::make_unique<Node>();
    n->op = Op::kConstant;
    n->begin = t.begin;
    n->end = t.end;
    switch (t.kind) {
      case Tok::kString:
        n->text = t.text;
        n->constant = Value::String(n->text);
        return n;
      case Tok::kLong: {
        int64_t v = 0;
        // "9223372036854775808" only as the operand of a minus sign.
        if (!ParseJavaLong(t.text, &v)) {
          if (t.text == "9223372036854775808" && next_ >= 2 &&
              tokens_[next_ - 2].kind == Tok::kMinus) {
            v = INT64_MIN;
          } else {
            return SyntaxError(t.begin, absl::StrCat("number '", t.text,
                                                     "' is out of the long "
                                                     "range"));
          }
        }
        n->constant = Value::Long(v);
        return n;
      }
      case Tok::kDouble: {
        double v = 0;
        if (!ParseJavaDouble(t.text, &v)) {
          return SyntaxError(t.begin,
                             absl::StrCat("invalid number '", t.text, "'"));
        }
        n->constant = Value::Double(v);
        return n;
      }
      case Tok::kTrue:
      case Tok::kFalse:
        n->constant = Value::Bool(t.kind == Tok::kTrue);
        n->boolean = true;
        return n;
      case Tok::kNull:
        n->boolean = true;
        return n;
      case Tok::kId:
        n->op = Op::kProperty;
        n->text = t.text;
        return n;
      case Tok::kLParen: {
        if (++depth_ > kMaxExpressionDepth) {
          return SyntaxError(t.begin,
                             absl::StrCat("expression nested deeper than ",
                                          kMaxExpressionDepth, " levels"));
        }
        absl::StatusOr<NodePtr> inner = Or();
        --depth_;
        if (!inner.ok()) return inner;
        const size_t end = Peek().end;
        if (absl::Status s = Expect(Tok::kRParen, "')'"); !s.ok()) return s;
        (*inner)->begin = t.begin;
        (*inner)->end = end;
        return inner;
      }
      default:
        return Unexpected(t);
    }
  }

  absl::string_view text_;
  std::vector<Token> tokens_;
  size_t next_ = 0;
  int depth_ = 0;
};

}  // namespace

absl::StatusOr<NodePtr> Parse(absl::string_view text,
                              std::vector<Token> tokens) {
  return Parser(text, std::move(tokens)).Run();
}

}  // namespace cometmq::filter
