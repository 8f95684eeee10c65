#include "cpp/broker/net_address.h"

#include <arpa/inet.h>

#include <string>

namespace cometmq::broker {

bool ParseIpv4(absl::string_view host, uint32_t* ip) {
  in_addr addr{};
  if (inet_pton(AF_INET, std::string(host).c_str(), &addr) != 1) return false;
  *ip = ntohl(addr.s_addr);
  return true;
}

}  // namespace cometmq::broker
