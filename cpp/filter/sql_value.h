#ifndef COMETMQ_FILTER_SQL_VALUE_H_
#define COMETMQ_FILTER_SQL_VALUE_H_

#include <cstdint>

#include "absl/strings/string_view.h"

namespace cometmq::filter {

// A value during evaluation. Strings are views into the expression's
// constants or into the message's properties.
//
// What it is for: the constants the parser folds and checks, and the
// operands evaluation passes around. Guarantees: a trivially copyable
// value type that owns nothing; a kString value is valid only as long as
// the text it views.
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
bool ParseJavaLong(absl::string_view text, int64_t* out);

// Java's Double.valueOf(String) for decimal input: surrounding whitespace,
// optional sign, digits with an optional point and exponent, an optional
// f/F/d/D suffix, or Infinity / NaN.
bool ParseJavaDouble(absl::string_view text, double* out);

// RocketMQ's ComparisonExpression.__compare with string conversion on:
// operands of different types are converted towards the other side
// (a property's string to the constant's number); a string that does not
// parse is an error; kinds that do not convert compare as "less" (-1).
// Returns false on error.
bool Compare(Value lv, Value rv, int* answer);

// Whether two values are of one kind and equal (nulls and errors are the
// same as their own kind), without any conversion.
bool SameValue(const Value& a, const Value& b);

}  // namespace cometmq::filter

#endif  // COMETMQ_FILTER_SQL_VALUE_H_
