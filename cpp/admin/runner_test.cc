// RunAdmin without a cluster: usage, help, and the errors found before any
// request is sent. Subcommands against a live cluster are covered by
// integration_tests/test_mqadmin.py.

#include "cpp/admin/runner.h"

#include <sstream>

#include "cpp/admin/command_table.h"
#include "gtest/gtest.h"

namespace cometmq::admin {
namespace {

struct Outcome {
  int code;
  std::string out;
  std::string err;
};

Outcome RunWith(const std::vector<std::string>& args,
                const std::string& env = "") {
  std::ostringstream out;
  std::ostringstream err;
  int code = RunAdmin(args, env, out, err);
  return {code, out.str(), err.str()};
}

TEST(RunnerTest, UsageListsEverySubcommand) {
  for (const auto& args :
       std::vector<std::vector<std::string>>{{}, {"help"}, {"--help"}}) {
    Outcome run = RunWith(args);
    EXPECT_EQ(run.code, kExitOk);
    for (const char* name :
         {"updateTopic",        "deleteTopic",         "topicList",
          "topicRoute",         "topicStatus",         "clusterList",
          "brokerStatus",       "getBrokerConfig",     "consumerProgress",
          "queryMsgById",       "queryMsgByUniqueKey", "queryMsgByOffset",
          "queryMsgByKey",      "resetOffsetByTime",   "skipAccumulatedMessage",
          "cloneGroupOffset",   "updateSubGroup",      "deleteSubGroup",
          "consumerConnection", "producerConnection"}) {
      EXPECT_NE(run.out.find(name), std::string::npos) << name;
    }
    EXPECT_NE(run.out.find("updateSubGroup"), std::string::npos);
  }
}

TEST(RunnerTest, HelpForOneSubcommandShowsItsOptions) {
  Outcome run = RunWith({"help", "updateTopic"});
  EXPECT_EQ(run.code, kExitOk);
  EXPECT_NE(run.out.find("usage: mqadmin updateTopic -n NAMESRV"),
            std::string::npos);
  EXPECT_NE(run.out.find("--writeQueueNums"), std::string::npos);
  Outcome dash = RunWith({"updateTopic", "-h"});
  EXPECT_EQ(dash.code, kExitOk);
  EXPECT_EQ(dash.out, run.out);
}

TEST(RunnerTest, UnknownSubcommandIsAUsageError) {
  Outcome run = RunWith({"frobnicate"});
  EXPECT_EQ(run.code, kExitUsage);
  EXPECT_NE(run.err.find("unknown subcommand 'frobnicate'"), std::string::npos);
  EXPECT_NE(run.err.find("usage: mqadmin"), std::string::npos);
  EXPECT_EQ(RunWith({"help", "frobnicate"}).code, kExitUsage);
}

TEST(RunnerTest, BadOptionsAreUsageErrors) {
  Outcome run = RunWith({"topicRoute", "-n", "127.0.0.1:1", "-x", "1"});
  EXPECT_EQ(run.code, kExitUsage);
  EXPECT_NE(run.err.find("unknown option '-x'"), std::string::npos);
  EXPECT_NE(run.err.find("usage: mqadmin topicRoute"), std::string::npos);

  run = RunWith({"topicRoute", "-t", "T"});  // no -n, no NAMESRV_ADDR
  EXPECT_EQ(run.code, kExitUsage);
  EXPECT_NE(run.err.find("NAMESRV_ADDR"), std::string::npos);

  // Both -c and -b: found before any request is sent.
  run = RunWith({"updateTopic", "-n", "127.0.0.1:1", "-t", "T", "-c", "C", "-b",
                 "127.0.0.1:2"});
  EXPECT_EQ(run.code, kExitUsage);
  EXPECT_NE(run.err.find("exactly one of -c"), std::string::npos);
}

TEST(RunnerTest, UpdateSubGroupChecksItsOptionsBeforeSending) {
  Outcome run = RunWith({"updateSubGroup", "-n", "127.0.0.1:1", "-g", "G"});
  EXPECT_EQ(run.code, kExitUsage);
  EXPECT_NE(run.err.find("exactly one of -c"), std::string::npos);
  run = RunWith(
      {"updateSubGroup", "-n", "127.0.0.1:1", "-g", "G", "-c", "C", "-s", "x"});
  EXPECT_EQ(run.code, kExitUsage);
  EXPECT_NE(run.err.find("-s needs true or false"), std::string::npos);
}

TEST(RunnerTest, DeleteSubGroupChecksItsOptionsBeforeSending) {
  Outcome run = RunWith({"deleteSubGroup", "-n", "127.0.0.1:1", "-g", "G"});
  EXPECT_EQ(run.code, kExitUsage);
  EXPECT_NE(run.err.find("exactly one of -c CLUSTER and -b BROKERADDR"),
            std::string::npos);
  run = RunWith({"deleteSubGroup", "-n", "127.0.0.1:1", "-g", "G", "-c", "C",
                 "-b", "127.0.0.1:2"});
  EXPECT_EQ(run.code, kExitUsage);
  run = RunWith({"deleteSubGroup", "-n", "127.0.0.1:1", "-g", "G", "-b",
                 "127.0.0.1:2", "-r", "yes"});
  EXPECT_EQ(run.code, kExitUsage);
  EXPECT_NE(run.err.find("-r must be true or false, got 'yes'"),
            std::string::npos);
  run = RunWith({"deleteSubGroup", "-n", "127.0.0.1:1", "-b", "127.0.0.1:2"});
  EXPECT_EQ(run.code, kExitUsage);  // no -g
}

TEST(RunnerTest, ConnectionCommandsNeedTheirGroupAndTopic) {
  Outcome run = RunWith({"consumerConnection", "-n", "127.0.0.1:1"});
  EXPECT_EQ(run.code, kExitUsage);
  EXPECT_NE(run.err.find("usage: mqadmin consumerConnection"),
            std::string::npos);
  run = RunWith({"producerConnection", "-n", "127.0.0.1:1", "-g", "PG"});
  EXPECT_EQ(run.code, kExitUsage);
  EXPECT_NE(run.err.find("usage: mqadmin producerConnection"),
            std::string::npos);
  run = RunWith({"help", "producerConnection"});
  EXPECT_NE(run.out.find("--producerGroup"), std::string::npos);
}

TEST(RunnerTest, MessageLookupsNeedTheirTopicAndId) {
  // RocketMQ's QueryMsgByUniqueKeySubCommand: -t and -i required, -a a
  // switch.
  Outcome run =
      RunWith({"queryMsgByUniqueKey", "-n", "127.0.0.1:1", "-i", "ABC"});
  EXPECT_EQ(run.code, kExitUsage);
  EXPECT_NE(run.err.find("-t"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("usage: mqadmin queryMsgByUniqueKey"),
            std::string::npos);
  run = RunWith({"queryMsgByUniqueKey", "-n", "127.0.0.1:1", "-t", "T"});
  EXPECT_EQ(run.code, kExitUsage);
  run = RunWith({"queryMsgByUniqueKey", "-n", "127.0.0.1:1", "-t", "T", "-i",
                 "ABC", "-a", "x"});
  EXPECT_EQ(run.code, kExitUsage);  // -a takes no value
  run = RunWith({"help", "queryMsgByUniqueKey"});
  EXPECT_EQ(run.code, kExitOk);
  EXPECT_NE(run.out.find("usage: mqadmin queryMsgByUniqueKey -n NAMESRV -t "
                         "TOPIC -i MSGID [-a] [--json]"),
            std::string::npos)
      << run.out;
  EXPECT_NE(run.out.find("--showAll"), std::string::npos);

  // queryMsgById's -t is optional; without it, an id that is no offset
  // message id is refused before any request, saying what to do.
  run = RunWith({"help", "queryMsgById"});
  EXPECT_NE(run.out.find("[-t TOPIC] -i MSGID"), std::string::npos) << run.out;
  run = RunWith({"queryMsgById", "-n", "127.0.0.1:1", "-i", "not-an-id"});
  EXPECT_EQ(run.code, kExitUsage);
  EXPECT_NE(run.err.find("not an offset message id (32 hex chars): "
                         "not-an-id; a producer's msg id (the msgId of its "
                         "SendResult) needs -t TOPIC"),
            std::string::npos)
      << run.err;
}

TEST(RunnerTest, QueryMsgByOffsetChecksItsNumbersBeforeSending) {
  const std::vector<std::string> base = {
      "queryMsgByOffset", "-n", "127.0.0.1:1", "-t", "T", "-b", "broker-a"};
  auto run_with = [&](std::vector<std::string> more) {
    std::vector<std::string> args = base;
    args.insert(args.end(), more.begin(), more.end());
    return RunWith(args);
  };
  Outcome run = run_with({"-i", "0"});  // no -o
  EXPECT_EQ(run.code, kExitUsage);
  EXPECT_NE(run.err.find("usage: mqadmin queryMsgByOffset"), std::string::npos);
  run = run_with({"-i", "x", "-o", "0"});
  EXPECT_EQ(run.code, kExitUsage);
  EXPECT_NE(run.err.find("-i needs an integer"), std::string::npos) << run.err;
  run = run_with({"-i", "-1", "-o", "0"});
  EXPECT_EQ(run.code, kExitUsage);
  EXPECT_NE(run.err.find("-i must be a queue id, 0 or more"),
            std::string::npos);
  run = run_with({"-i", "2147483648", "-o", "0"});
  EXPECT_EQ(run.code, kExitUsage);
  run = run_with({"-i", "0", "-o", "-5"});
  EXPECT_EQ(run.code, kExitUsage);
  EXPECT_NE(run.err.find("-o must be a queue offset, 0 or more"),
            std::string::npos);
  run = RunWith({"help", "queryMsgByOffset"});
  EXPECT_NE(run.out.find("usage: mqadmin queryMsgByOffset -n NAMESRV -t TOPIC "
                         "-b BROKERNAME -i QUEUEID -o OFFSET [--json]"),
            std::string::npos)
      << run.out;
}

TEST(RunnerTest, EverySubcommandHasAUniqueNameAndHelp) {
  std::vector<CommandSpec> commands = AllCommands();
  for (const CommandSpec& command : commands) {
    EXPECT_EQ(FindCommand(commands, command.name), &command);
    EXPECT_FALSE(command.summary.empty()) << command.name;
    EXPECT_TRUE(command.run) << command.name;
  }
}

}  // namespace
}  // namespace cometmq::admin
