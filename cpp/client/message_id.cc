#include "cpp/client/message_id.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <unistd.h>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "cpp/common/byte_order.h"
#include "cpp/common/hex.h"

namespace cometmq::client {

uint32_t LocalIpv4() {
  constexpr uint32_t kLoopback = 0x7f000001;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return kLoopback;
  uint32_t found = kLoopback;
  for (ifaddrs* it = list; it != nullptr; it = it->ifa_next) {
    if (it->ifa_addr == nullptr || it->ifa_addr->sa_family != AF_INET) {
      continue;
    }
    uint32_t ip = ntohl(
        reinterpret_cast<const sockaddr_in*>(it->ifa_addr)->sin_addr.s_addr);
    if ((ip >> 24) != 127) {
      found = ip;
      break;
    }
  }
  freeifaddrs(list);
  return found;
}

std::string Ipv4ToString(uint32_t ip) {
  return absl::StrCat(ip >> 24, ".", (ip >> 16) & 0xff, ".", (ip >> 8) & 0xff,
                      ".", ip & 0xff);
}

UniqueIdGenerator::UniqueIdGenerator()
    : start_millis_(absl::ToUnixMillis(absl::Now())) {
  PutBig32(prefix_, static_cast<int32_t>(LocalIpv4()));
  PutBig32(prefix_ + 4, static_cast<int32_t>(getpid()));
}

std::string UniqueIdGenerator::Next() {
  char raw[16];
  std::memcpy(raw, prefix_, 8);
  PutBig32(raw + 8, static_cast<int32_t>(absl::ToUnixMillis(absl::Now()) -
                                         start_millis_));
  PutBig32(raw + 12, static_cast<int32_t>(counter_.fetch_add(1)));
  return UpperHex(absl::string_view(raw, sizeof(raw)));
}

UniqueIdGenerator& GlobalIdGenerator() {
  static UniqueIdGenerator* generator = new UniqueIdGenerator();
  return *generator;
}

absl::StatusOr<std::string> OffsetMessageIdAddress(absl::string_view id) {
  bool hex = id.size() == 32;
  for (char c : id) hex = hex && absl::ascii_isxdigit(c);
  if (!hex) {
    return absl::InvalidArgumentError(absl::StrCat(
        "not an offset message id (32 hex chars): ", std::string(id)));
  }
  std::string raw = absl::HexStringToBytes(id);
  auto ip = static_cast<uint32_t>(GetBig32(raw.data()));
  auto port = static_cast<uint32_t>(GetBig32(raw.data() + 4));
  return absl::StrCat(Ipv4ToString(ip), ":", port);
}

}  // namespace cometmq::client
