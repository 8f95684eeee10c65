#include "cpp/common/host_port.h"

#include <cstdint>

#include "absl/strings/numbers.h"

namespace cometmq {

std::optional<HostPort> ParseHostPort(absl::string_view address) {
  const size_t colon = address.rfind(':');
  if (colon == absl::string_view::npos || colon == 0) return std::nullopt;
  const absl::string_view port = address.substr(colon + 1);
  uint32_t number = 0;
  if (!absl::SimpleAtoi(port, &number) || number == 0 || number > 65535) {
    return std::nullopt;
  }
  return HostPort{std::string(address.substr(0, colon)), std::string(port)};
}

}  // namespace cometmq
