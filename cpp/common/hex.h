#ifndef COMETMQ_COMMON_HEX_H_
#define COMETMQ_COMMON_HEX_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace cometmq {

// Upper-case hex of `bytes`, the spelling of message ids. Made for every
// message sent and stored, so it writes the digits directly.
inline std::string UpperHex(absl::string_view bytes) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string out(2 * bytes.size(), '0');
  for (size_t i = 0; i < bytes.size(); ++i) {
    const auto byte = static_cast<uint8_t>(bytes[i]);
    out[2 * i] = kDigits[byte >> 4];
    out[2 * i + 1] = kDigits[byte & 0xF];
  }
  return out;
}

}  // namespace cometmq

#endif  // COMETMQ_COMMON_HEX_H_
