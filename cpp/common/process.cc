#include "cpp/common/process.h"

#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace cometmq {
namespace {

sigset_t TerminationSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  return set;
}

}  // namespace

absl::Status BlockTerminationSignals() {
  sigset_t set = TerminationSignals();
  int rc = pthread_sigmask(SIG_BLOCK, &set, nullptr);
  if (rc != 0) {
    return absl::InternalError(
        absl::StrCat("pthread_sigmask: ", std::strerror(rc)));
  }
  return absl::OkStatus();
}

int WaitForTerminationSignal() {
  sigset_t set = TerminationSignals();
  int signal = 0;
  // sigwait only fails for an invalid set, which this one is not.
  while (sigwait(&set, &signal) != 0) {
  }
  return signal;
}

absl::Status SetProcessName(absl::string_view name) {
  // PR_SET_NAME copies at most 16 bytes including the terminator.
  std::string truncated(name.substr(0, 15));
  if (prctl(PR_SET_NAME, truncated.c_str(), 0, 0, 0) != 0) {
    return absl::InternalError(
        absl::StrCat("prctl(PR_SET_NAME): ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

absl::StatusOr<CommonArgs> ParseCommonArgs(const std::vector<std::string>& argv,
                                           const ArgSpec& spec) {
  std::vector<std::string> args(argv.begin() + (argv.empty() ? 0 : 1),
                                argv.end());
  CommonArgs result;
  result.overrides = ExtractCommandLineOverrides(&args);
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    auto value = [&](absl::string_view what) -> absl::StatusOr<std::string> {
      if (i + 1 >= args.size()) {
        return absl::InvalidArgumentError(
            absl::StrCat("option ", arg, " needs ", what));
      }
      return args[++i];
    };
    if (arg == "-c") {
      absl::StatusOr<std::string> file = value("a config file");
      if (!file.ok()) return file.status();
      result.config_file = *std::move(file);
    } else if (arg == "-n" && spec.accept_namesrv_addr) {
      absl::StatusOr<std::string> addrs =
          value("name server addresses (host:port;host:port)");
      if (!addrs.ok()) return addrs.status();
      result.namesrv_addr = *std::move(addrs);
    } else if (arg == "-p") {
      result.print_config = true;
    } else if (arg == "-h" || arg == "--help") {
      result.help = true;
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("unexpected argument '", arg, "'"));
    }
  }
  return result;
}

std::string Usage(absl::string_view program, const ArgSpec& spec) {
  std::string usage =
      absl::StrCat("usage: ", program, " [-c FILE]",
                   spec.accept_namesrv_addr ? " [-n ADDRS]" : "",
                   " [-p] [-h] [--key=value ...]\n",
                   "  -c FILE      read settings from a .properties file\n");
  if (spec.accept_namesrv_addr) {
    absl::StrAppend(
        &usage, "  -n ADDRS     name servers, host:port separated by ';'\n");
  }
  absl::StrAppend(&usage,
                  "  -p           print every setting with its value and exit\n"
                  "  -h           print this help and exit\n"
                  "  --key=value  set one setting; overrides the file\n");
  return usage;
}

}  // namespace cometmq
