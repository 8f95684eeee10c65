#ifndef COMETMQ_STORE_STORE_CONFIG_H_
#define COMETMQ_STORE_STORE_CONFIG_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "cpp/common/config_binder.h"

namespace cometmq::store {

// Settings of the message store, named as in the reference system's
// MessageStoreConfig so existing broker.conf files keep working.
struct StoreConfig {
  std::string storePathRootDir;  // default: $HOME/store
  int64_t mappedFileSizeCommitLog = 1024LL * 1024 * 1024;
  int64_t mappedFileSizeConsumeQueue = 300000LL * 20;
  int32_t maxMessageSize = 4 * 1024 * 1024;
  std::string flushDiskType = "ASYNC_FLUSH";  // or SYNC_FLUSH
  std::string brokerRole = "ASYNC_MASTER";    // SYNC_MASTER, SLAVE
  int32_t flushIntervalCommitLog = 500;       // ms
  int32_t flushCommitLogLeastPages = 4;
  int32_t flushCommitLogThoroughInterval = 10000;  // ms
  int32_t flushIntervalConsumeQueue = 1000;        // ms
  int32_t syncFlushTimeout = 5000;                 // ms
  // SYNC_MASTER: how long a send waits for a slave before it is answered
  // FLUSH_SLAVE_TIMEOUT. Below the producer's default 3 s send timeout, so
  // a producer whose slave stalls gets that status rather than timing out
  // itself (RocketMQ's 3000 ties with that timeout and loses the race).
  int32_t slaveTimeout = 2000;               // ms
  std::string deleteWhen = "04";             // hours, ';'-separated
  int32_t fileReservedTime = 72;             // hours
  int32_t cleanResourceInterval = 10000;     // ms
  int32_t diskMaxUsedSpaceRatio = 75;        // percent, as in the reference
  double diskSpaceWarningLevelRatio = 0.90;  // writes refused above this
  double diskSpaceCleanForciblyRatio = 0.85;
  bool cleanFileForciblyEnable = true;
  int32_t deleteFileBatchMax = 10;
  int32_t maxHashSlotNum = 5000000;
  int32_t maxIndexNum = 5000000 * 4;
  bool messageIndexEnable = true;
  int32_t maxRecoveryCommitlogFiles = 30;

  bool sync_flush() const { return flushDiskType == "SYNC_FLUSH"; }
  bool slave() const { return brokerRole == "SLAVE"; }
  bool sync_master() const { return brokerRole == "SYNC_MASTER"; }
  std::string CommitLogDir() const;
  std::string ConsumeQueueDir() const;
  std::string IndexDir() const;
  std::string CheckpointPath() const;
  std::string AbortPath() const;
  std::string LockPath() const;

  void Bind(ConfigBinder* binder);
  // InvalidArgument naming the key for a value the store cannot run with
  // (a zero index slot count divides by zero at the first message, a zero
  // interval spins a thread). deleteWhen is checked by ParseDeleteWhen.
  absl::Status Validate() const;
};

}  // namespace cometmq::store

#endif  // COMETMQ_STORE_STORE_CONFIG_H_
