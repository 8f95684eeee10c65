#ifndef COMETMQ_STORE_STORE_TEST_UTIL_H_
#define COMETMQ_STORE_STORE_TEST_UTIL_H_

#include <string>

#include "cpp/common/message_record.h"
#include "cpp/store/store_config.h"

namespace cometmq::store {

// A fresh empty directory under the test's temporary directory.
std::string MakeTempDir(const std::string& name);

// A store config with tiny files so rollover and retention happen in tests.
// Its disk thresholds sit near 100%, so a host disk that is 75-90% used
// neither deletes a test's segments nor refuses its writes; tests that fake
// the disk ratio put the defaults back with DefaultDiskThresholds.
StoreConfig SmallStoreConfig(const std::string& root);

// The StoreConfig defaults for diskMaxUsedSpaceRatio,
// diskSpaceCleanForciblyRatio and diskSpaceWarningLevelRatio.
void DefaultDiskThresholds(StoreConfig* config);

MessageToStore MakeMessage(const std::string& topic, int32_t queue_id,
                           const std::string& body,
                           const std::string& tags = "",
                           const std::string& keys = "");

}  // namespace cometmq::store

#endif  // COMETMQ_STORE_STORE_TEST_UTIL_H_
