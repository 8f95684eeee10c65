#include "cpp/store/store_config.h"

#include <cstdlib>

#include "absl/strings/str_cat.h"

namespace cometmq::store {
namespace {

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

}  // namespace cometmq::store
