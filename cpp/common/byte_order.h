#ifndef COMETMQ_COMMON_BYTE_ORDER_H_
#define COMETMQ_COMMON_BYTE_ORDER_H_

#include <cstdint>
#include <cstring>

namespace cometmq {

// Big-endian (network order) field access for the on-disk formats.
inline char* PutBig16(char* p, int16_t v) {
  uint16_t u = __builtin_bswap16(static_cast<uint16_t>(v));
  std::memcpy(p, &u, 2);
  return p + 2;
}
inline char* PutBig32(char* p, int32_t v) {
  uint32_t u = __builtin_bswap32(static_cast<uint32_t>(v));
  std::memcpy(p, &u, 4);
  return p + 4;
}
inline char* PutBig64(char* p, int64_t v) {
  uint64_t u = __builtin_bswap64(static_cast<uint64_t>(v));
  std::memcpy(p, &u, 8);
  return p + 8;
}
inline int16_t GetBig16(const char* p) {
  uint16_t u;
  std::memcpy(&u, p, 2);
  return static_cast<int16_t>(__builtin_bswap16(u));
}
inline int32_t GetBig32(const char* p) {
  uint32_t u;
  std::memcpy(&u, p, 4);
  return static_cast<int32_t>(__builtin_bswap32(u));
}
inline int64_t GetBig64(const char* p) {
  uint64_t u;
  std::memcpy(&u, p, 8);
  return static_cast<int64_t>(__builtin_bswap64(u));
}

}  // namespace cometmq

#endif  // COMETMQ_COMMON_BYTE_ORDER_H_
