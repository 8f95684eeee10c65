// libFuzzer entry: compiles arbitrary bytes as a SQL92 selector and, when
// they compile, evaluates the expression on a few fixed messages. Any crash,
// sanitizer report or stack overflow fails.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "cpp/filter/sql_expression.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using cometmq::filter::SqlExpression;
  absl::string_view text(reinterpret_cast<const char*>(data), size);
  auto compiled = SqlExpression::Compile(text);
  if (!compiled.ok()) {
    if (compiled.status().message().empty()) __builtin_trap();
    return 0;
  }
  const std::string values[] = {"5", "-3.5", "abc", "true", ""};
  for (const std::string& value : values) {
    (*compiled)->Evaluate(
        [&](absl::string_view name) -> std::optional<absl::string_view> {
          if (name.size() % 2 == 0) return std::nullopt;
          return value;
        });
  }
  return 0;
}
