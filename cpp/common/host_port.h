#ifndef COMETMQ_COMMON_HOST_PORT_H_
#define COMETMQ_COMMON_HOST_PORT_H_

#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace cometmq {

struct HostPort {
  std::string host;
  std::string port;  // as written; 1..65535
};

// "host:port", split at the last ':', with a non-empty host and a port
// 1..65535; nullopt otherwise. The one rule for every address a user or a
// peer gives (NameServer lists, broker and HA addresses).
std::optional<HostPort> ParseHostPort(absl::string_view address);

}  // namespace cometmq

#endif  // COMETMQ_COMMON_HOST_PORT_H_
