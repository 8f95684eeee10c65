#ifndef COMETMQ_STORE_MAPPED_FILE_H_
#define COMETMQ_STORE_MAPPED_FILE_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace cometmq::store {

// One fixed-size segment of a log, mapped into memory and named by the
// 20-digit offset of its first byte. Blocks are reserved with fallocate when
// the file is made, so a full disk is an error at creation, never a SIGBUS on
// a later write. One writer appends; readers see bytes below wrote_position()
// (published with release/acquire). Holders of a shared_ptr keep the mapping
// valid even after the file was unlinked.
class MappedFile {
 public:
  // Opens `path`, creating and reserving `size` bytes if it does not exist.
  static absl::StatusOr<std::shared_ptr<MappedFile>> Open(
      const std::string& path, int64_t start_offset, int64_t size);
  ~MappedFile();

  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  int64_t start_offset() const { return start_offset_; }
  int64_t size() const { return size_; }
  const std::string& path() const { return path_; }
  char* data() const { return data_; }

  int64_t wrote_position() const {
    return wrote_.load(std::memory_order_acquire);
  }
  void set_wrote_position(int64_t pos) {
    wrote_.store(pos, std::memory_order_release);
  }
  int64_t flushed_position() const {
    return flushed_.load(std::memory_order_acquire);
  }
  void set_flushed_position(int64_t pos) {
    flushed_.store(pos, std::memory_order_release);
  }
  // Where the bytes of a closed segment end: just past the head of the
  // blank record that closed it (the rest is padding, never written). -1
  // while open, or when it was closed before this process and recovery
  // did not scan it.
  int64_t data_end() const { return data_end_.load(std::memory_order_acquire); }
  void set_data_end(int64_t pos) {
    data_end_.store(pos, std::memory_order_release);
  }
  bool full() const { return wrote_position() >= size_; }
  int64_t remaining() const { return size_ - wrote_position(); }

  // Appends `bytes` at the write position; false if they do not fit.
  bool Append(absl::string_view bytes);

  // Writes `bytes` at `position` with pwrite(2) rather than through the
  // mapping (readers still see them through it: both are the page cache).
  // Does not move the write position.
  absl::Status WriteAt(int64_t position, absl::string_view bytes);

  // Makes the pages of [from, to) resident and mapped writable, so later
  // stores there take no page fault. Never changes a byte of the file, so
  // it may run while the writer appends. Fails with InvalidArgument on
  // kernels older than 5.14.
  absl::Status Prefault(int64_t from, int64_t to);

  // Writes dirty pages up to the write position to disk when at least
  // `least_pages` pages are dirty (0: whenever anything is dirty), or when
  // the file is full. Returns the new flushed position.
  absl::StatusOr<int64_t> Flush(int least_pages);

  // Writes the pages holding [position, position + size) to disk, wherever
  // the flushed position is (an entry rewritten below it).
  absl::Status SyncRange(int64_t position, int64_t size);

  // Writes every dirty page of the whole mapping to disk (files written at
  // random places, like index files).
  absl::Status SyncAll();

  // Zeroes bytes from `position` to the end that are not zero already, and
  // makes that durable. Used after crash recovery, so stale bytes past the
  // valid end can never be read as records later.
  absl::Status ZeroFrom(int64_t position);

  // Removes the file from disk now; readers holding it keep a valid mapping
  // until they let go, when the space is freed.
  void Unlink();

  // Last modification time of the file (seconds since the epoch).
  int64_t ModifiedTimeSeconds() const;

 private:
  MappedFile(std::string path, int64_t start_offset, int64_t size, int fd,
             char* data);

  const std::string path_;
  const int64_t start_offset_;
  const int64_t size_;
  const int fd_;
  char* const data_;
  std::atomic<int64_t> wrote_{0};
  std::atomic<int64_t> flushed_{0};
  std::atomic<int64_t> data_end_{-1};
};

// "00000000001073741824" for 1073741824.
std::string OffsetToFileName(int64_t offset);

// Puts the entries of `path`'s directory on disk (a new or renamed name is
// only durable once its directory is).
absl::Status SyncParentDirectory(const std::string& path);

}  // namespace cometmq::store

#endif  // COMETMQ_STORE_MAPPED_FILE_H_
