#include "cpp/admin/runner.h"

#include "absl/status/status.h"
#include "cpp/admin/args.h"
#include "cpp/admin/command.h"
#include "cpp/admin/command_table.h"
#include "cpp/client/admin.h"
#include "cpp/client/client_error.h"

namespace cometmq::admin {

int RunAdmin(const std::vector<std::string>& args,
             const std::string& env_namesrv, std::ostream& out,
             std::ostream& err) {
  const std::vector<CommandSpec> commands = AllCommands();
  if (args.empty()) {
    out << Usage(commands);
    return kExitOk;
  }
  const std::string& name = args[0];
  if (name == "help" || name == "-h" || name == "--help") {
    if (args.size() == 1) {
      out << Usage(commands);
      return kExitOk;
    }
    const CommandSpec* command = FindCommand(commands, args[1]);
    if (command == nullptr) {
      err << "mqadmin: unknown subcommand '" << args[1] << "'\n\n"
          << Usage(commands);
      return kExitUsage;
    }
    out << CommandHelp(*command);
    return kExitOk;
  }
  const CommandSpec* command = FindCommand(commands, name);
  if (command == nullptr) {
    err << "mqadmin: unknown subcommand '" << name << "'\n\n"
        << Usage(commands);
    return kExitUsage;
  }
  absl::StatusOr<ParsedArgs> parsed = ParseArgs(
      command->flags, std::vector<std::string>(args.begin() + 1, args.end()),
      env_namesrv);
  if (!parsed.ok()) {
    err << "mqadmin " << name << ": " << parsed.status().message() << "\n\n"
        << CommandHelp(*command);
    return kExitUsage;
  }
  if (parsed->help()) {
    out << CommandHelp(*command);
    return kExitOk;
  }
  client::ClientConfig config;
  config.namesrv_addr = parsed->Get('n');
  config.instance_name = "mqadmin";
  client::Admin admin(config);
  absl::Status status = admin.Start();
  if (status.ok()) status = command->run(CommandContext{*parsed, &admin, out});
  admin.Shutdown();
  if (status.ok()) return kExitOk;
  err << "mqadmin " << name << ": " << status.message() << "\n";
  // A bad option value the command found itself (not a broker's answer).
  if (absl::IsInvalidArgument(status) &&
      !client::BrokerStatusCode(status).has_value()) {
    err << "\n" << CommandHelp(*command);
    return kExitUsage;
  }
  return kExitFailed;
}

}  // namespace cometmq::admin
