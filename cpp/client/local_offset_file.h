#ifndef COMETMQ_CLIENT_LOCAL_OFFSET_FILE_H_
#define COMETMQ_CLIENT_LOCAL_OFFSET_FILE_H_

#include <cstdint>
#include <map>
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

}  // namespace cometmq::client

#endif  // COMETMQ_CLIENT_LOCAL_OFFSET_FILE_H_
