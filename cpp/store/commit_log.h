#ifndef COMETMQ_STORE_COMMIT_LOG_H_
#define COMETMQ_STORE_COMMIT_LOG_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "cpp/common/message_record.h"
#include "cpp/store/mapped_file_queue.h"
#include "cpp/store/put_result.h"
#include "cpp/store/topic_queue_map.h"

namespace cometmq::store {

// A record, or a run of records, still inside its mapped file. Holding the
// slice keeps the file mapped even if retention deletes it meanwhile.
struct RecordSlice {
  std::shared_ptr<MappedFile> file;
  const char* data = nullptr;
  int32_t size = 0;
  absl::string_view bytes() const {
    return absl::string_view(data, static_cast<size_t>(size));
  }
};

// The single append-only log all topics share. Appends are serialized by one
// lock and write records straight into the mapped segment; each message gets
// the next offset of its topic-queue. A batch is all or nothing and never
// spans two segments. Nothing here flushes: see FlushService.
class CommitLog {
 public:
  using Clock = std::function<int64_t()>;  // milliseconds since the epoch

  // With `write_through`, records are written with pwrite instead of stores
  // into the mapping. Under SYNC_FLUSH every group commit writes back the
  // page being filled, which write-protects it, so the next store into the
  // mapping takes a page fault; pwrite never does.
  CommitLog(std::string dir, int64_t file_size, int32_t max_message_size,
            uint32_t store_ip, uint32_t store_port, Clock clock,
            bool write_through);

  absl::Status Load();

  // Finds the end of the valid log, scanning segments from `scan_from`
  // (rounded down to its segment), validating each record, and cuts the log
  // there. `on_record` sees each valid record at or after `dispatch_from`.
  // With `zero_tail` the bytes past the end are zeroed first (after a crash).
  absl::StatusOr<int64_t> Recover(
      int64_t scan_from, int64_t dispatch_from, bool zero_tail,
      const std::function<void(const RecordView&)>& on_record);

  // Appends the messages (one, or a batch for one topic-queue).
  PutResult Append(const std::vector<MessageToStore>& messages);

  // The record at `offset` of `size` bytes, if written.
  bool Read(int64_t offset, int32_t size, RecordSlice* out) const;

  // Where the written bytes before `offset` end: `offset` itself, except at
  // a segment boundary, where it is the end of the previous segment's
  // closing blank (the padding after it was never written); -1 when that
  // is not known.
  int64_t WrittenEndBefore(int64_t offset) const;
  // The record at `offset`, its size read from the log.
  bool ReadRecordAt(int64_t offset, RecordSlice* out) const;

  // Valid bytes from `offset` to the end of its segment's written part
  // (used by the dispatcher and replication).
  bool ReadFrom(int64_t offset, RecordSlice* out) const;
  // Replication, master side: whole records (or one end-of-segment blank)
  // from `offset`, about `max_bytes` but at least one record, never past the
  // end of `offset`'s segment. False when nothing is written there yet.
  bool ReadForReplica(int64_t offset, int64_t max_bytes,
                      RecordSlice* out) const;
  // Replication, slave side: appends the master's bytes at `offset`, which
  // must be this log's end (or, for an empty log, any segment-aligned or
  // record offset the master starts from). `bytes` must be whole records,
  // each CRC-valid and stamped with its own offset, optionally ending in the
  // segment's blank; nothing is written unless all of it is. Returns the new
  // end.
  absl::StatusOr<int64_t> AppendReplica(int64_t offset,
                                        absl::string_view bytes);
  // Number of records in [from, to) (both record boundaries), at most
  // `limit`; walks the record headers, for replication lag in messages.
  int64_t CountRecords(int64_t from, int64_t to, int64_t limit) const;
  // Start of the segment after the one holding `offset`.
  int64_t RollNextFile(int64_t offset) const;

  int64_t MinOffset() const { return files_.MinOffset(); }
  int64_t MaxOffset() const { return files_.MaxOffset(); }
  MappedFileQueue& files() { return files_; }
  const MappedFileQueue& files() const { return files_; }

  // Next queue offset per topic-queue; restored from the consume queues.
  void SetNextQueueOffset(absl::string_view topic, int32_t queue_id,
                          int64_t next);
  int64_t NextQueueOffset(absl::string_view topic, int32_t queue_id) const;
  void RemoveTopic(absl::string_view topic);

 private:
  PutResult Refuse(PutStatus status, std::string error) const;
  // Writes `bytes` at `pos` of `file`, through the mapping or with pwrite.
  absl::Status Write(MappedFile& file, int64_t pos, absl::string_view bytes)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  MappedFileQueue files_;
  const int32_t max_message_size_;
  const uint32_t store_ip_;
  const uint32_t store_port_;
  const Clock clock_;
  const bool write_through_;

  mutable absl::Mutex mu_;  // the append lock
  TopicQueueMap<int64_t> queue_offsets_ ABSL_GUARDED_BY(mu_);
  std::string scratch_ ABSL_GUARDED_BY(mu_);  // write_through encoding buffer
};

}  // namespace cometmq::store

#endif  // COMETMQ_STORE_COMMIT_LOG_H_
