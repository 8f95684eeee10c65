#include "cpp/common/crc32.h"

#include <zlib.h>

#include <cstddef>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace cometmq {
namespace {

#if defined(__x86_64__)

// Folding by carry-less multiplication, after V. Gopal et al., "Fast CRC
// Computation for Generic Polynomials Using PCLMULQDQ Instruction" (Intel,
// 2009). Four 128-bit lanes absorb 64 bytes per step; they are folded into
// one lane, which takes the remaining 16-byte blocks, and a Barrett
// reduction brings the 128-bit remainder to 32 bits. The constants are
// x^k mod P for the fold distances, bit-reflected, as in the paper.
constexpr uint64_t kFold512Low = 0x0154442bd4;   // x^(4*128+32) mod P
constexpr uint64_t kFold512High = 0x01c6e41596;  // x^(4*128-32) mod P
constexpr uint64_t kFold128Low = 0x01751997d0;   // x^(128+32) mod P
constexpr uint64_t kFold128High = 0x00ccaa009e;  // x^(128-32) mod P
constexpr uint64_t kFold64 = 0x0163cd6124;       // x^64 mod P
constexpr uint64_t kPolynomial = 0x01db710641;   // P, reflected
constexpr uint64_t kBarrettMu = 0x01f7011641;    // floor(x^64 / P), reflected

// Multiplies the low halves (0x00) or the high halves (0x11) of `a` and
// `k`, and xors the two products with `next`: one fold step.
__attribute__((target("pclmul,sse4.1"))) inline __m128i Fold(__m128i a,
                                                             __m128i k,
                                                             __m128i next) {
  __m128i low = _mm_clmulepi64_si128(a, k, 0x00);
  __m128i high = _mm_clmulepi64_si128(a, k, 0x11);
  return _mm_xor_si128(_mm_xor_si128(low, high), next);
}

// `len` is a multiple of 16 and at least 64; `state` is the running CRC
// register (the complement of the CRC so far).
__attribute__((target("pclmul,sse4.1"))) uint32_t FoldBlocks(const char* p,
                                                             size_t len,
                                                             uint32_t state) {
  auto load = [](const char* at) {
    return _mm_loadu_si128(reinterpret_cast<const __m128i*>(at));
  };
  __m128i x1 =
      _mm_xor_si128(load(p), _mm_cvtsi32_si128(static_cast<int>(state)));
  __m128i x2 = load(p + 16);
  __m128i x3 = load(p + 32);
  __m128i x4 = load(p + 48);
  p += 64;
  len -= 64;

  const __m128i k512 = _mm_set_epi64x(kFold512High, kFold512Low);
  for (; len >= 64; p += 64, len -= 64) {
    x1 = Fold(x1, k512, load(p));
    x2 = Fold(x2, k512, load(p + 16));
    x3 = Fold(x3, k512, load(p + 32));
    x4 = Fold(x4, k512, load(p + 48));
  }

  const __m128i k128 = _mm_set_epi64x(kFold128High, kFold128Low);
  x1 = Fold(x1, k128, x2);
  x1 = Fold(x1, k128, x3);
  x1 = Fold(x1, k128, x4);
  for (; len >= 16; p += 16, len -= 16) x1 = Fold(x1, k128, load(p));

  // 128 -> 64 bits: the low half times x^(128-32), added to the high half.
  const __m128i low32 = _mm_setr_epi32(-1, 0, -1, 0);
  x1 = _mm_xor_si128(_mm_srli_si128(x1, 8),
                     _mm_clmulepi64_si128(x1, k128, 0x10));
  // 64 -> 32 bits (plus 32 zero bits appended).
  const __m128i k64 = _mm_set_epi64x(0, kFold64);
  x1 = _mm_xor_si128(_mm_srli_si128(x1, 4),
                     _mm_clmulepi64_si128(_mm_and_si128(x1, low32), k64, 0x00));
  // Barrett reduction to the 32-bit remainder.
  const __m128i barrett = _mm_set_epi64x(kBarrettMu, kPolynomial);
  __m128i t = _mm_clmulepi64_si128(_mm_and_si128(x1, low32), barrett, 0x10);
  t = _mm_clmulepi64_si128(_mm_and_si128(t, low32), barrett, 0x00);
  return static_cast<uint32_t>(_mm_extract_epi32(_mm_xor_si128(x1, t), 1));
}

bool HaveCarrylessMultiply() {
  static const bool have = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("sse4.1");
  }();
  return have;
}

#endif  // __x86_64__

}  // namespace

uint32_t Crc32Extend(uint32_t crc, absl::string_view data) {
  const char* p = data.data();
  size_t len = data.size();
#if defined(__x86_64__)
  if (len >= 64 && HaveCarrylessMultiply()) {
    size_t blocks = len & ~size_t{15};
    crc = ~FoldBlocks(p, blocks, ~crc);
    p += blocks;
    len -= blocks;
  }
#endif
  return static_cast<uint32_t>(
      crc32_z(crc, reinterpret_cast<const Bytef*>(p), len));
}

uint32_t Crc32(absl::string_view data) { return Crc32Extend(0, data); }

}  // namespace cometmq
