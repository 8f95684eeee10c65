#include "cpp/filter/sql_expression.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace cometmq::filter {

// ---------------------------------------------------------------------------
// Values
// ---------------------------------------------------------------------------

namespace {

// A value during evaluation. Strings are views into the expression's
// constants or into the message's properties.
struct Value {
  enum Kind : uint8_t { kNull, kBool, kLong, kDouble, kString, kError };
  Kind kind = kNull;
  bool b = false;
  int64_t l = 0;
  double d = 0;
  absl::string_view s;

  static Value Of(Kind k) {
    Value out;
    out.kind = k;
    return out;
  }
  static Value Null() { return Value{}; }
  static Value Error() { return Of(kError); }
  static Value Bool(bool v) {
    Value out = Of(kBool);
    out.b = v;
    return out;
  }
  static Value Long(int64_t v) {
    Value out = Of(kLong);
    out.l = v;
    return out;
  }
  static Value Double(double v) {
    Value out = Of(kDouble);
    out.d = v;
    return out;
  }
  static Value String(absl::string_view v) {
    Value out = Of(kString);
    out.s = v;
    return out;
  }
};

// Java's Long.valueOf(String): optional sign, decimal digits, in range.
bool ParseJavaLong(absl::string_view text, int64_t* out) {
  if (text.empty()) return false;
  const char* begin = text.data();
  const char* end = text.data() + text.size();
  bool negative = false;
  if (*begin == '+' || *begin == '-') {
    negative = *begin == '-';
    ++begin;
  }
  if (begin == end) return false;
  uint64_t magnitude = 0;
  for (const char* p = begin; p != end; ++p) {
    if (*p < '0' || *p > '9') return false;
    const uint64_t digit = static_cast<uint64_t>(*p - '0');
    if (magnitude > (UINT64_MAX - digit) / 10) return false;
    magnitude = magnitude * 10 + digit;
  }
  const uint64_t limit = negative ? uint64_t{1} << 63 : (uint64_t{1} << 63) - 1;
  if (magnitude > limit) return false;
  *out = negative ? static_cast<int64_t>(0 - magnitude)
                  : static_cast<int64_t>(magnitude);
  return true;
}

// Java's Double.valueOf(String) for decimal input: surrounding whitespace,
// optional sign, digits with an optional point and exponent, an optional
// f/F/d/D suffix, or Infinity / NaN.
bool ParseJavaDouble(absl::string_view text, double* out) {
  while (!text.empty() && static_cast<unsigned char>(text.front()) <= ' ') {
    text.remove_prefix(1);
  }
  while (!text.empty() && static_cast<unsigned char>(text.back()) <= ' ') {
    text.remove_suffix(1);
  }
  bool negative = false;
  if (!text.empty() && (text.front() == '+' || text.front() == '-')) {
    negative = text.front() == '-';
    text.remove_prefix(1);
  }
  if (text == "Infinity") {
    *out = negative ? -HUGE_VAL : HUGE_VAL;
    return true;
  }
  if (text == "NaN") {
    *out = std::nan("");
    return true;
  }
  if (!text.empty() && (text.back() == 'f' || text.back() == 'F' ||
                        text.back() == 'd' || text.back() == 'D')) {
    text.remove_suffix(1);
  }
  if (text.empty() ||
      !(absl::ascii_isdigit(text.front()) || text.front() == '.')) {
    return false;
  }
  double value = 0;
  auto [end, error] =
      std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) {
    // Out of range still parses in Java (to infinity or zero).
    if (error != std::errc::result_out_of_range) return false;
  }
  *out = negative ? -value : value;
  return true;
}

template <typename T>
int CompareScalars(T a, T b) {
  return a < b ? -1 : (b < a ? 1 : 0);
}

// RocketMQ's ComparisonExpression.__compare with string conversion on:
// operands of different types are converted towards the other side
// (a property's string to the constant's number); a string that does not
// parse is an error; kinds that do not convert compare as "less" (-1).
// Returns false on error.
bool Compare(Value lv, Value rv, int* answer) {
  if (lv.kind != rv.kind) {
    switch (lv.kind) {
      case Value::kBool:
        if (rv.kind == Value::kString) return false;  // Java: class cast
        *answer = -1;
        return true;
      case Value::kLong:
        if (rv.kind == Value::kDouble) {
          lv = Value::Double(static_cast<double>(lv.l));
        } else if (rv.kind == Value::kString) {
          int64_t parsed = 0;
          if (!ParseJavaLong(rv.s, &parsed)) return false;
          rv = Value::Long(parsed);
        } else {
          *answer = -1;
          return true;
        }
        break;
      case Value::kDouble:
        if (rv.kind == Value::kLong) {
          rv = Value::Double(static_cast<double>(rv.l));
        } else if (rv.kind == Value::kString) {
          double parsed = 0;
          if (!ParseJavaDouble(rv.s, &parsed)) return false;
          rv = Value::Double(parsed);
        } else {
          *answer = -1;
          return true;
        }
        break;
      case Value::kString:
        if (rv.kind == Value::kBool) {
          lv = Value::Bool(absl::EqualsIgnoreCase(lv.s, "true"));
        } else if (rv.kind == Value::kLong) {
          int64_t parsed = 0;
          if (!ParseJavaLong(lv.s, &parsed)) return false;
          lv = Value::Long(parsed);
        } else if (rv.kind == Value::kDouble) {
          double parsed = 0;
          if (!ParseJavaDouble(lv.s, &parsed)) return false;
          lv = Value::Double(parsed);
        } else {
          *answer = -1;
          return true;
        }
        break;
      default:
        *answer = -1;
        return true;
    }
  }
  switch (lv.kind) {
    case Value::kBool:
      *answer = CompareScalars(lv.b, rv.b);
      return true;
    case Value::kLong:
      *answer = CompareScalars(lv.l, rv.l);
      return true;
    case Value::kDouble:
      // Java's Double.compareTo: NaN above everything, equal to itself.
      if (std::isnan(lv.d) || std::isnan(rv.d)) {
        *answer = std::isnan(lv.d) ? (std::isnan(rv.d) ? 0 : 1) : -1;
      } else {
        *answer = CompareScalars(lv.d, rv.d);
      }
      return true;
    case Value::kString:
      *answer = lv.s.compare(rv.s) < 0 ? -1 : (lv.s == rv.s ? 0 : 1);
      return true;
    default:
      *answer = -1;
      return true;
  }
}

bool SameValue(const Value& a, const Value& b) {
  if (a.kind != b.kind) return false;
  switch (a.kind) {
    case Value::kBool:
      return a.b == b.b;
    case Value::kLong:
      return a.l == b.l;
    case Value::kDouble:
      return a.d == b.d;
    case Value::kString:
      return a.s == b.s;
    default:
      return true;
  }
}

}  // namespace

// ---------------------------------------------------------------------------
// Tree
// ---------------------------------------------------------------------------

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

namespace {

Value Eval(const Node& node, PropertyLookup lookup);

Value EvalEqual(const Node& node, PropertyLookup lookup) {
  const Value lv = Eval(*node.left, lookup);
  if (lv.kind == Value::kError) return lv;
  const Value rv = Eval(*node.right, lookup);
  if (rv.kind == Value::kError) return rv;
  const bool lnull = lv.kind == Value::kNull;
  const bool rnull = rv.kind == Value::kNull;
  if (lnull != rnull) return lnull ? Value::Null() : Value::Bool(false);
  if (lnull || SameValue(lv, rv)) return Value::Bool(true);
  int answer = 0;
  if (!Compare(lv, rv, &answer)) return Value::Error();
  return Value::Bool(answer == 0);
}

Value EvalOrdering(const Node& node, PropertyLookup lookup) {
  Value lv = Eval(*node.left, lookup);
  if (lv.kind == Value::kError || lv.kind == Value::kNull) return lv;
  Value rv = Eval(*node.right, lookup);
  if (rv.kind == Value::kError || rv.kind == Value::kNull) return rv;
  if (lv.kind == Value::kString && rv.kind == Value::kString) {
    // Two properties: compared as numbers or not at all.
    double l = 0;
    double r = 0;
    if (!ParseJavaDouble(lv.s, &l) || !ParseJavaDouble(rv.s, &r)) {
      return Value::Error();
    }
    lv = Value::Double(l);
    rv = Value::Double(r);
  }
  int answer = 0;
  if (!Compare(lv, rv, &answer)) return Value::Error();
  switch (node.op) {
    case Op::kGreater:
      return Value::Bool(answer > 0);
    case Op::kGreaterEqual:
      return Value::Bool(answer >= 0);
    case Op::kLess:
      return Value::Bool(answer < 0);
    default:
      return Value::Bool(answer <= 0);
  }
}

Value Eval(const Node& node, PropertyLookup lookup) {
  switch (node.op) {
    case Op::kConstant:
      return node.constant;
    case Op::kProperty: {
      std::optional<absl::string_view> value = lookup(node.text);
      return value.has_value() ? Value::String(*value) : Value::Null();
    }
    case Op::kNegate: {
      const Value v = Eval(*node.left, lookup);
      if (v.kind == Value::kLong) {
        return Value::Long(
            static_cast<int64_t>(0 - static_cast<uint64_t>(v.l)));
      }
      if (v.kind == Value::kDouble) return Value::Double(-v.d);
      return v.kind == Value::kError ? v : Value::Null();
    }
    case Op::kBoolCast: {
      const Value v = Eval(*node.left, lookup);
      if (v.kind == Value::kNull || v.kind == Value::kError) return v;
      return Value::Bool(v.kind == Value::kBool && v.b);
    }
    case Op::kNot: {
      const Value v = Eval(*node.left, lookup);
      if (v.kind != Value::kBool) return v;
      return Value::Bool(!v.b);
    }
    case Op::kAnd: {
      const Value lv = Eval(*node.left, lookup);
      if (lv.kind != Value::kBool || !lv.b) return lv;
      return Eval(*node.right, lookup);
    }
    case Op::kOr: {
      const Value lv = Eval(*node.left, lookup);
      if (lv.kind == Value::kError) return lv;
      if (lv.kind == Value::kBool && lv.b) return lv;
      const Value rv = Eval(*node.right, lookup);
      if (rv.kind == Value::kError) return rv;
      if (rv.kind == Value::kBool && rv.b) return rv;
      if (lv.kind == Value::kNull || rv.kind == Value::kNull) {
        return Value::Null();
      }
      return Value::Bool(false);
    }
    case Op::kEqual:
      return EvalEqual(node, lookup);
    case Op::kGreater:
    case Op::kGreaterEqual:
    case Op::kLess:
    case Op::kLessEqual:
      return EvalOrdering(node, lookup);
    case Op::kIn: {
      const Value v = Eval(*node.left, lookup);
      if (v.kind == Value::kError) return v;
      if (v.kind != Value::kString) return Value::Null();
      return Value::Bool(node.in_list.contains(v.s) != node.negated);
    }
    case Op::kContains:
    case Op::kStartsWith:
    case Op::kEndsWith: {
      const Value v = Eval(*node.left, lookup);
      if (v.kind == Value::kError || v.kind == Value::kNull) return v;
      if (v.kind != Value::kString) return Value::Bool(false);
      if (node.op == Op::kContains) {
        return Value::Bool(absl::StrContains(v.s, node.text));
      }
      if (node.op == Op::kStartsWith) {
        return Value::Bool(absl::StartsWith(v.s, node.text));
      }
      return Value::Bool(absl::EndsWith(v.s, node.text));
    }
  }
  return Value::Error();
}

// ---------------------------------------------------------------------------
// Tokens
// ---------------------------------------------------------------------------

enum class Tok {
  kEnd,
  kId,
  kLong,
  kDouble,
  kString,
  kNot,
  kAnd,
  kOr,
  kBetween,
  kIn,
  kTrue,
  kFalse,
  kNull,
  kIs,
  kContains,
  kStartsWith,
  kEndsWith,
  kEq,
  kNe,
  kGt,
  kGe,
  kLt,
  kLe,
  kLParen,
  kRParen,
  kComma,
  kPlus,
  kMinus,
};

struct Token {
  Tok kind = Tok::kEnd;
  size_t begin = 0;
  size_t end = 0;
  std::string text;  // identifier name, decoded string, number image
};

bool IsIdStart(char c) {
  return absl::ascii_isalpha(c) || c == '_' || c == '$';
}
bool IsIdPart(char c) { return IsIdStart(c) || absl::ascii_isdigit(c); }

Tok KeywordOf(absl::string_view word) {
  static constexpr std::pair<absl::string_view, Tok> kKeywords[] = {
      {"NOT", Tok::kNot},
      {"AND", Tok::kAnd},
      {"OR", Tok::kOr},
      {"BETWEEN", Tok::kBetween},
      {"IN", Tok::kIn},
      {"TRUE", Tok::kTrue},
      {"FALSE", Tok::kFalse},
      {"NULL", Tok::kNull},
      {"IS", Tok::kIs},
      {"CONTAINS", Tok::kContains},
      {"STARTSWITH", Tok::kStartsWith},
      {"ENDSWITH", Tok::kEndsWith},
  };
  for (const auto& [name, tok] : kKeywords) {
    if (absl::EqualsIgnoreCase(word, name)) return tok;
  }
  return Tok::kId;
}

class Lexer {
 public:
  explicit Lexer(absl::string_view text) : text_(text) {}

  absl::StatusOr<std::vector<Token>> Run() {
    std::vector<Token> tokens;
    while (true) {
      absl::StatusOr<Token> token = Next();
      if (!token.ok()) return token.status();
      tokens.push_back(*std::move(token));
      if (tokens.back().kind == Tok::kEnd) return tokens;
    }
  }

 private:
  absl::Status Error(size_t at, absl::string_view what) const {
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid SQL92 expression at position ", at + 1, ": ", what));
  }

  absl::Status SkipSpaceAndComments() {
    while (pos_ < text_.size()) {
      const char c = text_[pos_];
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f') {
        ++pos_;
      } else if (absl::StartsWith(text_.substr(pos_), "--")) {
        while (pos_ < text_.size() && text_[pos_] != '\n' &&
               text_[pos_] != '\r') {
          ++pos_;
        }
      } else if (absl::StartsWith(text_.substr(pos_), "/*")) {
        const size_t close = text_.find("*/", pos_ + 2);
        if (close == absl::string_view::npos) {
          return Error(pos_, "unterminated comment");
        }
        pos_ = close + 2;
      } else {
        break;
      }
    }
    return absl::OkStatus();
  }

  absl::StatusOr<Token> Next() {
    if (absl::Status s = SkipSpaceAndComments(); !s.ok()) return s;
    Token token;
    token.begin = pos_;
    if (pos_ >= text_.size()) {
      token.kind = Tok::kEnd;
      token.end = pos_;
      return token;
    }
    const char c = text_[pos_];
    if (IsIdStart(c)) {
      while (pos_ < text_.size() && IsIdPart(text_[pos_])) ++pos_;
      token.text = std::string(text_.substr(token.begin, pos_ - token.begin));
      token.kind = KeywordOf(token.text);
    } else if (absl::ascii_isdigit(c) ||
               (c == '.' && pos_ + 1 < text_.size() &&
                absl::ascii_isdigit(text_[pos_ + 1]))) {
      if (absl::Status s = Number(&token); !s.ok()) return s;
    } else if (c == '\'') {
      if (absl::Status s = String(&token); !s.ok()) return s;
    } else {
      if (absl::Status s = Punctuation(&token); !s.ok()) return s;
    }
    token.end = pos_;
    return token;
  }

  absl::Status Number(Token* token) {
    const size_t start = pos_;
    while (pos_ < text_.size() && absl::ascii_isdigit(text_[pos_])) ++pos_;
    bool floating = false;
    if (pos_ < text_.size() && text_[pos_] == '.') {
      floating = true;
      ++pos_;
      while (pos_ < text_.size() && absl::ascii_isdigit(text_[pos_])) ++pos_;
    }
    // An exponent only when digits follow it, as the reference lexer.
    if (pos_ < text_.size() && (text_[pos_] == 'e' || text_[pos_] == 'E')) {
      size_t p = pos_ + 1;
      if (p < text_.size() && (text_[p] == '+' || text_[p] == '-')) ++p;
      if (p < text_.size() && absl::ascii_isdigit(text_[p])) {
        floating = true;
        pos_ = p;
        while (pos_ < text_.size() && absl::ascii_isdigit(text_[pos_])) ++pos_;
      }
    }
    token->text = std::string(text_.substr(start, pos_ - start));
    if (floating) {
      token->kind = Tok::kDouble;
      return absl::OkStatus();
    }
    if (token->text.size() > 1 && token->text[0] == '0') {
      return Error(start, absl::StrCat("invalid number '", token->text,
                                       "' (no leading zeros)"));
    }
    if (pos_ < text_.size() && (text_[pos_] == 'l' || text_[pos_] == 'L')) {
      ++pos_;
    }
    token->kind = Tok::kLong;
    return absl::OkStatus();
  }

  absl::Status String(Token* token) {
    const size_t start = pos_;
    ++pos_;
    while (true) {
      if (pos_ >= text_.size()) {
        return Error(start, "unterminated string literal");
      }
      if (text_[pos_] == '\'') {
        if (pos_ + 1 < text_.size() && text_[pos_ + 1] == '\'') {
          token->text.push_back('\'');
          pos_ += 2;
          continue;
        }
        ++pos_;
        break;
      }
      token->text.push_back(text_[pos_++]);
    }
    token->kind = Tok::kString;
    return absl::OkStatus();
  }

  absl::Status Punctuation(Token* token) {
    const char c = text_[pos_];
    const char n = pos_ + 1 < text_.size() ? text_[pos_ + 1] : '\0';
    switch (c) {
      case '=':
        token->kind = Tok::kEq;
        break;
      case '<':
        if (n == '>') {
          token->kind = Tok::kNe;
          ++pos_;
        } else if (n == '=') {
          token->kind = Tok::kLe;
          ++pos_;
        } else {
          token->kind = Tok::kLt;
        }
        break;
      case '>':
        if (n == '=') {
          token->kind = Tok::kGe;
          ++pos_;
        } else {
          token->kind = Tok::kGt;
        }
        break;
      case '(':
        token->kind = Tok::kLParen;
        break;
      case ')':
        token->kind = Tok::kRParen;
        break;
      case ',':
        token->kind = Tok::kComma;
        break;
      case '+':
        token->kind = Tok::kPlus;
        break;
      case '-':
        token->kind = Tok::kMinus;
        break;
      default: {
        std::string shown =
            absl::ascii_isprint(c)
                ? std::string(1, c)
                : absl::StrCat("\\x", absl::Hex(static_cast<unsigned char>(c),
                                                absl::kZeroPad2));
        return Error(pos_, absl::StrCat("unexpected character '", shown, "'"));
      }
    }
    ++pos_;
    return absl::OkStatus();
  }

  absl::string_view text_;
  size_t pos_ = 0;
};

// ---------------------------------------------------------------------------
// Parser (recursive descent over RocketMQ's SelectorParser.jj grammar)
// ---------------------------------------------------------------------------

using NodePtr = std::unique_ptr<Node>;

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

  absl::Status ErrorAt(size_t at, absl::string_view what) const {
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid SQL92 expression at position ", at + 1, ": ", what));
  }
  absl::Status Unexpected(const Token& t) const {
    if (t.kind == Tok::kEnd) {
      return ErrorAt(t.begin, "unexpected end of expression");
    }
    return ErrorAt(t.begin,
                   absl::StrCat("unexpected '",
                                text_.substr(t.begin, t.end - t.begin), "'"));
  }
  absl::Status Expect(Tok kind, absl::string_view what) {
    if (Peek().kind != kind) {
      const Token& t = Peek();
      return ErrorAt(
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
      return ErrorAt(node->begin, absl::StrCat("expression nested deeper than ",
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
    return ErrorAt(n->begin,
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
      return ErrorAt(n.begin, absl::StrCat("value '", Source(n),
                                           "' cannot be compared with '", op,
                                           "' (only numbers can)"));
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
        return ErrorAt(n->begin,
                       "'NULL' cannot be compared; use IS NULL or IS NOT "
                       "NULL");
      }
    }
    if (left->op == Op::kConstant && right->op == Op::kConstant &&
        left->boolean && !right->boolean) {
      return ErrorAt(left->begin, absl::StrCat("'", Source(*left),
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
    absl::StatusOr<NodePtr> left = And();
    if (!left.ok()) return left;
    while (Peek().kind == Tok::kOr) {
      Take();
      absl::StatusOr<NodePtr> right = And();
      if (!right.ok()) return right;
      absl::StatusOr<NodePtr> l = AsBoolean(*std::move(left));
      if (!l.ok()) return l;
      absl::StatusOr<NodePtr> r = AsBoolean(*std::move(right));
      if (!r.ok()) return r;
      left = Make(Op::kOr, *std::move(l), *std::move(r), true);
      if (!left.ok()) return left;
    }
    return left;
  }

  absl::StatusOr<NodePtr> And() {
    absl::StatusOr<NodePtr> left = Equality();
    if (!left.ok()) return left;
    while (Peek().kind == Tok::kAnd) {
      Take();
      absl::StatusOr<NodePtr> right = Equality();
      if (!right.ok()) return right;
      absl::StatusOr<NodePtr> l = AsBoolean(*std::move(left));
      if (!l.ok()) return l;
      absl::StatusOr<NodePtr> r = AsBoolean(*std::move(right));
      if (!r.ok()) return r;
      left = Make(Op::kAnd, *std::move(l), *std::move(r), true);
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
      return ErrorAt(
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
        return ErrorAt(lo.begin, "BETWEEN values can not be NULL");
      }
      int answer = 0;
      if (Compare(hi.constant, lo.constant, &answer) && answer < 0) {
        return ErrorAt(lo.begin,
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

  static NodePtr Clone(const Node& n) {
    auto copy = std::make_unique<Node>();
    copy->op = n.op;
    copy->constant = n.constant;
    copy->text = n.text;
    copy->negated = n.negated;
    copy->boolean = n.boolean;
    copy->height = n.height;
    copy->begin = n.begin;
    copy->end = n.end;
    copy->in_list = n.in_list;
    if (n.left) copy->left = Clone(*n.left);
    if (n.right) copy->right = Clone(*n.right);
    if (copy->op == Op::kConstant && copy->constant.kind == Value::kString) {
      copy->constant.s = copy->text;
    }
    return copy;
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
      return ErrorAt(Peek().begin,
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
            return ErrorAt(t.begin, absl::StrCat("number '", t.text,
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
          return ErrorAt(t.begin,
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
          return ErrorAt(t.begin, absl::StrCat("expression nested deeper than ",
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
  absl::StatusOr<std::vector<Token>> tokens = Lexer(text).Run();
  if (!tokens.ok()) return tokens.status();
  if (tokens->size() == 1) {
    return absl::InvalidArgumentError(
        "invalid SQL92 expression: the expression is empty");
  }
  absl::StatusOr<NodePtr> root = Parser(text, *std::move(tokens)).Run();
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
