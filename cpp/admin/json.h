#ifndef COMETMQ_ADMIN_JSON_H_
#define COMETMQ_ADMIN_JSON_H_

#include <cstdint>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "absl/strings/string_view.h"

namespace cometmq::admin {

// A JSON value built by the commands for `--json` output: null, a bool, an
// integer, a string, an array or an object (keys keep insertion order).
// Serialize() writes compact, valid JSON with strings escaped per RFC 8259.
class JsonValue {
 public:
  JsonValue() = default;  // null
  static JsonValue Bool(bool value);
  static JsonValue Int(int64_t value);
  // Written with two decimals; NaN and infinities become null (JSON has
  // no such numbers).
  static JsonValue Double(double value);
  static JsonValue String(absl::string_view value);
  static JsonValue Array();
  static JsonValue Object();

  // Appends to an array.
  JsonValue& Push(JsonValue value);
  // Sets `key` of an object (appended; keys are not deduplicated).
  JsonValue& Set(absl::string_view key, JsonValue value);

  std::string Serialize() const;

 private:
  enum class Kind { kNull, kBool, kInt, kDouble, kString, kArray, kObject };
  void AppendTo(std::string* out) const;

  Kind kind_ = Kind::kNull;
  bool bool_ = false;
  int64_t int_ = 0;
  double double_ = 0;
  std::string string_;
  std::vector<JsonValue> items_;
  std::vector<std::pair<std::string, JsonValue>> members_;
};

// `value` as a quoted JSON string.
std::string JsonQuote(absl::string_view value);

}  // namespace cometmq::admin

#endif  // COMETMQ_ADMIN_JSON_H_
