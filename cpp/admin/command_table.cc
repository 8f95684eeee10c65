#include "cpp/admin/command_table.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"

namespace cometmq::admin {

std::vector<CommandSpec> AllCommands() {
  std::vector<CommandSpec> all;
  for (auto group :
       {TopicCommands, ClusterCommands, ConsumerCommands, MessageCommands}) {
    for (CommandSpec& command : group()) all.push_back(std::move(command));
  }
  return all;
}

const CommandSpec* FindCommand(const std::vector<CommandSpec>& commands,
                               const std::string& name) {
  for (const CommandSpec& command : commands) {
    if (command.name == name) return &command;
  }
  return nullptr;
}

std::string Usage(const std::vector<CommandSpec>& commands) {
  size_t width = 0;
  for (const CommandSpec& command : commands) {
    width = std::max(width, command.name.size());
  }
  std::string out =
      "usage: mqadmin SUBCOMMAND [options] [--json]\n"
      "       mqadmin help [SUBCOMMAND]\n\n"
      "Administers a CometMQ cluster through its NameServers (-n, default "
      "$NAMESRV_ADDR).\n"
      "--json prints one JSON document on stdout instead of tables.\n";
  std::string group;
  for (const CommandSpec& command : commands) {
    if (command.group != group) {
      group = command.group;
      absl::StrAppend(&out, "\n", group, ":\n");
    }
    absl::StrAppend(&out, "  ", command.name,
                    std::string(width - command.name.size() + 2, ' '),
                    command.summary, "\n");
  }
  absl::StrAppend(&out,
                  "\nExit status: 0 success, 1 the request failed, 2 bad "
                  "usage.\n");
  return out;
}

std::string CommandHelp(const CommandSpec& command) {
  std::string synopsis = absl::StrCat("usage: mqadmin ", command.name);
  std::string options;
  for (const FlagSpec& flag : command.flags) {
    std::string spelled = absl::StrCat("-", std::string(1, flag.letter));
    if (!flag.is_switch) absl::StrAppend(&spelled, " ", flag.value_name);
    absl::StrAppend(&synopsis, " ", flag.required ? "" : "[", spelled,
                    flag.required ? "" : "]");
    absl::StrAppend(&options, "  ", spelled, ", --", flag.long_name, "\n",
                    "      ", flag.help, flag.required ? " (required)" : "",
                    "\n");
  }
  absl::StrAppend(&synopsis, " [--json]\n");
  std::string out = absl::StrCat(synopsis, "\n", command.summary, ".\n");
  absl::StrAppend(&out, "\noptions:\n", options,
                  "  --json\n      print one JSON document instead of "
                  "tables\n  -h, --help\n      print this help\n");
  return out;
}

}  // namespace cometmq::admin
