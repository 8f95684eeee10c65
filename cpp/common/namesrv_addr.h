#ifndef COMETMQ_COMMON_NAMESRV_ADDR_H_
#define COMETMQ_COMMON_NAMESRV_ADDR_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace cometmq {

// The NameServer list as users write it in namesrvAddr, -n and
// NAMESRV_ADDR: RocketMQ's "host:port;host:port" (',' also separates).

// " a:1; b:2,c:3;" -> {"a:1", "b:2", "c:3"}.
std::vector<std::string> SplitNamesrvAddr(absl::string_view addrs);

// InvalidArgument naming the entry unless `addrs` lists at least one
// NameServer and every one is host:port with a port 1..65535: a typo must
// stop a broker or tool at once, not leave it talking to no NameServer.
absl::Status ValidateNamesrvAddr(absl::string_view addrs);

}  // namespace cometmq

#endif  // COMETMQ_COMMON_NAMESRV_ADDR_H_
