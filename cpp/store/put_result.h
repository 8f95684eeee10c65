#ifndef COMETMQ_STORE_PUT_RESULT_H_
#define COMETMQ_STORE_PUT_RESULT_H_

#include <cstdint>
#include <string>
#include <vector>

namespace cometmq::store {

enum class PutStatus {
  kOk,
  kFlushDiskTimeout,
  kFlushSlaveTimeout,
  kSlaveNotAvailable,
  kServiceNotAvailable,  // disk full, shutting down, slave role
  kMessageIllegal,       // too large, bad topic, properties too long
  kUnknownError,
};

const char* PutStatusName(PutStatus status);

// True for the statuses that still mean "appended" (a flush or replica wait
// timed out, but the record is in the log).
inline bool PutStored(PutStatus status) {
  return status == PutStatus::kOk || status == PutStatus::kFlushDiskTimeout ||
         status == PutStatus::kFlushSlaveTimeout ||
         status == PutStatus::kSlaveNotAvailable;
}

// Outcome of appending one message or one batch.
struct PutResult {
  PutStatus status = PutStatus::kUnknownError;
  std::string error;             // why, when status is not kOk
  int64_t physical_offset = -1;  // of the first record
  int64_t end_offset = -1;       // one past the last record's byte
  int32_t size = 0;              // bytes of all records
  int64_t queue_offset = -1;     // of the first message
  int32_t message_count = 0;
  int64_t store_timestamp = 0;
  std::vector<std::string> offset_msg_ids;  // one per message

  bool ok() const { return status == PutStatus::kOk; }
};

}  // namespace cometmq::store

#endif  // COMETMQ_STORE_PUT_RESULT_H_
