#include "cpp/store/store_test_util.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <map>

#include "absl/strings/str_cat.h"

namespace cometmq::store {

std::string MakeTempDir(const std::string& name) {
  const char* base = std::getenv("TEST_TMPDIR");
  static int counter = 0;
  std::string dir = absl::StrCat(base ? base : "/tmp", "/", name, "-",
                                 ::getpid(), "-", counter++);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

StoreConfig SmallStoreConfig(const std::string& root) {
  StoreConfig c;
  c.storePathRootDir = root;
  c.mappedFileSizeCommitLog = 64 * 1024;
  c.mappedFileSizeConsumeQueue = 20 * 100;
  c.maxMessageSize = 16 * 1024;
  c.maxHashSlotNum = 1000;
  c.maxIndexNum = 4000;
  c.flushIntervalCommitLog = 50;
  c.flushIntervalConsumeQueue = 50;
  c.diskMaxUsedSpaceRatio = 99;
  c.diskSpaceCleanForciblyRatio = 0.99;
  c.diskSpaceWarningLevelRatio = 0.995;
  return c;
}

void DefaultDiskThresholds(StoreConfig* config) {
  const StoreConfig defaults;
  config->diskMaxUsedSpaceRatio = defaults.diskMaxUsedSpaceRatio;
  config->diskSpaceCleanForciblyRatio = defaults.diskSpaceCleanForciblyRatio;
  config->diskSpaceWarningLevelRatio = defaults.diskSpaceWarningLevelRatio;
}

MessageToStore MakeMessage(const std::string& topic, int32_t queue_id,
                           const std::string& body, const std::string& tags,
                           const std::string& keys) {
  MessageToStore m;
  m.topic = topic;
  m.queue_id = queue_id;
  m.body = body;
  m.born_timestamp = 1700000000000;
  m.born_ip = 0x7f000001;
  m.born_port = 5555;
  std::map<std::string, std::string> props;
  if (!tags.empty()) props[std::string(kPropertyTags)] = tags;
  if (!keys.empty()) props[std::string(kPropertyKeys)] = keys;
  m.properties = EncodeProperties(props);
  return m;
}

}  // namespace cometmq::store
