#ifndef COMETMQ_ADMIN_COMMAND_H_
#define COMETMQ_ADMIN_COMMAND_H_

#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "cpp/admin/args.h"
#include "cpp/admin/json.h"
#include "cpp/admin/table.h"
#include "cpp/client/admin.h"

namespace cometmq::admin {

// What a running subcommand gets: its parsed options, a started Admin on the
// NameServers of `-n`, and where to write its result.
struct CommandContext {
  const ParsedArgs& args;
  client::Admin* admin;
  std::ostream& out;

  // Writes `json` (with --json) or the tables, blank-line separated.
  void Emit(const std::vector<Table>& tables, const JsonValue& json) const;
  // Writes `json` (with --json) or `text`.
  void Emit(const std::string& text, const JsonValue& json) const;
};

// One mqadmin subcommand: name and options as in RocketMQ's mqadmin.
struct CommandSpec {
  std::string name;
  std::string group;  // heading in the usage text
  std::string summary;
  std::vector<FlagSpec> flags;
  std::function<absl::Status(const CommandContext&)> run;
};

// Flags shared by the subcommands.
FlagSpec NamesrvFlag();
FlagSpec TopicFlag(bool required = true);
FlagSpec GroupFlag(bool required = true);

// `status` of a call about `topic`; a TOPIC_NOT_EXIST answer becomes
// NotFound("topic X does not exist ...").
absl::Status TopicStatus(const absl::Status& status, const std::string& topic);

// A point in time given on the command line, in milliseconds since the
// epoch: "now", a number of milliseconds, or RocketMQ's
// "yyyy-MM-dd#HH:mm:ss:SSS" in local time.
absl::StatusOr<int64_t> ParseTimestamp(const std::string& text);

// Milliseconds since the epoch as "yyyy-MM-dd HH:mm:ss,SSS" in local time;
// "-" for 0.
std::string FormatMillis(int64_t millis);

// updateTopic -p: RocketMQ's PermName values 2 (write only), 4 (read only)
// or 6 (read and write); InvalidArgument naming `-p` otherwise.
absl::StatusOr<int32_t> ParsePerm(const std::string& text);

// "true" or "false" (any case) for boolean options such as updateTopic -o;
// InvalidArgument naming `-letter` otherwise.
absl::StatusOr<bool> ParseBool(char letter, const std::string& text);

// Permission bits as RocketMQ prints them: "RW", "R", "W" or "-".
std::string PermName(int32_t perm);

// The subcommands of each group (one file per group).
std::vector<CommandSpec> TopicCommands();
std::vector<CommandSpec> ClusterCommands();
std::vector<CommandSpec> ConsumerCommands();
std::vector<CommandSpec> MessageCommands();

}  // namespace cometmq::admin

#endif  // COMETMQ_ADMIN_COMMAND_H_
