#include "cpp/store/index_service.h"

#include <algorithm>
#include <filesystem>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "spdlog/spdlog.h"

namespace cometmq::store {

namespace fs = std::filesystem;

IndexService::IndexService(std::string dir, int32_t slot_count,
                           int32_t max_entries)
    : dir_(std::move(dir)),
      slot_count_(slot_count),
      max_entries_(max_entries) {}

absl::Status IndexService::Load() {
  std::error_code ec;
  fs::create_directories(dir_, ec);
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir_, ec)) {
    std::string name = entry.path().filename().string();
    if (absl::EndsWith(name, ".creating")) {
      // An index file whose creation a crash interrupted; never written to.
      fs::remove(entry.path(), ec);
      continue;
    }
    names.push_back(std::move(name));
  }
  std::sort(names.begin(), names.end());
  absl::MutexLock lock(&mu_);
  for (const std::string& name : names) {
    std::string path = absl::StrCat(dir_, "/", name);
    if (static_cast<int64_t>(fs::file_size(path, ec)) !=
        IndexFile::FileSize(slot_count_, max_entries_)) {
      SetAsideOtherSize(path);
      continue;
    }
    absl::StatusOr<std::unique_ptr<IndexFile>> file =
        IndexFile::Open(path, slot_count_, max_entries_);
    if (!file.ok()) return file.status();
    files_.push_back(*std::move(file));
  }
  return absl::OkStatus();
}

absl::StatusOr<IndexFile*> IndexService::Writable(int64_t timestamp_ms) {
  if (!files_.empty() && !files_.back()->full()) return files_.back().get();
  std::string name =
      absl::FormatTime("%Y%m%d%H%M%S%E3f", absl::FromUnixMillis(timestamp_ms),
                       absl::UTCTimeZone());
  name.erase(std::remove(name.begin(), name.end(), '.'), name.end());
  if (!files_.empty()) {
    // Names must sort in creation order even within one millisecond.
    std::string last = fs::path(files_.back()->path()).filename().string();
    if (name <= last) name = absl::StrCat(last, "1");
  }
  absl::StatusOr<std::unique_ptr<IndexFile>> file =
      IndexFile::Open(absl::StrCat(dir_, "/", name), slot_count_, max_entries_);
  if (!file.ok()) return file.status();
  files_.push_back(*std::move(file));
  return files_.back().get();
}

absl::Status IndexService::Build(const RecordView& record) {
  int32_t tx = TransactionType(record.sys_flag);
  if (tx == kTransactionRollbackType) return absl::OkStatus();
  std::optional<absl::string_view> keys =
      FindProperty(record.properties, kPropertyKeys);
  std::optional<absl::string_view> unique =
      FindProperty(record.properties, kPropertyUniqKey);
  if (!keys.has_value() && !unique.has_value()) return absl::OkStatus();
  absl::MutexLock lock(&mu_);
  if (keys.has_value()) {
    for (absl::string_view key :
         absl::StrSplit(*keys, ' ', absl::SkipEmpty())) {
      if (absl::Status s = PutKey(record, key); !s.ok()) return s;
    }
  }
  if (unique.has_value()) return PutKey(record, *unique);
  return absl::OkStatus();
}

absl::Status IndexService::PutKey(const RecordView& record,
                                  absl::string_view key) {
  key_.clear();
  absl::StrAppend(&key_, record.topic, "#", key);
  for (int attempt = 0; attempt < 2; ++attempt) {
    absl::StatusOr<IndexFile*> file = Writable(record.store_timestamp);
    if (!file.ok()) return file.status();
    if ((*file)->Put(key_, record.physical_offset, record.store_timestamp)) {
      break;
    }
  }
  return absl::OkStatus();
}

std::vector<int64_t> IndexService::Query(absl::string_view topic,
                                         absl::string_view key, size_t max,
                                         int64_t begin_ms,
                                         int64_t end_ms) const {
  std::string full_key = absl::StrCat(topic, "#", key);
  std::vector<int64_t> offsets;
  absl::flat_hash_set<int64_t> seen;
  absl::ReaderMutexLock lock(&mu_);
  for (auto it = files_.rbegin(); it != files_.rend(); ++it) {
    const IndexFile& f = **it;
    if (f.entry_count() <= 1) continue;
    if (f.end_timestamp() < begin_ms || f.begin_timestamp() > end_ms) continue;
    std::vector<int64_t> found;
    f.Query(full_key, begin_ms, end_ms, max, &found);
    for (int64_t offset : found) {
      if (seen.insert(offset).second) offsets.push_back(offset);
      if (offsets.size() >= max) return offsets;
    }
  }
  return offsets;
}

absl::Status IndexService::Flush() {
  absl::ReaderMutexLock lock(&mu_);
  for (auto& f : files_) {
    if (absl::Status s = f->Flush(); !s.ok()) return s;
  }
  return absl::OkStatus();
}

void IndexService::SetAsideOtherSize(const std::string& path) {
  // A header too short to read has no entries to keep.
  const int64_t end =
      IndexFile::ReadEndPhysicalOffset(path).value_or(int64_t{0});
  spdlog::warn(
      "index file {} has another size than maxHashSlotNum/maxIndexNum give "
      "(written with other values?); its keys are not searched, and it is "
      "deleted once retention passes commit log offset {}",
      path, end);
  other_size_.push_back(OtherSizeFile{path, end});
}

int IndexService::DeleteBelow(int64_t commit_log_min) {
  absl::MutexLock lock(&mu_);
  int deleted = 0;
  for (auto it = other_size_.begin(); it != other_size_.end();) {
    if (it->end_physical_offset >= commit_log_min) {
      ++it;
      continue;
    }
    spdlog::info("deleting index file {}", it->path);
    std::error_code ec;
    fs::remove(it->path, ec);
    it = other_size_.erase(it);
    ++deleted;
  }
  while (files_.size() > 1 && files_.front()->entry_count() > 1 &&
         files_.front()->end_physical_offset() < commit_log_min) {
    spdlog::info("deleting index file {}", files_.front()->path());
    files_.front()->Unlink();
    files_.erase(files_.begin());
    ++deleted;
  }
  return deleted;
}

}  // namespace cometmq::store
