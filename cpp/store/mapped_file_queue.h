#ifndef COMETMQ_STORE_MAPPED_FILE_QUEUE_H_
#define COMETMQ_STORE_MAPPED_FILE_QUEUE_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "cpp/store/mapped_file.h"

namespace cometmq::store {

// A log made of equal-size MappedFiles in one directory, addressed by a
// global byte offset. Files are contiguous: file i starts at
// first_start + i * file_size. Appending is done by one writer on the last
// file; lookups may run concurrently from any thread.
class MappedFileQueue {
 public:
  MappedFileQueue(std::string dir, int64_t file_size);

  // Opens the files found in the directory (creating the directory). Each
  // file's write position is set to its size; recovery sets the real end.
  absl::Status Load();

  // The file to append at: the last one, or a new one when there is none
  // (starting at `start_if_empty`) or the last is full.
  absl::StatusOr<std::shared_ptr<MappedFile>> LastFileForWrite(
      int64_t start_if_empty);
  std::shared_ptr<MappedFile> LastFile() const;
  std::shared_ptr<MappedFile> FirstFile() const;
  // The file holding byte `offset`, or null.
  std::shared_ptr<MappedFile> FindByOffset(int64_t offset) const;
  std::vector<std::shared_ptr<MappedFile>> Files() const;

  int64_t file_size() const { return file_size_; }
  const std::string& dir() const { return dir_; }
  // First byte still present; 0 when empty.
  int64_t MinOffset() const;
  // One past the last byte written; 0 when empty.
  int64_t MaxOffset() const;
  int64_t flushed_where() const { return flushed_where_.load(); }
  void set_flushed_where(int64_t v) { flushed_where_.store(v); }

  // Flushes from flushed_where() on (see MappedFile::Flush); returns it.
  absl::StatusOr<int64_t> Flush(int least_pages);

  // Makes `offset` the end of the log: later files are deleted and the file
  // holding it gets that write position. With `zero_tail` (after a crash)
  // stale bytes past the end are zeroed, so they can never pass for records.
  absl::Status TruncateTo(int64_t offset, bool zero_tail);

  // Unlinks every file (the topic was deleted).
  void DestroyAll();

  // Deletes files from the front while `expired(file)` is true for them,
  // never the last file, at most `max_files`. Returns how many went.
  int DeleteFromFront(const std::function<bool(const MappedFile&)>& expired,
                      int max_files);

 private:
  const std::string dir_;
  const int64_t file_size_;
  std::atomic<int64_t> flushed_where_{0};
  mutable absl::Mutex mu_;
  std::vector<std::shared_ptr<MappedFile>> files_ ABSL_GUARDED_BY(mu_);
};

}  // namespace cometmq::store

#endif  // COMETMQ_STORE_MAPPED_FILE_QUEUE_H_
