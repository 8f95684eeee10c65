#include "cpp/common/process.h"

#include <pthread.h>
#include <sys/prctl.h>

#include <csignal>

#include "gtest/gtest.h"

namespace cometmq {
namespace {

TEST(ParseCommonArgsTest, ConfigFileNamesrvAndOverrides) {
  auto args = ParseCommonArgs(
      {"prog", "--listenPort=1", "-c", "a.conf", "-n", "h:1;h:2", "--x=y=z"},
      ArgSpec{.accept_namesrv_addr = true});
  ASSERT_TRUE(args.ok()) << args.status();
  EXPECT_EQ(args->config_file, "a.conf");
  EXPECT_EQ(args->namesrv_addr, "h:1;h:2");
  EXPECT_FALSE(args->help);
  ASSERT_EQ(args->overrides.size(), 2u);
  EXPECT_EQ(args->overrides[0].key, "listenPort");
  EXPECT_EQ(args->overrides[0].value, "1");
  EXPECT_EQ(args->overrides[1].key, "x");
  EXPECT_EQ(args->overrides[1].value, "y=z");
}

TEST(ParseCommonArgsTest, RejectsWhatUsageDoesNotDescribe) {
  auto stray = ParseCommonArgs({"prog", "extra"}, ArgSpec{});
  EXPECT_EQ(stray.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(stray.status().message().find("'extra'"), std::string::npos);

  auto no_file = ParseCommonArgs({"prog", "-c"}, ArgSpec{});
  EXPECT_EQ(no_file.status().code(), absl::StatusCode::kInvalidArgument);

  // -n only where the binary talks to a name server.
  EXPECT_FALSE(ParseCommonArgs({"prog", "-n", "h:1"}, ArgSpec{}).ok());
  // `--key value` is not an override.
  EXPECT_FALSE(ParseCommonArgs({"prog", "--listenPort", "1"}, ArgSpec{}).ok());
}

TEST(ParseCommonArgsTest, HelpAndPrint) {
  auto args = ParseCommonArgs({"prog", "-p", "--help"}, ArgSpec{});
  ASSERT_TRUE(args.ok());
  EXPECT_TRUE(args->print_config);
  EXPECT_TRUE(args->help);
  EXPECT_NE(Usage("prog", ArgSpec{}).find("-c FILE"), std::string::npos);
  EXPECT_EQ(Usage("prog", ArgSpec{}).find("-n ADDRS"), std::string::npos);
}

TEST(ProcessTest, SetProcessNameTruncatesToKernelLimit) {
  ASSERT_TRUE(SetProcessName("a-very-long-process-name").ok());
  char name[17] = {};
  ASSERT_EQ(prctl(PR_GET_NAME, name, 0, 0, 0), 0);
  EXPECT_STREQ(name, "a-very-long-pro");
}

TEST(ProcessTest, BlockedSignalIsReceivedBySigwait) {
  ASSERT_TRUE(BlockTerminationSignals().ok());
  // Directed at this thread so no other thread of the test runner takes it.
  ASSERT_EQ(pthread_kill(pthread_self(), SIGHUP), 0);
  EXPECT_EQ(WaitForTerminationSignal(), SIGHUP);
}

}  // namespace
}  // namespace cometmq
