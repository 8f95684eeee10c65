#include "cpp/store/retention.h"

#include <sys/statvfs.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "spdlog/spdlog.h"

namespace cometmq::store {

absl::StatusOr<std::set<int>> ParseDeleteWhen(absl::string_view text) {
  std::set<int> hours;
  for (absl::string_view part : absl::StrSplit(text, ';', absl::SkipEmpty())) {
    int hour;
    if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(part), &hour) ||
        hour < 0 || hour > 23) {
      return absl::InvalidArgumentError(
          absl::StrCat("deleteWhen '", text,
                       "' is not a ';'-separated list of hours 00..23"));
    }
    hours.insert(hour);
  }
  return hours;
}

double DiskUsedRatio(const std::string& path) {
  struct statvfs st;
  if (::statvfs(path.c_str(), &st) != 0 || st.f_blocks == 0) return 0;
  double total = static_cast<double>(st.f_blocks);
  double available = static_cast<double>(st.f_bavail);
  return (total - available) / total;
}

RetentionPolicy::RetentionPolicy(const StoreConfig& config, Hooks hooks)
    : config_(config), hooks_(std::move(hooks)) {
  absl::StatusOr<std::set<int>> hours = ParseDeleteWhen(config.deleteWhen);
  delete_hours_ = hours.ok() ? *hours : std::set<int>{4};
}

int RetentionPolicy::RunOnce(MappedFileQueue* log, int64_t dispatched) {
  double ratio = hooks_.disk_used_ratio();
  last_ratio_.store(ratio);
  bool full = ratio > config_.diskSpaceWarningLevelRatio;
  if (full != disk_full_.load()) {
    if (full) {
      spdlog::error(
          "disk is full: {:.1f}% used, above {:.1f}%; refusing "
          "writes until space is freed",
          ratio * 100, config_.diskSpaceWarningLevelRatio * 100);
    } else {
      spdlog::info("disk usage {:.1f}%: accepting writes again", ratio * 100);
    }
    disk_full_.store(full);
  }
  // A full disk cleans forcibly too, as RocketMQ's CleanCommitLogService
  // does, even when diskSpaceCleanForciblyRatio was set above the warning
  // level: otherwise writes stay refused until files age out.
  bool forcibly = config_.cleanFileForciblyEnable &&
                  (full || ratio > config_.diskSpaceCleanForciblyRatio);
  bool over_limit = ratio > config_.diskMaxUsedSpaceRatio / 100.0;
  bool time_up = delete_hours_.contains(hooks_.local_hour());
  if (!time_up && !over_limit && !forcibly) return 0;

  int64_t now_s = hooks_.now_ms() / 1000;
  int64_t reserved_s = int64_t{config_.fileReservedTime} * 3600;
  int deleted = log->DeleteFromFront(
      [&](const MappedFile& f) {
        if (f.start_offset() + f.size() > dispatched) {
          if (forcibly) {
            spdlog::warn(
                "disk above the clean-forcibly ratio, but commit log segment "
                "{} holds records not dispatched yet (from offset {}); kept",
                f.start_offset(), dispatched);
          }
          return false;
        }
        return forcibly || now_s - f.ModifiedTimeSeconds() >= reserved_s;
      },
      config_.deleteFileBatchMax);
  if (deleted > 0) {
    spdlog::info("retention deleted {} commit log segment(s) ({}{}{})", deleted,
                 time_up ? "deleteWhen hour" : "",
                 over_limit ? " disk above diskMaxUsedSpaceRatio" : "",
                 forcibly ? " disk above clean-forcibly ratio" : "");
  }
  return deleted;
}

}  // namespace cometmq::store
