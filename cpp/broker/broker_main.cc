// mqbroker: the broker process.
//
//   mqbroker [-c broker.conf] [-n "host:port;host:port"] [-p] [--key=value ...]
//
// Prints "The broker[NAME, IP:PORT] boot success. name server is ADDRS" once
// it serves, and stops gracefully on SIGTERM, SIGINT or SIGHUP (exit status
// 0). The NameServers are -n, else namesrvAddr, else $NAMESRV_ADDR; with no
// address at all it runs a NameServer on port 9876 inside the process, so
// `bazel run //cpp:broker` alone gives a working broker. A bad command line
// or configuration exits with status 2, a failure to start with 1.
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "cpp/broker/broker_config.h"
#include "cpp/broker/broker_controller.h"
#include "cpp/common/config_binder.h"
#include "cpp/common/lock_checking.h"
#include "cpp/common/logging.h"
#include "cpp/common/namesrv_addr.h"
#include "cpp/common/process.h"
#include "cpp/namesrv/name_server.h"
#include "spdlog/spdlog.h"

namespace cometmq::broker {
namespace {

constexpr int kExitStartFailed = 1;
constexpr int kExitUsage = 2;

int BrokerMain(int argc, char** argv) {
  // Before any thread exists, so every thread inherits the blocked mask.
  if (absl::Status s = BlockTerminationSignals(); !s.ok()) {
    std::cerr << "mqbroker: " << s.message() << "\n";
    return kExitStartFailed;
  }
  if (absl::Status s = SetProcessName("mqbroker"); !s.ok()) {
    std::cerr << "mqbroker: " << s.message() << " (continuing)\n";
  }

  ArgSpec spec;
  spec.accept_namesrv_addr = true;
  absl::StatusOr<CommonArgs> args =
      ParseCommonArgs(std::vector<std::string>(argv, argv + argc), spec);
  if (!args.ok()) {
    std::cerr << "mqbroker: " << args.status().message() << "\n"
              << Usage("mqbroker", spec);
    return kExitUsage;
  }
  if (args->help) {
    std::cout << Usage("mqbroker", spec);
    return 0;
  }

  BrokerConfig config;
  ConfigBinder binder;
  config.Bind(&binder);
  std::vector<std::string> warnings;
  absl::Status loaded =
      binder.Load(args->config_file, args->overrides, &warnings);
  if (loaded.ok() && !args->namesrv_addr.empty()) {
    config.namesrvAddr = args->namesrv_addr;  // -n wins over the file
  }
  // Then $NAMESRV_ADDR, as RocketMQ's broker takes it (its quick start
  // exports it, and mqadmin and the clients read it): without this, the
  // broker would start its own NameServer and register where no client
  // looks.
  if (const char* env = std::getenv("NAMESRV_ADDR");
      loaded.ok() && config.namesrvAddr.empty() && env != nullptr &&
      *env != '\0') {
    loaded = ValidateNamesrvAddr(env);
    if (!loaded.ok()) {
      loaded = absl::InvalidArgumentError(
          absl::StrCat("$NAMESRV_ADDR: ", loaded.message()));
    }
    config.namesrvAddr = env;
  }
  if (loaded.ok()) loaded = config.Validate();
  // updateBrokerConfig writes its changes there, as RocketMQ does.
  config.configFilePath = args->config_file;
  if (!loaded.ok()) {
    std::cerr << "mqbroker: bad configuration: " << loaded.message() << "\n";
    return kExitUsage;
  }
  if (args->print_config) {
    for (const std::string& warning : warnings) {
      std::cerr << "mqbroker: warning: " << warning << "\n";
    }
    std::cout << binder.Dump();
    return 0;
  }

  if (absl::Status s =
          InitLogging("broker", absl::StrCat(config.logDir, "/broker.log"));
      !s.ok()) {
    std::cerr << "mqbroker: " << s.message() << "\n";
    return kExitStartFailed;
  }
  for (const std::string& warning : warnings) spdlog::warn("{}", warning);
  std::string dump = binder.Dump();
  if (!dump.empty() && dump.back() == '\n') dump.pop_back();
  spdlog::info("configuration:\n{}", dump);

  std::unique_ptr<namesrv::NameServer> embedded;
  if (config.namesrvAddr.empty()) {
    namesrv::NamesrvConfig ns_config;
    ns_config.logDir = config.logDir;
    embedded = std::make_unique<namesrv::NameServer>(ns_config);
    if (absl::Status s = embedded->Start(); !s.ok()) {
      spdlog::error(
          "no name server address was given and the embedded name "
          "server failed to start: {}",
          s.ToString());
      spdlog::shutdown();
      return kExitStartFailed;
    }
    config.namesrvAddr = absl::StrCat("127.0.0.1:", embedded->port());
    spdlog::info(
        "no name server address given (-n or namesrvAddr): started "
        "an embedded name server at {}",
        config.namesrvAddr);
  }

  BrokerController broker(config);
  if (absl::Status s = broker.Start(); !s.ok()) {
    spdlog::error("the broker failed to start: {}", s.ToString());
    broker.Shutdown();
    if (embedded != nullptr) embedded->Stop();
    spdlog::shutdown();
    return kExitStartFailed;
  }
  const std::string ready =
      absl::StrCat("The broker[", config.brokerName, ", ", broker.broker_addr(),
                   "] boot success. name server is ", config.namesrvAddr);
  std::printf("%s\n", ready.c_str());
  std::fflush(stdout);
  spdlog::info("{}", ready);

  const int signal = WaitForTerminationSignal();
  spdlog::info("received signal {}; shutting down", signal);
  broker.Shutdown();
  if (embedded != nullptr) embedded->Stop();
  spdlog::info("the broker stopped");
  spdlog::shutdown();
  return 0;
}

}  // namespace
}  // namespace cometmq::broker

int main(int argc, char** argv) {
  cometmq::ConfigureLockOrderChecking();
  return cometmq::broker::BrokerMain(argc, argv);
}
