#ifndef COMETMQ_STORE_INDEX_FILE_H_
#define COMETMQ_STORE_INDEX_FILE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "cpp/store/mapped_file.h"

namespace cometmq::store {

// A hash index from message keys to commit log offsets, in the reference
// system's layout: a 40-byte header (begin/end timestamp, begin/end physical
// offset, used slot count, entry count), `slot_count` 4-byte slots holding the
// newest entry of each hash bucket, then 20-byte entries (key hash 4, physical
// offset 8, seconds since the begin timestamp 4, previous entry in the
// bucket 4). Entry 0 is never used. One writer (the dispatcher); queries may
// run concurrently and see only entries published before they started.
class IndexFile {
 public:
  static absl::StatusOr<std::unique_ptr<IndexFile>> Open(
      const std::string& path, int32_t slot_count, int32_t max_entries);

  static int64_t FileSize(int32_t slot_count, int32_t max_entries);
  // The header's end physical offset of the index file at `path`, whatever
  // its size (read, not mapped).
  static absl::StatusOr<int64_t> ReadEndPhysicalOffset(const std::string& path);

  // False when the file is full.
  bool Put(absl::string_view key, int64_t physical_offset,
           int64_t store_timestamp_ms);
  // Offsets of entries for `key` stored within [begin_ms, end_ms], newest
  // first, at most `max`.
  void Query(absl::string_view key, int64_t begin_ms, int64_t end_ms,
             size_t max, std::vector<int64_t>* offsets) const;

  bool full() const;
  int64_t begin_timestamp() const;
  int64_t end_timestamp() const;
  int64_t end_physical_offset() const;
  int32_t entry_count() const;
  absl::Status Flush() { return file_->SyncAll(); }
  const std::string& path() const { return file_->path(); }
  void Unlink() { file_->Unlink(); }

 private:
  IndexFile(std::shared_ptr<MappedFile> file, int32_t slot_count,
            int32_t max_entries);

  std::shared_ptr<MappedFile> file_;
  const int32_t slot_count_;
  const int32_t max_entries_;
};

}  // namespace cometmq::store

#endif  // COMETMQ_STORE_INDEX_FILE_H_
