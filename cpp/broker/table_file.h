#ifndef COMETMQ_BROKER_TABLE_FILE_H_
#define COMETMQ_BROKER_TABLE_FILE_H_

#include <atomic>
#include <optional>
#include <string>
#include <utility>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace cometmq::broker {

// The content of a broker table's file of lines (topics, groups, offsets),
// or nullopt when there is none. Every such file ends with a line break
// (its header line included), so one without was cut short: DataLoss,
// naming the file and what removing it means (`without_it`, e.g. "no
// topics"), since loading what is left would silently forget the rest.
absl::StatusOr<std::optional<std::string>> ReadTableFile(
    const std::string& path, absl::string_view without_it);

// The file of a table that changes in memory and is written now and then
// (every few seconds and at shutdown). Guarantees: Persist() writes only
// when MarkChanged() was called since its last successful write; it writes
// atomically (WriteFileAtomically), one write at a time, so an older table
// never replaces a newer one; and a failed write leaves the table marked
// changed, for the next Persist() to try again. Thread-safe.
class TableFile {
 public:
  explicit TableFile(std::string path) : path_(std::move(path)) {}

  const std::string& path() const { return path_; }
  // Call with every change of the table (under its lock, or after the
  // change): the next Persist() writes it.
  void MarkChanged() { changed_ = true; }
  // A change is not written yet (or its write failed).
  bool changed() const { return changed_.load(); }
  // Writes what `encode` returns (the whole table, taking the table's
  // lock itself) if the table changed since the last successful write.
  absl::Status Persist(absl::FunctionRef<std::string()> encode);

 private:
  const std::string path_;
  std::atomic<bool> changed_{false};
  absl::Mutex persist_mu_;  // serializes writers of the file
};

}  // namespace cometmq::broker

#endif  // COMETMQ_BROKER_TABLE_FILE_H_
