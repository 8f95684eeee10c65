#ifndef COMETMQ_BROKER_BROKER_CONFIG_H_
#define COMETMQ_BROKER_BROKER_CONFIG_H_

#include <atomic>
#include <cstdint>
#include <map>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "cpp/broker/delay_levels.h"
#include "cpp/common/config_binder.h"
#include "cpp/store/store_config.h"

namespace cometmq::broker {

// A setting that may change while the broker runs (updateBrokerConfig).
// Guarantee: reads and writes are atomic, so the threads that read it need
// no lock and never see a torn or stale-forever value; a copy holds the
// value of the moment it was made. Relaxed order: such a setting is one
// value on its own, and nothing else is published through it.
template <typename T>
class LiveSetting {
 public:
  LiveSetting(T value = T{}) : value_(value) {}  // NOLINT: reads as a T field
  LiveSetting(const LiveSetting& other) : value_(other.load()) {}
  LiveSetting& operator=(const LiveSetting& other) {
    store(other.load());
    return *this;
  }
  T load() const { return value_.load(std::memory_order_relaxed); }
  void store(T value) { value_.store(value, std::memory_order_relaxed); }

 private:
  std::atomic<T> value_;
};

// Broker settings. Keys are RocketMQ's BrokerConfig/NettyServerConfig names so
// an existing broker.conf keeps working; the store's settings are bound by the
// same binder, so one file configures both. Guarantee: after Bind() and a
// successful Validate(), every field holds a value the broker can run with.
// A running broker shares its config read-only between threads; only the
// LiveSetting fields (the keys of kRuntimeKeys, runtime_config.h) change
// after it started.
struct BrokerConfig {
  std::string brokerClusterName = "DefaultCluster";
  std::string brokerName = "broker-a";
  int64_t brokerId = 0;     // 0 = master; a negative value is refused at parse
  std::string namesrvAddr;  // "host:port;host:port"
  int32_t listenPort = 10911;
  std::string bindAddress = "0.0.0.0";
  std::string brokerIP1 = DefaultBrokerIp();
  int32_t haListenPort = 0;  // <= 0: listenPort + 1
  bool autoCreateTopicEnable = true;
  bool autoCreateSubscriptionGroup = true;
  int32_t defaultTopicQueueNums = 4;
  int32_t sendMessageThreadPoolNums = 1;
  int32_t pullMessageThreadPoolNums = 4;
  int32_t serverSelectorThreads = 2;
  // A connection with nothing read or written for this long is closed,
  // also one whose peer stops reading our answers; 0 never closes.
  int32_t serverChannelMaxIdleTimeSeconds = 120;
  int64_t registerBrokerIntervalMillis = 30000;
  // Topics per registration request: a larger topic table is sent to each
  // NameServer in parts, which it merges (RocketMQ 5's
  // splitRegistrationSize; always on here, as an unsplit table over the
  // 16 MiB frame limit never registers).
  int32_t splitRegistrationSize = 800;
  bool longPollingEnable = true;
  // SQL92 subscriptions (MessageSelector.bySql): off by default, as in
  // RocketMQ; consumers asking for one are refused while it is off.
  bool enablePropertyFilter = false;
  int64_t shortPollingTimeMills = 1000;
  // RocketMQ hard-codes the client expiry (120 s); a key here so tests can
  // expire clients quickly.
  int64_t clientChannelExpiredMillis = 120000;
  // How long an orderly consumer's queue lock lives without renewal
  // (RocketMQ's rocketmq.broker.rebalance.lockMaxLiveTime).
  int64_t rebalanceLockMaxLiveTime = 60000;
  int64_t flushConsumerOffsetInterval = 5000;
  std::string logDir = DefaultLogDir();
  // Permission bits READ 4 | WRITE 2; changes at run time (operators set 4,
  // read-only, to drain a broker, then 6 again).
  LiveSetting<int32_t> brokerPermission{6};
  // Delay levels, e.g. "1s 5s 1m"; parsed into delay_levels when bound.
  std::string messageDelayLevel = std::string(kDefaultMessageDelayLevel);
  DelayLevels delay_levels = DelayLevels::Default();
  int64_t flushDelayOffsetInterval = 10000;
  // Transactions (RocketMQ's names and defaults): a half is first checked
  // transactionTimeOut ms after it was born, checks run every
  // transactionCheckInterval ms, and after transactionCheckMax checks
  // without an answer the half is discarded.
  int64_t transactionTimeOut = 6000;
  int64_t transactionCheckInterval = 60000;
  int32_t transactionCheckMax = 15;

  // RocketMQ keys for what CometMQ does not do. Ignoring them as unknown
  // would run a broker other than the one configured, so a value that
  // asks for more is refused: aclEnable=true (there is no ACL; the broker
  // would be open to every client) and a storePathCommitLog other than
  // storePathRootDir/commitlog (the messages would land on another disk).
  bool aclEnable = false;
  std::string storePathCommitLog;

  // Replication. A slave finds its master's HA address through the
  // NameServers unless haMasterAddress names it.
  std::string haMasterAddress;
  int64_t haMaxGapNotInSync = int64_t{256} << 20;  // bytes
  int64_t haHousekeepingInterval = 20000;          // ms: slave expiry
  int64_t haTransferBatchSize = 1 << 20;           // bytes per answer
  int64_t haIdleWaitMillis = 1000;  // a slave's idle poll / keep-alive
  // How often a slave copies topics and consumer offsets from its master.
  int64_t slaveSyncIntervalMillis = 10000;
  // Whether a master may tell consumers to read old data from a slave.
  bool slaveReadEnable = false;
  // Data further behind the end than this percent of RAM is "not in
  // memory": with slaveReadEnable the master suggests the slave for it.
  int32_t accessMessageInMemoryMaxRatio = 40;

  store::StoreConfig store;

  // The file the broker was started with (-c), where updateBrokerConfig
  // writes its changes; empty: none, changes last until the broker stops.
  // Not a key.
  std::string configFilePath;

  // First non-loopback IPv4 address of this host, else 127.0.0.1.
  static std::string DefaultBrokerIp();
  // $HOME/logs/cometmq, or ./logs/cometmq without $HOME.
  static std::string DefaultLogDir();

  // Binds the broker's keys and the store's.
  void Bind(ConfigBinder* binder);
  // Every key Bind() knows with this config's value of it.
  std::map<std::string, std::string> Values() const;
  // InvalidArgument naming the key for values no broker can run with.
  absl::Status Validate() const;

  int32_t ha_port() const {
    return haListenPort > 0 ? haListenPort : listenPort + 1;
  }
  bool slave() const { return store.slave(); }
  std::string TopicsPath() const;
  std::string SubscriptionGroupsPath() const;
  std::string ConsumerOffsetsPath() const;
  std::string DelayOffsetPath() const;
};

}  // namespace cometmq::broker

#endif  // COMETMQ_BROKER_BROKER_CONFIG_H_
