#include "cpp/common/resource_name.h"

#include <algorithm>
#include <cstddef>

#include "absl/strings/str_cat.h"

namespace cometmq {
namespace {

constexpr size_t kMaxNameLength = 127;

bool NameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '_' || c == '%' || c == '|' || c == '-';
}

}  // namespace

absl::Status ValidateResourceName(absl::string_view what,
                                  absl::string_view name) {
  if (name.empty())
    return absl::InvalidArgumentError(absl::StrCat(what, " is empty"));
  if (name.size() > kMaxNameLength) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " is longer than ", kMaxNameLength, " characters"));
  }
  if (!std::all_of(name.begin(), name.end(), NameChar)) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, "[", name, "] may contain only A-Z a-z 0-9 _ % | -"));
  }
  return absl::OkStatus();
}

}  // namespace cometmq
