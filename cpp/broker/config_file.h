#ifndef COMETMQ_BROKER_CONFIG_FILE_H_
#define COMETMQ_BROKER_CONFIG_FILE_H_

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace cometmq::broker {

// Durable replacement of the broker's small state files (topics, groups,
// offsets). Guarantee: after WriteFileAtomically returns OK the file holds
// `content` on disk; if the process dies meanwhile, the file holds either the
// old or the new content, never a mix (temp file, fsync, rename, fsync dir).
// A failed write leaves the old file as it was and removes its temp copy;
// a full disk is ResourceExhausted.
absl::Status WriteFileAtomically(const std::string& path,
                                 absl::string_view content);

// The file's content, or nullopt when it does not exist.
absl::StatusOr<std::optional<std::string>> ReadFileIfExists(
    const std::string& path);

}  // namespace cometmq::broker

#endif  // COMETMQ_BROKER_CONFIG_FILE_H_
