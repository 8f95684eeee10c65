#ifndef COMETMQ_COMMON_PROCESS_H_
#define COMETMQ_COMMON_PROCESS_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "cpp/common/properties.h"

namespace cometmq {

// Process plumbing shared by every CometMQ binary.

// Blocks SIGTERM, SIGINT and SIGHUP in the calling thread. Call it first in
// main(), before any thread exists: threads inherit the mask, so the signals
// stay pending for WaitForTerminationSignal() instead of killing the process
// on whichever thread the kernel picks.
absl::Status BlockTerminationSignals();

// Waits for one of the signals blocked above and returns its number.
int WaitForTerminationSignal();

// Sets the name `ps`, `top` and `pkill -x` see (at most 15 bytes are kept),
// so tools find the process by the name users know, e.g. mqnamesrv.
absl::Status SetProcessName(absl::string_view name);

// What a binary's command line said.
struct CommonArgs {
  std::string config_file;               // -c FILE
  std::string namesrv_addr;              // -n ADDRS (binaries that talk to one)
  bool print_config = false;             // -p: print the configuration and exit
  bool help = false;                     // -h / --help
  std::vector<PropertyEntry> overrides;  // --key=value, in order
};

struct ArgSpec {
  bool accept_namesrv_addr = false;  // whether -n is allowed
};

// Parses argv (argv[0] is skipped). InvalidArgument, naming the offending
// argument, for anything not described by Usage().
absl::StatusOr<CommonArgs> ParseCommonArgs(const std::vector<std::string>& argv,
                                           const ArgSpec& spec);

// The usage text for `program` under `spec`.
std::string Usage(absl::string_view program, const ArgSpec& spec);

}  // namespace cometmq

#endif  // COMETMQ_COMMON_PROCESS_H_
