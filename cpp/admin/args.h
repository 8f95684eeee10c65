#ifndef COMETMQ_ADMIN_ARGS_H_
#define COMETMQ_ADMIN_ARGS_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace cometmq::admin {

// One option of a subcommand, spelled as in RocketMQ's mqadmin: a short
// letter (`-t TOPIC`) and a long name (`--topic TOPIC`, `--topic=TOPIC`).
// A switch (`topicList -c`) takes no value; Has() tells whether it was given.
struct FlagSpec {
  char letter = 0;
  std::string long_name;
  std::string value_name;  // shown in usage, e.g. "TOPIC"
  bool required = false;
  std::string help;
  bool is_switch = false;
};

// An optional switch: `-letter` / `--long_name`, no value.
FlagSpec SwitchFlag(char letter, std::string long_name, std::string help);

// The options given to one subcommand, after ParseArgs checked them against
// the subcommand's FlagSpecs. `--json` and `-h`/`--help` are accepted by
// every subcommand.
class ParsedArgs {
 public:
  bool Has(char letter) const { return values_.count(letter) > 0; }
  // The value of `-letter`, or `fallback` when it was not given.
  std::string Get(char letter, const std::string& fallback = "") const;
  // The value of `-letter` as an integer; InvalidArgument names the flag.
  absl::StatusOr<int64_t> GetInt(char letter, int64_t fallback) const;
  bool json() const { return json_; }
  bool help() const { return help_; }

 private:
  friend absl::StatusOr<ParsedArgs> ParseArgs(
      const std::vector<FlagSpec>& specs, const std::vector<std::string>& args,
      const std::string& env_namesrv);
  std::map<char, std::string> values_;
  bool json_ = false;
  bool help_ = false;
};

// Parses a subcommand's arguments (without the program and subcommand
// names). `-n` falls back to `env_namesrv` (NAMESRV_ADDR) when the
// subcommand has it and it is not given. InvalidArgument for an unknown
// option, a missing value, a stray argument or a missing required option
// (unless help was asked for).
absl::StatusOr<ParsedArgs> ParseArgs(const std::vector<FlagSpec>& specs,
                                     const std::vector<std::string>& args,
                                     const std::string& env_namesrv);

}  // namespace cometmq::admin

#endif  // COMETMQ_ADMIN_ARGS_H_
