#include "cpp/namesrv/namesrv_config.h"

#include <cstdlib>

#include "absl/strings/str_cat.h"

namespace cometmq::namesrv {

std::string NamesrvConfig::DefaultLogDir() {
  const char* home = std::getenv("HOME");
  return absl::StrCat(home != nullptr && *home != '\0' ? home : ".",
                      "/logs/cometmq");
}

void NamesrvConfig::Bind(ConfigBinder* binder) {
  binder->Bind("listenPort", &listenPort);
  binder->Bind("bindAddress", &bindAddress);
  binder->Bind("serverSelectorThreads", &serverSelectorThreads);
  binder->Bind("serverChannelMaxIdleTimeSeconds",
               &serverChannelMaxIdleTimeSeconds);
  binder->Bind("brokerExpiredMillis", &brokerExpiredMillis);
  binder->Bind("scanNotActiveBrokerInterval",
               &scanNotActiveBrokerIntervalMillis);
  binder->Alias("scanNotActiveBrokerIntervalMillis",
                "scanNotActiveBrokerInterval");
  binder->Bind("logDir", &logDir);
}

absl::Status NamesrvConfig::Validate() const {
  if (listenPort < 0 || listenPort > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("listenPort must be 0..65535, got ", listenPort));
  }
  if (serverSelectorThreads < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("serverSelectorThreads must be at least 1, got ",
                     serverSelectorThreads));
  }
  if (serverChannelMaxIdleTimeSeconds < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("serverChannelMaxIdleTimeSeconds must not be negative, "
                     "got ",
                     serverChannelMaxIdleTimeSeconds));
  }
  if (brokerExpiredMillis <= 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "brokerExpiredMillis must be positive, got ", brokerExpiredMillis));
  }
  if (scanNotActiveBrokerIntervalMillis <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("scanNotActiveBrokerInterval must be positive, got ",
                     scanNotActiveBrokerIntervalMillis));
  }
  return absl::OkStatus();
}

}  // namespace cometmq::namesrv
