// Benchmark of the CRC-32 the stored records carry: for buffer sizes from a
// small message body to a replication batch, prints ns per buffer and GB/s
// for cometmq::Crc32 and for zlib's crc32_z, which it must match.
//
//   bazel run //tools/bench:crc32
#include <zlib.h>

#include <cstdio>
#include <string>

#include "absl/time/clock.h"
#include "cpp/common/crc32.h"

namespace cometmq::bench {
namespace {

template <typename F>
double NanosPerCall(const std::string& buffer, F crc) {
  const int64_t total_bytes = int64_t{1} << 30;
  const int64_t calls = std::max<int64_t>(1, total_bytes / buffer.size());
  uint32_t sink = 0;
  absl::Time start = absl::Now();
  for (int64_t i = 0; i < calls; ++i) sink ^= crc(buffer);
  double ns = absl::ToDoubleNanoseconds(absl::Now() - start) / calls;
  if (sink == 0x12345678) std::printf(" ");  // keeps the loop from being elided
  return ns;
}

void Run() {
  std::printf("%10s %14s %10s %14s %10s\n", "bytes", "Crc32 ns", "GB/s",
              "zlib ns", "GB/s");
  for (size_t size : {64u, 128u, 256u, 1024u, 4096u, 65536u, 1048576u}) {
    std::string buffer(size, '\0');
    for (size_t i = 0; i < size; ++i) buffer[i] = static_cast<char>(i * 131);
    auto ours = [](const std::string& b) { return Crc32(b); };
    auto zlib = [](const std::string& b) {
      return static_cast<uint32_t>(
          crc32_z(0, reinterpret_cast<const Bytef*>(b.data()), b.size()));
    };
    double a = NanosPerCall(buffer, ours);
    double b = NanosPerCall(buffer, zlib);
    std::printf("%10zu %14.1f %10.2f %14.1f %10.2f\n", size, a, size / a, b,
                size / b);
  }
}

}  // namespace
}  // namespace cometmq::bench

int main() {
  cometmq::bench::Run();
  return 0;
}
