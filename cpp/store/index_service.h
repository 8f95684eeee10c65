#ifndef COMETMQ_STORE_INDEX_SERVICE_H_
#define COMETMQ_STORE_INDEX_SERVICE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "cpp/common/message_record.h"
#include "cpp/store/index_file.h"

namespace cometmq::store {

// The store's IndexFiles, oldest first, named by creation time
// (yyyyMMddHHmmssSSS). Indexes `topic#key` for each key in a record's KEYS
// property and `topic#uniqKey`; a full file is followed by a new one.
class IndexService {
 public:
  IndexService(std::string dir, int32_t slot_count, int32_t max_entries);

  absl::Status Load();
  absl::Status Build(const RecordView& record);
  // Commit log offsets of messages with `key` in `topic` stored within
  // [begin_ms, end_ms], newest first, without duplicates.
  std::vector<int64_t> Query(absl::string_view topic, absl::string_view key,
                             size_t max, int64_t begin_ms,
                             int64_t end_ms) const;
  absl::Status Flush();
  // Deletes files whose entries all point below `commit_log_min`, also
  // those set aside at Load() for another size.
  int DeleteBelow(int64_t commit_log_min);

 private:
  absl::StatusOr<IndexFile*> Writable(int64_t timestamp_ms)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void SetAsideOtherSize(const std::string& path)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Indexes `record` under "topic#key".
  absl::Status PutKey(const RecordView& record, absl::string_view key)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // A file written with another maxHashSlotNum/maxIndexNum: not searched
  // (its layout is not known), kept until retention passes its entries.
  struct OtherSizeFile {
    std::string path;
    int64_t end_physical_offset;
  };

  const std::string dir_;
  const int32_t slot_count_;
  const int32_t max_entries_;
  mutable absl::Mutex mu_;
  std::vector<std::unique_ptr<IndexFile>> files_ ABSL_GUARDED_BY(mu_);
  std::vector<OtherSizeFile> other_size_ ABSL_GUARDED_BY(mu_);
  std::string key_ ABSL_GUARDED_BY(mu_);  // reused: one key per record or more
};

}  // namespace cometmq::store

#endif  // COMETMQ_STORE_INDEX_SERVICE_H_
