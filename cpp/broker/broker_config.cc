#include "cpp/broker/broker_config.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>

#include <cstdlib>
#include <filesystem>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "cpp/common/namesrv_addr.h"
#include "cpp/store/retention.h"

namespace cometmq::broker {
namespace {

// "a//b/" and "a/b" are one directory.
bool SamePath(absl::string_view a, absl::string_view b) {
  auto normal = [](absl::string_view p) {
    std::string s =
        std::filesystem::path(std::string(p)).lexically_normal().string();
    while (s.size() > 1 && s.back() == '/') s.pop_back();
    return s;
  };
  return normal(a) == normal(b);
}

}  // namespace

std::string BrokerConfig::DefaultBrokerIp() {
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return "127.0.0.1";
  std::string found = "127.0.0.1";
  for (ifaddrs* it = list; it != nullptr; it = it->ifa_next) {
    if (it->ifa_addr == nullptr || it->ifa_addr->sa_family != AF_INET) {
      continue;
    }
    const auto* addr = reinterpret_cast<const sockaddr_in*>(it->ifa_addr);
    if ((ntohl(addr->sin_addr.s_addr) >> 24) == 127) continue;
    char text[INET_ADDRSTRLEN] = {};
    if (inet_ntop(AF_INET, &addr->sin_addr, text, sizeof(text)) != nullptr) {
      found = text;
      break;
    }
  }
  freeifaddrs(list);
  return found;
}

std::string BrokerConfig::DefaultLogDir() {
  const char* home = std::getenv("HOME");
  return absl::StrCat(home != nullptr && *home != '\0' ? home : ".",
                      "/logs/cometmq");
}

std::map<std::string, std::string> BrokerConfig::Values() const {
  // Bind() takes the fields it may write; a copy keeps this one const.
  BrokerConfig copy = *this;
  ConfigBinder binder;
  copy.Bind(&binder);
  return binder.Values();
}

void BrokerConfig::Bind(ConfigBinder* b) {
  b->Bind("brokerClusterName", &brokerClusterName);
  b->Bind("brokerName", &brokerName);
  // Negative ids are DLedger/controller mode in RocketMQ, which CometMQ does
  // not have; refusing them at parse time names the file and line.
  b->BindCustom(
      "brokerId",
      [this](absl::string_view v) {
        int64_t id = 0;
        if (!absl::SimpleAtoi(v, &id)) {
          return absl::InvalidArgumentError(
              absl::StrCat("'", v, "' is not an integer"));
        }
        if (id < 0) {
          return absl::InvalidArgumentError(
              absl::StrCat("'", v,
                           "' is negative; 0 is the master, >0 a "
                           "slave"));
        }
        brokerId = id;
        return absl::OkStatus();
      },
      [this] { return absl::StrCat(brokerId); });
  b->Bind("namesrvAddr", &namesrvAddr);
  b->Bind("listenPort", &listenPort);
  b->Bind("bindAddress", &bindAddress);
  b->Bind("brokerIP1", &brokerIP1);
  b->Bind("haListenPort", &haListenPort);
  b->Bind("autoCreateTopicEnable", &autoCreateTopicEnable);
  b->Bind("autoCreateSubscriptionGroup", &autoCreateSubscriptionGroup);
  b->Bind("defaultTopicQueueNums", &defaultTopicQueueNums);
  b->Bind("sendMessageThreadPoolNums", &sendMessageThreadPoolNums);
  b->Bind("pullMessageThreadPoolNums", &pullMessageThreadPoolNums);
  b->Bind("serverSelectorThreads", &serverSelectorThreads);
  b->Bind("serverChannelMaxIdleTimeSeconds", &serverChannelMaxIdleTimeSeconds);
  b->Bind("registerBrokerIntervalMillis", &registerBrokerIntervalMillis);
  b->Alias("registerNameServerPeriod", "registerBrokerIntervalMillis");
  b->Bind("splitRegistrationSize", &splitRegistrationSize);
  b->Bind("longPollingEnable", &longPollingEnable);
  b->Bind("enablePropertyFilter", &enablePropertyFilter);
  b->Bind("shortPollingTimeMills", &shortPollingTimeMills);
  b->Bind("clientChannelExpiredMillis", &clientChannelExpiredMillis);
  b->Bind("rebalanceLockMaxLiveTime", &rebalanceLockMaxLiveTime);
  b->Bind("flushConsumerOffsetInterval", &flushConsumerOffsetInterval);
  b->Bind("logDir", &logDir);
  b->BindCustom(
      "brokerPermission",
      [this](absl::string_view v) {
        int32_t perm = 0;
        if (!absl::SimpleAtoi(v, &perm)) {
          return absl::InvalidArgumentError(
              absl::StrCat("'", v, "' is not a 32-bit integer"));
        }
        brokerPermission.store(perm);
        return absl::OkStatus();
      },
      [this] { return absl::StrCat(brokerPermission.load()); });
  b->BindCustom(
      "messageDelayLevel",
      [this](absl::string_view v) {
        absl::StatusOr<DelayLevels> levels = DelayLevels::Parse(v);
        if (!levels.ok()) return levels.status();
        messageDelayLevel = std::string(v);
        delay_levels = *std::move(levels);
        return absl::OkStatus();
      },
      [this] { return messageDelayLevel; });
  b->Bind("flushDelayOffsetInterval", &flushDelayOffsetInterval);
  b->BindCustom(
      "aclEnable",
      [this](absl::string_view v) {
        if (v == "false") {
          aclEnable = false;
          return absl::OkStatus();
        }
        if (v == "true") {
          return absl::InvalidArgumentError(
              "ACL is not implemented: with aclEnable=true this broker would "
              "serve every client unchecked; remove the key or set it false");
        }
        return absl::InvalidArgumentError(
            absl::StrCat("'", v, "' is not true or false"));
      },
      [this] { return aclEnable ? "true" : "false"; });
  b->Bind("storePathCommitLog", &storePathCommitLog);
  b->Bind("haMasterAddress", &haMasterAddress);
  b->Bind("haMaxGapNotInSync", &haMaxGapNotInSync);
  b->Bind("haHousekeepingInterval", &haHousekeepingInterval);
  b->Bind("haTransferBatchSize", &haTransferBatchSize);
  b->Bind("haIdleWaitMillis", &haIdleWaitMillis);
  b->Bind("slaveSyncIntervalMillis", &slaveSyncIntervalMillis);
  b->Bind("slaveReadEnable", &slaveReadEnable);
  b->Bind("accessMessageInMemoryMaxRatio", &accessMessageInMemoryMaxRatio);
  b->Bind("transactionTimeOut", &transactionTimeOut);
  b->Bind("transactionCheckInterval", &transactionCheckInterval);
  b->Bind("transactionCheckMax", &transactionCheckMax);
  store.Bind(b);
}

absl::Status BrokerConfig::Validate() const {
  auto bad = [](absl::string_view key, absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat(key, " ", why));
  };
  if (brokerName.empty()) return bad("brokerName", "must not be empty");
  if (brokerClusterName.empty()) {
    return bad("brokerClusterName", "must not be empty");
  }
  if (listenPort < 0 || listenPort > 65535) {
    return bad("listenPort",
               absl::StrCat("must be 0..65535, got ", listenPort));
  }
  if (haListenPort > 65535) {
    return bad("haListenPort",
               absl::StrCat("must be at most 65535, got ", haListenPort));
  }
  if (defaultTopicQueueNums < 1 || defaultTopicQueueNums > 1024) {
    return bad("defaultTopicQueueNums",
               absl::StrCat("must be 1..1024, got ", defaultTopicQueueNums));
  }
  if (sendMessageThreadPoolNums < 1) {
    return bad("sendMessageThreadPoolNums", "must be at least 1");
  }
  if (pullMessageThreadPoolNums < 1) {
    return bad("pullMessageThreadPoolNums", "must be at least 1");
  }
  if (serverSelectorThreads < 1) {
    return bad("serverSelectorThreads", "must be at least 1");
  }
  if (serverChannelMaxIdleTimeSeconds < 0) {
    return bad("serverChannelMaxIdleTimeSeconds", "must not be negative");
  }
  if (store.slave() && brokerId == 0) {
    return bad("brokerId",
               "must be greater than 0 for brokerRole=SLAVE (0 is the master)");
  }
  if (!store.slave() && brokerId != 0) {
    return bad("brokerId",
               absl::StrCat("must be 0 for brokerRole=", store.brokerRole,
                            " (a master); slaves use SLAVE"));
  }
  if (haTransferBatchSize < 4096) {
    return bad("haTransferBatchSize", "must be at least 4096");
  }
  if (haIdleWaitMillis <= 0 || haHousekeepingInterval <= 0 ||
      slaveSyncIntervalMillis <= 0) {
    return bad(
        "haIdleWaitMillis/haHousekeepingInterval/slaveSyncIntervalMillis",
        "must be positive");
  }
  if (accessMessageInMemoryMaxRatio < 0 ||
      accessMessageInMemoryMaxRatio > 100) {
    return bad("accessMessageInMemoryMaxRatio", "must be 0..100");
  }
  if (registerBrokerIntervalMillis <= 0) {
    return bad("registerBrokerIntervalMillis", "must be positive");
  }
  if (splitRegistrationSize <= 0) {
    return bad("splitRegistrationSize", "must be positive");
  }
  if (shortPollingTimeMills <= 0) {
    return bad("shortPollingTimeMills", "must be positive");
  }
  if (clientChannelExpiredMillis <= 0) {
    return bad("clientChannelExpiredMillis", "must be positive");
  }
  if (rebalanceLockMaxLiveTime <= 0) {
    return bad("rebalanceLockMaxLiveTime", "must be positive");
  }
  if (flushConsumerOffsetInterval <= 0) {
    return bad("flushConsumerOffsetInterval", "must be positive");
  }
  if (flushDelayOffsetInterval <= 0) {
    return bad("flushDelayOffsetInterval", "must be positive");
  }
  if (transactionTimeOut < 0) {
    return bad("transactionTimeOut", "must not be negative");
  }
  if (transactionCheckInterval <= 0) {
    return bad("transactionCheckInterval", "must be positive");
  }
  if (transactionCheckMax < 1) {
    return bad("transactionCheckMax", "must be at least 1");
  }
  if (const int32_t perm = brokerPermission.load(); perm < 0 || perm > 7) {
    return bad("brokerPermission",
               absl::StrCat("must be 0..7 (READ 4 | WRITE 2), got ", perm));
  }
  if (store.storePathRootDir.empty()) {
    return bad("storePathRootDir", "must not be empty");
  }
  if (!storePathCommitLog.empty() &&
      !SamePath(storePathCommitLog, store.CommitLogDir())) {
    return bad(
        "storePathCommitLog",
        absl::StrCat("'", storePathCommitLog,
                     "' is not supported: the commit log is always "
                     "storePathRootDir/commitlog (here ",
                     store.CommitLogDir(), "); set storePathRootDir instead"));
  }
  // Empty starts a NameServer inside the broker (see mqbroker).
  if (!namesrvAddr.empty()) {
    if (absl::Status s = ValidateNamesrvAddr(namesrvAddr); !s.ok()) return s;
  }
  if (absl::Status s = store.Validate(); !s.ok()) return s;
  if (absl::Status s = store::ParseDeleteWhen(store.deleteWhen).status();
      !s.ok()) {
    return s;
  }
  return absl::OkStatus();
}

std::string BrokerConfig::TopicsPath() const {
  return absl::StrCat(store.storePathRootDir, "/config/topics.json");
}
std::string BrokerConfig::SubscriptionGroupsPath() const {
  return absl::StrCat(store.storePathRootDir, "/config/subscriptionGroup.json");
}
std::string BrokerConfig::DelayOffsetPath() const {
  return absl::StrCat(store.storePathRootDir, "/config/delayOffset.json");
}
std::string BrokerConfig::ConsumerOffsetsPath() const {
  return absl::StrCat(store.storePathRootDir, "/config/consumerOffset.json");
}

}  // namespace cometmq::broker
