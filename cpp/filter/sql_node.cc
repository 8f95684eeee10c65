#include "cpp/filter/sql_node.h"

#include <cstdint>
#include <optional>

#include "absl/strings/match.h"
#include "absl/strings/string_view.h"

namespace cometmq::filter {
namespace {

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

}  // namespace

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

NodePtr Clone(const Node& n) {
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

}  // namespace cometmq::filter
