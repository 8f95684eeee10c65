#include "cpp/common/crc32.h"

#include <zlib.h>

#include <random>
#include <string>

#include "gtest/gtest.h"

namespace cometmq {
namespace {

uint32_t ZlibCrc32(absl::string_view data) {
  return static_cast<uint32_t>(
      crc32_z(0, reinterpret_cast<const Bytef*>(data.data()), data.size()));
}

std::string RandomBytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

TEST(Crc32Test, KnownValues) {
  EXPECT_EQ(Crc32(""), 0u);
  EXPECT_EQ(Crc32("123456789"), 0xCBF43926u);
  EXPECT_EQ(Crc32(std::string(64, '\0')), 0x758D6336u);
  EXPECT_EQ(Crc32(std::string(100, 'a')), ZlibCrc32(std::string(100, 'a')));
}

// Every length around the 16- and 64-byte steps, at every alignment.
TEST(Crc32Test, MatchesZlibForEveryLengthAndAlignment) {
  const std::string bytes = RandomBytes(1200, 1);
  for (size_t offset = 0; offset < 16; ++offset) {
    for (size_t len = 0; len + offset <= bytes.size(); ++len) {
      absl::string_view data(bytes.data() + offset, len);
      ASSERT_EQ(Crc32(data), ZlibCrc32(data))
          << "offset " << offset << " length " << len;
    }
  }
}

TEST(Crc32Test, MatchesZlibOnLargeAndUniformBuffers) {
  for (size_t len : {4096u, 65536u, 1048576u + 13u}) {
    std::string random = RandomBytes(len, static_cast<uint32_t>(len));
    EXPECT_EQ(Crc32(random), ZlibCrc32(random)) << len;
    for (char fill : {'\0', '\xff'}) {
      std::string uniform(len, fill);
      EXPECT_EQ(Crc32(uniform), ZlibCrc32(uniform)) << len;
    }
  }
}

TEST(Crc32Test, ExtendContinuesACrc) {
  const std::string bytes = RandomBytes(700, 2);
  for (size_t split : {0u, 1u, 15u, 63u, 64u, 65u, 300u, 700u}) {
    absl::string_view all(bytes);
    EXPECT_EQ(Crc32Extend(Crc32(all.substr(0, split)), all.substr(split)),
              Crc32(all))
        << split;
  }
}

}  // namespace
}  // namespace cometmq
