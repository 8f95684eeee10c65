#ifndef COMETMQ_CLIENT_LOCAL_OFFSET_FILE_H_
#define COMETMQ_CLIENT_LOCAL_OFFSET_FILE_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "cpp/client/message_queue.h"

namespace cometmq::client {

using OffsetTable = std::map<MessageQueue, int64_t>;

// A broadcasting consumer's offsets on local disk (RocketMQ's
// LocalFileOffsetStore). The file is text, one queue a line:
// `topic<TAB>broker name<TAB>queue id<TAB>offset`; lines starting with '#'
// are comments. Guarantee: WriteOffsetFile replaces the file atomically
// (temp file, fsync, rename, fsync of the directory), so a crash leaves the
// old or the new table, never a mix.
std::string EncodeOffsets(const OffsetTable& table);
// InvalidArgument naming the line for anything malformed.
absl::StatusOr<OffsetTable> DecodeOffsets(absl::string_view text);

// An empty table when the file does not exist.
absl::StatusOr<OffsetTable> ReadOffsetFile(const std::string& path);
// Creates the file's directories as needed.
absl::Status WriteOffsetFile(const std::string& path, const OffsetTable& table);

// An exclusive claim on the offset file at `path` (an flock on
// `path`.lock), held from Acquire() until destruction: two consumers, in
// this process or another, never write one file, each replacing the
// other's offsets with its own table. The kernel drops the claim of a
// process that dies.
class OffsetFileLock {
 public:
  // FailedPrecondition while another holds it. Creates the directories.
  static absl::StatusOr<std::unique_ptr<OffsetFileLock>> Acquire(
      const std::string& path);
  ~OffsetFileLock();

  OffsetFileLock(const OffsetFileLock&) = delete;
  OffsetFileLock& operator=(const OffsetFileLock&) = delete;

 private:
  explicit OffsetFileLock(int fd) : fd_(fd) {}
  const int fd_;
};

}  // namespace cometmq::client

#endif  // COMETMQ_CLIENT_LOCAL_OFFSET_FILE_H_
