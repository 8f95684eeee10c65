#include "cpp/admin/args.h"

#include "gtest/gtest.h"

namespace cometmq::admin {
namespace {

std::vector<FlagSpec> Specs() {
  return {{'n', "namesrvAddr", "NAMESRV", true, ""},
          {'t', "topic", "TOPIC", true, ""},
          {'r', "readQueueNums", "READ", false, ""}};
}

TEST(ParseArgsTest, ShortLongAndAttachedForms) {
  auto parsed = ParseArgs(
      Specs(), {"-n", "127.0.0.1:9876", "--topic=T1", "-r8", "--json"}, "");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->Get('n'), "127.0.0.1:9876");
  EXPECT_EQ(parsed->Get('t'), "T1");
  EXPECT_EQ(*parsed->GetInt('r', 1), 8);
  EXPECT_TRUE(parsed->json());
  EXPECT_FALSE(parsed->help());

  parsed = ParseArgs(Specs(), {"--namesrvAddr", "a:1", "-t", "T2"}, "");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->Get('n'), "a:1");
  EXPECT_EQ(parsed->Get('t'), "T2");
  EXPECT_FALSE(parsed->json());
  EXPECT_EQ(*parsed->GetInt('r', 4), 4);
}

TEST(ParseArgsTest, SwitchesTakeNoValue) {
  std::vector<FlagSpec> specs = Specs();
  specs.push_back(SwitchFlag('c', "clusterModel", ""));
  auto parsed = ParseArgs(specs, {"-n", "a:1", "-t", "T", "-c"}, "");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_TRUE(parsed->Has('c'));
  parsed = ParseArgs(specs, {"-n", "a:1", "--clusterModel", "-t", "T"}, "");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_TRUE(parsed->Has('c'));
  EXPECT_EQ(parsed->Get('t'), "T");
  parsed = ParseArgs(specs, {"-n", "a:1", "-t", "T"}, "");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_FALSE(parsed->Has('c'));

  for (const char* attached : {"-cx", "--clusterModel=yes"}) {
    parsed = ParseArgs(specs, {"-n", "a:1", "-t", "T", attached}, "");
    ASSERT_FALSE(parsed.ok()) << attached;
    EXPECT_NE(parsed.status().message().find("takes no value"),
              std::string::npos)
        << parsed.status();
  }
  // A value after a switch is a stray argument, not the switch's value.
  parsed = ParseArgs(specs, {"-n", "a:1", "-t", "T", "-c", "true"}, "");
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.status().message().find("unexpected argument 'true'"),
            std::string::npos);
}

TEST(ParseArgsTest, NamesrvFallsBackToEnvironment) {
  auto parsed = ParseArgs(Specs(), {"-t", "T"}, "env:9876");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->Get('n'), "env:9876");
  parsed = ParseArgs(Specs(), {"-t", "T", "-n", "flag:1"}, "env:9876");
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->Get('n'), "flag:1");
}

TEST(ParseArgsTest, MissingRequiredOptionNamesIt) {
  auto parsed = ParseArgs(Specs(), {"-t", "T"}, "");
  ASSERT_FALSE(parsed.ok());
  EXPECT_TRUE(absl::IsInvalidArgument(parsed.status()));
  EXPECT_NE(parsed.status().message().find("-n"), std::string::npos);
  EXPECT_NE(parsed.status().message().find("NAMESRV_ADDR"), std::string::npos);
  // Help needs no required option.
  parsed = ParseArgs(Specs(), {"-h"}, "");
  ASSERT_TRUE(parsed.ok());
  EXPECT_TRUE(parsed->help());
}

TEST(ParseArgsTest, RejectsUnknownOptionsMissingValuesAndStrayArguments) {
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{
           {"-n", "a:1", "-t", "T", "-x", "1"},
           {"-n", "a:1", "--nope=1"},
           {"-n", "a:1", "-t"},
           {"-n", "a:1", "-t", "T", "extra"}}) {
    auto parsed = ParseArgs(Specs(), args, "");
    EXPECT_TRUE(absl::IsInvalidArgument(parsed.status())) << args.back();
  }
}

TEST(ParseArgsTest, GetIntRejectsNonNumbers) {
  auto parsed = ParseArgs(Specs(), {"-n", "a:1", "-t", "T", "-r", "many"}, "");
  ASSERT_TRUE(parsed.ok());
  absl::StatusOr<int64_t> value = parsed->GetInt('r', 1);
  ASSERT_FALSE(value.ok());
  EXPECT_NE(value.status().message().find("-r"), std::string::npos);
}

}  // namespace
}  // namespace cometmq::admin
