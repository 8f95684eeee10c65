#ifndef COMETMQ_FILTER_SQL_TYPES_H_
#define COMETMQ_FILTER_SQL_TYPES_H_

// The limits and the property lookup that the public API (sql_expression.h)
// and the internals below it (parser, tree) share. Users include
// sql_expression.h, which includes this.

#include <cstddef>
#include <optional>

#include "absl/functional/function_ref.h"
#include "absl/strings/string_view.h"

namespace cometmq::filter {

// Longest expression accepted, and deepest expression tree: parsing and
// evaluation recurse, so a hostile expression must not exhaust the stack.
inline constexpr size_t kMaxExpressionLength = 16 * 1024;
inline constexpr int kMaxExpressionDepth = 200;

// A message property by name, or nullopt when the message has none. The
// view must stay valid until the evaluation returns.
using PropertyLookup =
    absl::FunctionRef<std::optional<absl::string_view>(absl::string_view)>;

}  // namespace cometmq::filter

#endif  // COMETMQ_FILTER_SQL_TYPES_H_
