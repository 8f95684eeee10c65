#ifndef COMETMQ_ADMIN_COMMAND_TABLE_H_
#define COMETMQ_ADMIN_COMMAND_TABLE_H_

#include <string>
#include <vector>

#include "cpp/admin/command.h"

namespace cometmq::admin {

// Every mqadmin subcommand, grouped as in the usage text.
std::vector<CommandSpec> AllCommands();

// The subcommand of `commands` named `name` (case-sensitive, as in
// RocketMQ), or nullptr.
const CommandSpec* FindCommand(const std::vector<CommandSpec>& commands,
                               const std::string& name);

// `mqadmin` alone / `mqadmin help`: every subcommand with its summary.
std::string Usage(const std::vector<CommandSpec>& commands);

// `mqadmin help NAME`: synopsis and every option of one subcommand.
std::string CommandHelp(const CommandSpec& command);

}  // namespace cometmq::admin

#endif  // COMETMQ_ADMIN_COMMAND_TABLE_H_
