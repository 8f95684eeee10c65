#include "cpp/broker/table_file.h"

#include "absl/strings/str_cat.h"
#include "cpp/broker/config_file.h"

namespace cometmq::broker {

absl::StatusOr<std::optional<std::string>> ReadTableFile(
    const std::string& path, absl::string_view without_it) {
  absl::StatusOr<std::optional<std::string>> text = ReadFileIfExists(path);
  if (!text.ok() || !text->has_value()) return text;
  if ((*text)->empty() || (*text)->back() != '\n') {
    return absl::DataLossError(
        absl::StrCat(path, " is truncated (", (*text)->size(),
                     " bytes, no line break at the end); restore it, or "
                     "remove it to start with ",
                     without_it));
  }
  return text;
}

absl::Status TableFile::Persist(absl::FunctionRef<std::string()> encode) {
  absl::MutexLock persist_lock(&persist_mu_);
  // Cleared before encoding: a change made meanwhile marks the table again
  // and is written (again) next time, never lost.
  if (!changed_.exchange(false)) return absl::OkStatus();
  absl::Status written = WriteFileAtomically(path_, encode());
  if (!written.ok()) changed_ = true;  // try again next round
  return written;
}

}  // namespace cometmq::broker
