#ifndef COMETMQ_CLIENT_MESSAGE_ID_H_
#define COMETMQ_CLIENT_MESSAGE_ID_H_

#include <atomic>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace cometmq::client {

// The first non-loopback IPv4 address of this host (host order), or
// 127.0.0.1 when there is none.
uint32_t LocalIpv4();
std::string Ipv4ToString(uint32_t ip);

// Makes UNIQ_KEY values: 32 upper-case hex chars of ip (4 bytes), pid (4),
// milliseconds since the generator started, truncated (4), and a counter (4).
// Guarantee: distinct for 2^32 calls within one process, and across
// processes unless two hosts share an address and pid.
class UniqueIdGenerator {
 public:
  UniqueIdGenerator();
  std::string Next();

 private:
  char prefix_[8];
  int64_t start_millis_;
  std::atomic<uint32_t> counter_{0};
};

// The process-wide generator.
UniqueIdGenerator& GlobalIdGenerator();

// The broker address ("ip:port") an offset message id names.
absl::StatusOr<std::string> OffsetMessageIdAddress(absl::string_view id);

}  // namespace cometmq::client

#endif  // COMETMQ_CLIENT_MESSAGE_ID_H_
