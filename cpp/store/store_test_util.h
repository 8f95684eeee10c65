#ifndef COMETMQ_STORE_STORE_TEST_UTIL_H_
#define COMETMQ_STORE_STORE_TEST_UTIL_H_

#include <string>

#include "cpp/common/message_record.h"
#include "cpp/store/store_config.h"

namespace cometmq::store {

// A fresh empty directory under the test's temporary directory.
std::string MakeTempDir(const std::string& name);

// A store config with tiny files so rollover and retention happen in tests.
StoreConfig SmallStoreConfig(const std::string& root);

MessageToStore MakeMessage(const std::string& topic, int32_t queue_id,
                           const std::string& body,
                           const std::string& tags = "",
                           const std::string& keys = "");

}  // namespace cometmq::store

#endif  // COMETMQ_STORE_STORE_TEST_UTIL_H_
