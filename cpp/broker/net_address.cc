#include "cpp/broker/net_address.h"

#include <arpa/inet.h>

#include <string>

#include "absl/strings/numbers.h"

namespace cometmq::broker {

bool ParseIpv4(absl::string_view host, uint32_t* ip) {
  in_addr addr{};
  if (inet_pton(AF_INET, std::string(host).c_str(), &addr) != 1) return false;
  *ip = ntohl(addr.s_addr);
  return true;
}

bool ParseIpv4Address(absl::string_view address, uint32_t* ip, uint32_t* port) {
  const size_t colon = address.rfind(':');
  if (colon == absl::string_view::npos) return false;
  uint32_t parsed_port = 0;
  if (!absl::SimpleAtoi(address.substr(colon + 1), &parsed_port) ||
      parsed_port > 65535) {
    return false;
  }
  if (!ParseIpv4(address.substr(0, colon), ip)) return false;
  *port = parsed_port;
  return true;
}

}  // namespace cometmq::broker
