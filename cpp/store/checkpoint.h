#ifndef COMETMQ_STORE_CHECKPOINT_H_
#define COMETMQ_STORE_CHECKPOINT_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"

namespace cometmq::store {

// The store's checkpoint file: one 4 KiB page of big-endian longs. The first
// five are the reference system's (physic/logics/index message timestamps,
// master flushed offset, confirm offset); CometMQ adds the commit log offset
// below which every consume queue and index entry is known to be on disk,
// which is where crash recovery starts re-dispatching. Save() is durable
// (written and fdatasync'ed) before it returns.
struct Checkpoint {
  int64_t physic_msg_timestamp = 0;
  int64_t logics_msg_timestamp = 0;
  int64_t index_msg_timestamp = 0;
  int64_t master_flushed_offset = 0;
  int64_t confirm_phy_offset = 0;
  int64_t dispatch_flushed_offset = 0;

  // Missing file: all zeros.
  static absl::StatusOr<Checkpoint> Load(const std::string& path);
  absl::Status Save(const std::string& path) const;
};

}  // namespace cometmq::store

#endif  // COMETMQ_STORE_CHECKPOINT_H_
