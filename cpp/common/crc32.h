#ifndef COMETMQ_COMMON_CRC32_H_
#define COMETMQ_COMMON_CRC32_H_

#include <cstdint>

#include "absl/strings/string_view.h"

namespace cometmq {

// CRC-32 as zlib's crc32() and Java's java.util.zip.CRC32 compute it (the
// reflected 0x04C11DB7 polynomial), which the stored-record format uses for
// its body and record checksums. On x86-64 processors with carry-less
// multiplication the bulk of a buffer of 64 bytes or more is folded 64 bytes
// at a time; the result is identical to zlib's for every input.
uint32_t Crc32(absl::string_view data);

// The CRC of the concatenation of the bytes `crc` was computed over and
// `data` (Crc32Extend(Crc32(a), b) == Crc32(a + b); Crc32Extend(0, b) ==
// Crc32(b)).
uint32_t Crc32Extend(uint32_t crc, absl::string_view data);

}  // namespace cometmq

#endif  // COMETMQ_COMMON_CRC32_H_
