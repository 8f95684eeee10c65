// mqnamesrv: the NameServer process.
//
//   mqnamesrv [-c namesrv.conf] [-p] [--listenPort=9876] [--key=value ...]
//
// Prints "The Name Server boot success. listen=HOST:PORT" once it serves, and
// stops gracefully on SIGTERM, SIGINT or SIGHUP (exit status 0). A bad
// command line or configuration exits with status 2, a failure to start
// (e.g. the port is taken) with 1.
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "cpp/common/config_binder.h"
#include "cpp/common/lock_checking.h"
#include "cpp/common/logging.h"
#include "cpp/common/process.h"
#include "cpp/namesrv/name_server.h"
#include "cpp/namesrv/namesrv_config.h"
#include "spdlog/spdlog.h"

namespace cometmq::namesrv {
namespace {

constexpr int kExitStartFailed = 1;
constexpr int kExitUsage = 2;

int NamesrvMain(int argc, char** argv) {
  // Before anything can start a thread (the logger's flusher does): every
  // thread must inherit the blocked mask for sigwait to see the signals.
  if (absl::Status s = BlockTerminationSignals(); !s.ok()) {
    std::cerr << "mqnamesrv: " << s.message() << "\n";
    return kExitStartFailed;
  }
  if (absl::Status s = SetProcessName("mqnamesrv"); !s.ok()) {
    std::cerr << "mqnamesrv: " << s.message() << " (continuing)\n";
  }

  const ArgSpec spec;
  absl::StatusOr<CommonArgs> args =
      ParseCommonArgs(std::vector<std::string>(argv, argv + argc), spec);
  if (!args.ok()) {
    std::cerr << "mqnamesrv: " << args.status().message() << "\n"
              << Usage("mqnamesrv", spec);
    return kExitUsage;
  }
  if (args->help) {
    std::cout << Usage("mqnamesrv", spec);
    return 0;
  }

  NamesrvConfig config;
  ConfigBinder binder;
  config.Bind(&binder);
  std::vector<std::string> warnings;
  absl::Status loaded =
      binder.Load(args->config_file, args->overrides, &warnings);
  if (loaded.ok()) loaded = config.Validate();
  if (!loaded.ok()) {
    std::cerr << "mqnamesrv: bad configuration: " << loaded.message() << "\n";
    return kExitUsage;
  }
  if (args->print_config) {
    // Logging is not set up for -p, so warnings go straight to stderr.
    for (const std::string& warning : warnings) {
      std::cerr << "mqnamesrv: warning: " << warning << "\n";
    }
    std::cout << binder.Dump();
    return 0;
  }

  const std::string log_file = absl::StrCat(config.logDir, "/namesrv.log");
  if (absl::Status s = InitLogging("namesrv", log_file); !s.ok()) {
    std::cerr << "mqnamesrv: " << s.message() << "\n";
    return kExitStartFailed;
  }
  for (const std::string& warning : warnings) spdlog::warn("{}", warning);
  std::string dump = binder.Dump();
  if (!dump.empty() && dump.back() == '\n') dump.pop_back();
  spdlog::info("configuration:\n{}", dump);

  NameServer server(config);
  if (absl::Status s = server.Start(); !s.ok()) {
    spdlog::error("the name server failed to start: {}", s.ToString());
    spdlog::shutdown();
    return kExitStartFailed;
  }
  const std::string listen =
      absl::StrCat(config.bindAddress, ":", server.port());
  std::printf("The Name Server boot success. listen=%s\n", listen.c_str());
  std::fflush(stdout);
  spdlog::info("The Name Server boot success. listen={}", listen);

  const int signal = WaitForTerminationSignal();
  spdlog::info("received signal {}; shutting down", signal);
  server.Stop();
  spdlog::info("the name server stopped");
  spdlog::shutdown();
  return 0;
}

}  // namespace
}  // namespace cometmq::namesrv

int main(int argc, char** argv) {
  cometmq::ConfigureLockOrderChecking();
  return cometmq::namesrv::NamesrvMain(argc, argv);
}
