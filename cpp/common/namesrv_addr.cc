#include "cpp/common/namesrv_addr.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "cpp/common/host_port.h"

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
    if (!ParseHostPort(addr).has_value()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "name server address '", addr,
          "' is not host:port (port 1..65535); give the NameServers as "
          "host:port;host:port"));
    }
  }
  return absl::OkStatus();
}

}  // namespace cometmq
