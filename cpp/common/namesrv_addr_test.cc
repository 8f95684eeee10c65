#include "cpp/common/namesrv_addr.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cometmq {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(NamesrvAddrTest, SplitsOnSemicolonsAndCommasAndTrims) {
  EXPECT_THAT(SplitNamesrvAddr(" a:1; b:2,c:3;"),
              ElementsAre("a:1", "b:2", "c:3"));
  EXPECT_THAT(SplitNamesrvAddr(" ; "), ElementsAre());
}

TEST(NamesrvAddrTest, AcceptsHostPortLists) {
  EXPECT_TRUE(ValidateNamesrvAddr("127.0.0.1:9876").ok());
  EXPECT_TRUE(ValidateNamesrvAddr("a.example:9876; 10.0.0.2:1;").ok());
  EXPECT_TRUE(ValidateNamesrvAddr("[::1]:9876").ok());
}

TEST(NamesrvAddrTest, RefusesWhatNamesNoReachableNameServer) {
  for (const char* bad :
       {"", ";", "abc", "127.0.0.1", "127.0.0.1:", ":9876", "host:0",
        "host:65536", "host:98x6", "a:1;b", "host:-1"}) {
    absl::Status status = ValidateNamesrvAddr(bad);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(status.message(), HasSubstr("host:port")) << bad;
  }
  EXPECT_THAT(ValidateNamesrvAddr("a:1;b").message(), HasSubstr("'b'"));
}

}  // namespace
}  // namespace cometmq
