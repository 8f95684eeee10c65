#include "cpp/store/store_config.h"

#include <cstdlib>
#include <utility>

#include "absl/strings/str_cat.h"

namespace cometmq::store {
namespace {

absl::Status Bad(absl::string_view key, absl::string_view want,
                 absl::string_view got) {
  return absl::InvalidArgumentError(
      absl::StrCat(key, " must be ", want, ", got ", got));
}

std::string DefaultRoot() {
  const char* home = std::getenv("HOME");
  return absl::StrCat(home != nullptr ? home : ".", "/store");
}

}  // namespace

std::string StoreConfig::CommitLogDir() const {
  return absl::StrCat(storePathRootDir, "/commitlog");
}
std::string StoreConfig::ConsumeQueueDir() const {
  return absl::StrCat(storePathRootDir, "/consumequeue");
}
std::string StoreConfig::IndexDir() const {
  return absl::StrCat(storePathRootDir, "/index");
}
std::string StoreConfig::CheckpointPath() const {
  return absl::StrCat(storePathRootDir, "/checkpoint");
}
std::string StoreConfig::AbortPath() const {
  return absl::StrCat(storePathRootDir, "/abort");
}
std::string StoreConfig::LockPath() const {
  return absl::StrCat(storePathRootDir, "/lock");
}

void StoreConfig::Bind(ConfigBinder* b) {
  if (storePathRootDir.empty()) storePathRootDir = DefaultRoot();
  b->Bind("storePathRootDir", &storePathRootDir);
  b->Bind("mappedFileSizeCommitLog", &mappedFileSizeCommitLog);
  b->Alias("mapedFileSizeCommitLog", "mappedFileSizeCommitLog");
  b->Bind("mappedFileSizeConsumeQueue", &mappedFileSizeConsumeQueue);
  b->Alias("mapedFileSizeConsumeQueue", "mappedFileSizeConsumeQueue");
  b->Bind("maxMessageSize", &maxMessageSize);
  b->BindEnum("flushDiskType", &flushDiskType, {"ASYNC_FLUSH", "SYNC_FLUSH"});
  b->BindEnum("brokerRole", &brokerRole,
              {"ASYNC_MASTER", "SYNC_MASTER", "SLAVE"});
  b->Bind("flushIntervalCommitLog", &flushIntervalCommitLog);
  b->Bind("flushCommitLogLeastPages", &flushCommitLogLeastPages);
  b->Bind("flushCommitLogThoroughInterval", &flushCommitLogThoroughInterval);
  b->Bind("flushIntervalConsumeQueue", &flushIntervalConsumeQueue);
  b->Bind("syncFlushTimeout", &syncFlushTimeout);
  b->Bind("slaveTimeout", &slaveTimeout);
  b->Bind("deleteWhen", &deleteWhen);
  b->Bind("fileReservedTime", &fileReservedTime);
  b->Bind("cleanResourceInterval", &cleanResourceInterval);
  b->Bind("diskMaxUsedSpaceRatio", &diskMaxUsedSpaceRatio);
  b->Bind("diskSpaceWarningLevelRatio", &diskSpaceWarningLevelRatio);
  b->Bind("diskSpaceCleanForciblyRatio", &diskSpaceCleanForciblyRatio);
  b->Bind("cleanFileForciblyEnable", &cleanFileForciblyEnable);
  b->Bind("deleteFileBatchMax", &deleteFileBatchMax);
  b->Bind("maxHashSlotNum", &maxHashSlotNum);
  b->Bind("maxIndexNum", &maxIndexNum);
  b->Bind("messageIndexEnable", &messageIndexEnable);
  b->Bind("maxRecoveryCommitlogFiles", &maxRecoveryCommitlogFiles);
}

absl::Status StoreConfig::Validate() const {
  // A segment must hold at least a record header and the end-of-file blank.
  if (mappedFileSizeCommitLog < 4096) {
    return Bad("mappedFileSizeCommitLog", "at least 4096 bytes",
               absl::StrCat(mappedFileSizeCommitLog));
  }
  if (mappedFileSizeConsumeQueue < 20) {
    return Bad("mappedFileSizeConsumeQueue", "at least one 20-byte entry",
               absl::StrCat(mappedFileSizeConsumeQueue));
  }
  if (maxMessageSize <= 0) {
    return Bad("maxMessageSize", "positive", absl::StrCat(maxMessageSize));
  }
  const std::pair<const char*, int32_t> positive[] = {
      {"flushIntervalCommitLog", flushIntervalCommitLog},
      {"flushCommitLogThoroughInterval", flushCommitLogThoroughInterval},
      {"flushIntervalConsumeQueue", flushIntervalConsumeQueue},
      {"syncFlushTimeout", syncFlushTimeout},
      {"slaveTimeout", slaveTimeout},
      {"cleanResourceInterval", cleanResourceInterval},
      {"deleteFileBatchMax", deleteFileBatchMax},
      {"maxHashSlotNum", maxHashSlotNum},
      {"maxIndexNum", maxIndexNum},
      {"maxRecoveryCommitlogFiles", maxRecoveryCommitlogFiles},
  };
  for (const auto& [key, value] : positive) {
    if (value <= 0) return Bad(key, "positive", absl::StrCat(value));
  }
  if (flushCommitLogLeastPages < 0) {
    return Bad("flushCommitLogLeastPages", "0 or more",
               absl::StrCat(flushCommitLogLeastPages));
  }
  if (fileReservedTime < 0) {
    return Bad("fileReservedTime", "0 or more hours",
               absl::StrCat(fileReservedTime));
  }
  if (diskMaxUsedSpaceRatio < 1 || diskMaxUsedSpaceRatio > 100) {
    return Bad("diskMaxUsedSpaceRatio", "a percentage 1..100",
               absl::StrCat(diskMaxUsedSpaceRatio));
  }
  // Fractions of the disk, not percentages: 90 would never refuse a write.
  const std::pair<const char*, double> fractions[] = {
      {"diskSpaceWarningLevelRatio", diskSpaceWarningLevelRatio},
      {"diskSpaceCleanForciblyRatio", diskSpaceCleanForciblyRatio},
  };
  for (const auto& [key, value] : fractions) {
    if (!(value > 0 && value <= 1)) {
      return Bad(key, "a fraction of the disk in (0, 1]", absl::StrCat(value));
    }
  }
  return absl::OkStatus();
}

}  // namespace cometmq::store
