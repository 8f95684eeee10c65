#include "cpp/common/namesrv_addr.h"

#include <cstdint>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace cometmq {

std::vector<std::string> SplitNamesrvAddr(absl::string_view addrs) {
  std::vector<std::string> out;
  for (absl::string_view part :
       absl::StrSplit(addrs, absl::ByAnyChar(";,"), absl::SkipEmpty())) {
    part = absl::StripAsciiWhitespace(part);
    if (!part.empty()) out.emplace_back(part);
  }
  return out;
}

absl::Status ValidateNamesrvAddr(absl::string_view addrs) {
  const std::vector<std::string> list = SplitNamesrvAddr(addrs);
  if (list.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "name server address '", addrs,
        "' names no NameServer: give them as host:port;host:port"));
  }
  for (const std::string& addr : list) {
    const size_t colon = addr.rfind(':');
    uint32_t port = 0;
    if (colon == std::string::npos || colon == 0 ||
        !absl::SimpleAtoi(absl::string_view(addr).substr(colon + 1), &port) ||
        port == 0 || port > 65535) {
      return absl::InvalidArgumentError(absl::StrCat(
          "name server address '", addr,
          "' is not host:port (port 1..65535); give the NameServers as "
          "host:port;host:port"));
    }
  }
  return absl::OkStatus();
}

}  // namespace cometmq
