#ifndef COMETMQ_CLIENT_MESSAGE_H_
#define COMETMQ_CLIENT_MESSAGE_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace cometmq::client {

// What a producer sends. Properties hold user properties; TAGS, KEYS, DELAY
// and UNIQ_KEY are set from the fields by the producer.
struct Message {
  std::string topic;
  std::string body;
  std::string tags;
  std::vector<std::string> keys;
  std::map<std::string, std::string> properties;
  int32_t delay_level = 0;  // 0: none; 1..18 the broker's delay levels
};

// A message as stored and delivered: the sent message plus what the producer
// and broker assigned. `body` is always uncompressed.
struct MessageExt : Message {
  std::string msg_id;         // the producer's UNIQ_KEY
  std::string offset_msg_id;  // locates the record on its broker
  std::string broker_name;
  int32_t queue_id = 0;
  int64_t queue_offset = 0;
  int64_t commit_log_offset = 0;
  int32_t reconsume_times = 0;
  int64_t born_timestamp = 0;
  int64_t store_timestamp = 0;
  std::string born_host;   // "ip:port" of the producer's connection
  std::string store_host;  // "ip:port" of the broker that stored it
  int32_t sys_flag = 0;
};

// Decodes stored records laid back to back (a pull, view or query answer).
// Bodies flagged kSysFlagCompressed are inflated. DataLoss when a record is
// corrupt or a compressed body does not inflate.
absl::StatusOr<std::vector<MessageExt>> DecodeMessages(
    absl::string_view body, const std::string& broker_name);

}  // namespace cometmq::client

#endif  // COMETMQ_CLIENT_MESSAGE_H_
