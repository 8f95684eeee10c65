#ifndef COMETMQ_BROKER_REAL_QUEUE_H_
#define COMETMQ_BROKER_REAL_QUEUE_H_

#include <cstdint>
#include <initializer_list>
#include <map>
#include <string>

#include "absl/strings/string_view.h"
#include "cpp/common/message_record.h"

namespace cometmq::broker {

// Parking a message on an internal queue and putting it back later, shared by
// delayed delivery (SCHEDULE_TOPIC_XXXX) and transactional halves
// (RMQ_SYS_TRANS_HALF_TOPIC), as RocketMQ does for both.

// Moves `message` to `system_topic`/`queue_id`, keeping its topic and queue
// in REAL_TOPIC / REAL_QID and adding `extra` to its properties.
void ParkOnSystemQueue(absl::string_view system_topic, int32_t queue_id,
                       const std::map<std::string, std::string>& extra,
                       MessageToStore* message);

// The message a parked record becomes: its real topic and queue, REAL_*,
// the record's CRC property and `drop` removed from its properties, everything
// else (body, flag, sys_flag, born timestamp and host, reconsume times,
// prepared offset, other properties) kept. False when the record has no
// REAL_TOPIC.
bool RestoreRealQueue(const RecordView& record,
                      std::initializer_list<absl::string_view> drop,
                      MessageToStore* out);

// A stored record copied as a message to append again, unchanged but for the
// properties (CRC property removed) and what the store assigns.
MessageToStore CopyRecord(const RecordView& record);

}  // namespace cometmq::broker

#endif  // COMETMQ_BROKER_REAL_QUEUE_H_
