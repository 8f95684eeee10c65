#ifndef COMETMQ_NAMESRV_NAMESRV_CONFIG_H_
#define COMETMQ_NAMESRV_NAMESRV_CONFIG_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "cpp/common/config_binder.h"

namespace cometmq::namesrv {

// NameServer settings. Keys are RocketMQ's (NamesrvConfig and
// NettyServerConfig) where RocketMQ has one, so existing namesrv.conf files
// and habits carry over.
struct NamesrvConfig {
  int32_t listenPort = 9876;
  std::string bindAddress = "0.0.0.0";
  int32_t serverSelectorThreads =
      2;  // I/O threads; the work per request is tiny
  // A connection with nothing read or written for this long is closed,
  // also one whose peer stops reading our answers; 0 never closes.
  int32_t serverChannelMaxIdleTimeSeconds = 120;
  // RocketMQ hard-codes this (DEFAULT_BROKER_CHANNEL_EXPIRED_TIME); it is a
  // key here so tests can expire brokers quickly.
  int64_t brokerExpiredMillis = 120000;
  int64_t scanNotActiveBrokerIntervalMillis = 10000;
  std::string logDir = DefaultLogDir();

  // $HOME/logs/cometmq, or ./logs/cometmq without $HOME.
  static std::string DefaultLogDir();

  void Bind(ConfigBinder* binder);
  // InvalidArgument naming the key for values no NameServer can run with.
  absl::Status Validate() const;

  absl::Duration broker_expiry() const {
    return absl::Milliseconds(brokerExpiredMillis);
  }
  absl::Duration scan_interval() const {
    return absl::Milliseconds(scanNotActiveBrokerIntervalMillis);
  }
};

}  // namespace cometmq::namesrv

#endif  // COMETMQ_NAMESRV_NAMESRV_CONFIG_H_
