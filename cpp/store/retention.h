#ifndef COMETMQ_STORE_RETENTION_H_
#define COMETMQ_STORE_RETENTION_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <set>
#include <string>

#include "absl/status/statusor.h"
#include "cpp/store/mapped_file_queue.h"
#include "cpp/store/store_config.h"

namespace cometmq::store {

// Parses deleteWhen ("04", "04;10") into hours of the day.
absl::StatusOr<std::set<int>> ParseDeleteWhen(absl::string_view text);

// Decides when commit log segments go, as the reference system does: at a
// `deleteWhen` hour, segments older than `fileReservedTime` hours are
// deleted; above diskMaxUsedSpaceRatio they are deleted at any hour; above
// diskSpaceCleanForciblyRatio (with cleanFileForciblyEnable) the oldest go
// whatever their age. Above diskSpaceWarningLevelRatio the disk is "full" and
// the store refuses writes until space is freed. Clock and disk usage are
// injected so tests need not wait for 04:00 or fill a disk.
class RetentionPolicy {
 public:
  struct Hooks {
    std::function<int64_t()> now_ms;
    std::function<double()> disk_used_ratio;  // 0..1
    std::function<int()> local_hour;          // 0..23, of now_ms
  };

  RetentionPolicy(const StoreConfig& config, Hooks hooks);

  // One round: deletes what is due from `log` (the consume queue and index
  // clean-up follows the log's new minimum, done by the caller), never a
  // segment holding bytes at or past `dispatched`: those records are not in
  // any consume queue yet. Returns the number of segments deleted.
  int RunOnce(MappedFileQueue* log, int64_t dispatched);

  bool disk_full() const { return disk_full_.load(); }
  double last_disk_ratio() const { return last_ratio_.load(); }

 private:
  const StoreConfig config_;
  const Hooks hooks_;
  std::set<int> delete_hours_;
  std::atomic<bool> disk_full_{false};
  std::atomic<double> last_ratio_{0};
};

// Used share of the filesystem holding `path`, from statvfs.
double DiskUsedRatio(const std::string& path);

}  // namespace cometmq::store

#endif  // COMETMQ_STORE_RETENTION_H_
