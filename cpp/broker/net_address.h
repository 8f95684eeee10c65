#ifndef COMETMQ_BROKER_NET_ADDRESS_H_
#define COMETMQ_BROKER_NET_ADDRESS_H_

#include <cstdint>

#include "absl/strings/string_view.h"

namespace cometmq::broker {

// "a.b.c.d" in host order; false when not an IPv4 literal.
bool ParseIpv4(absl::string_view host, uint32_t* ip);

}  // namespace cometmq::broker

#endif  // COMETMQ_BROKER_NET_ADDRESS_H_
