#include "cpp/common/host_port.h"

#include "gtest/gtest.h"

namespace cometmq {
namespace {

TEST(HostPortTest, SplitsAtTheLastColon) {
  std::optional<HostPort> parsed = ParseHostPort("127.0.0.1:9876");
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->host, "127.0.0.1");
  EXPECT_EQ(parsed->port, "9876");
  parsed = ParseHostPort("::1:65535");
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->host, "::1");
  EXPECT_EQ(parsed->port, "65535");
}

TEST(HostPortTest, RefusesAMissingHostOrAPortOutOfRange) {
  for (const char* bad : {"", "abc", ":9876", "host:", "host:0", "host:65536",
                          "host:12ab", "host:-1"}) {
    EXPECT_FALSE(ParseHostPort(bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace cometmq
