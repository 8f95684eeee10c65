#include "cpp/filter/sql_value.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <system_error>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"

namespace cometmq::filter {
namespace {

template <typename T>
int CompareScalars(T a, T b) {
  return a < b ? -1 : (b < a ? 1 : 0);
}

}  // namespace

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

}  // namespace cometmq::filter
