#include "cpp/store/index_file.h"

#include <atomic>
#include <cstdlib>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "cpp/common/byte_order.h"

namespace cometmq::store {
namespace {

constexpr int kHeaderSize = 40;
constexpr int kSlotSize = 4;
constexpr int kEntrySize = 20;
constexpr int kBeginTimestampPos = 0;
constexpr int kEndTimestampPos = 8;
constexpr int kBeginPhyOffsetPos = 16;
constexpr int kEndPhyOffsetPos = 24;
constexpr int kSlotCountPos = 32;
constexpr int kIndexCountPos = 36;

int32_t KeyHash(absl::string_view key) {
  int32_t h = 0;
  for (char c : key) {
    h = static_cast<int32_t>(static_cast<uint32_t>(h) * 31u +
                             static_cast<uint8_t>(c));
  }
  // The reference takes abs(); abs(INT_MIN) stays negative there, so use 0.
  return h == INT32_MIN ? 0 : std::abs(h);
}

}  // namespace

int64_t IndexFile::FileSize(int32_t slot_count, int32_t max_entries) {
  return kHeaderSize + int64_t{slot_count} * kSlotSize +
         int64_t{max_entries} * kEntrySize;
}

absl::StatusOr<int64_t> IndexFile::ReadEndPhysicalOffset(
    const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char header[kHeaderSize];
  if (!in.read(header, kHeaderSize)) {
    return absl::DataLossError(
        absl::StrCat("index file ", path, " is shorter than its header"));
  }
  return GetBig64(header + kEndPhyOffsetPos);
}

absl::StatusOr<std::unique_ptr<IndexFile>> IndexFile::Open(
    const std::string& path, int32_t slot_count, int32_t max_entries) {
  absl::StatusOr<std::shared_ptr<MappedFile>> file =
      MappedFile::Open(path, 0, FileSize(slot_count, max_entries));
  if (!file.ok()) return file.status();
  return std::unique_ptr<IndexFile>(
      new IndexFile(*std::move(file), slot_count, max_entries));
}

IndexFile::IndexFile(std::shared_ptr<MappedFile> file, int32_t slot_count,
                     int32_t max_entries)
    : file_(std::move(file)),
      slot_count_(slot_count),
      max_entries_(max_entries) {
  file_->set_wrote_position(file_->size());
  file_->set_flushed_position(0);
}

int32_t IndexFile::entry_count() const {
  int32_t count = GetBig32(file_->data() + kIndexCountPos);
  std::atomic_thread_fence(std::memory_order_acquire);
  return count;
}

bool IndexFile::full() const {
  int32_t count = entry_count();
  return count >= max_entries_;
}

int64_t IndexFile::begin_timestamp() const {
  return GetBig64(file_->data() + kBeginTimestampPos);
}
int64_t IndexFile::end_timestamp() const {
  return GetBig64(file_->data() + kEndTimestampPos);
}
int64_t IndexFile::end_physical_offset() const {
  return GetBig64(file_->data() + kEndPhyOffsetPos);
}

bool IndexFile::Put(absl::string_view key, int64_t physical_offset,
                    int64_t store_timestamp_ms) {
  char* base = file_->data();
  int32_t count = GetBig32(base + kIndexCountPos);
  if (count == 0) count = 1;  // entry 0 is never used
  if (count >= max_entries_) return false;
  int32_t hash = KeyHash(key);
  int64_t slot_pos = kHeaderSize + int64_t{hash % slot_count_} * kSlotSize;
  int32_t previous = GetBig32(base + slot_pos);
  if (previous <= 0 || previous >= count) previous = 0;
  if (count == 1) {
    PutBig64(base + kBeginTimestampPos, store_timestamp_ms);
    PutBig64(base + kBeginPhyOffsetPos, physical_offset);
  }
  int64_t seconds = (store_timestamp_ms - begin_timestamp()) / 1000;
  char* entry = base + kHeaderSize + int64_t{slot_count_} * kSlotSize +
                int64_t{count} * kEntrySize;
  PutBig32(entry, hash);
  PutBig64(entry + 4, physical_offset);
  PutBig32(entry + 12, static_cast<int32_t>(std::max<int64_t>(seconds, 0)));
  PutBig32(entry + 16, previous);
  PutBig32(base + slot_pos, count);
  if (previous == 0) {
    PutBig32(base + kSlotCountPos, GetBig32(base + kSlotCountPos) + 1);
  }
  PutBig64(base + kEndTimestampPos, store_timestamp_ms);
  PutBig64(base + kEndPhyOffsetPos, physical_offset);
  std::atomic_thread_fence(std::memory_order_release);
  PutBig32(base + kIndexCountPos, count + 1);
  return true;
}

void IndexFile::Query(absl::string_view key, int64_t begin_ms, int64_t end_ms,
                      size_t max, std::vector<int64_t>* offsets) const {
  const char* base = file_->data();
  int32_t count = entry_count();
  if (count <= 1) return;
  int32_t hash = KeyHash(key);
  int64_t slot_pos = kHeaderSize + int64_t{hash % slot_count_} * kSlotSize;
  int32_t index = GetBig32(base + slot_pos);
  int64_t begin = begin_timestamp();
  // Each step goes to an older entry, so the walk ends; the bound guards
  // against a damaged chain.
  for (int32_t steps = 0; index > 0 && index < count && steps < count;
       ++steps) {
    const char* entry = base + kHeaderSize + int64_t{slot_count_} * kSlotSize +
                        int64_t{index} * kEntrySize;
    int64_t at = begin + int64_t{GetBig32(entry + 12)} * 1000;
    if (GetBig32(entry) == hash && at >= begin_ms / 1000 * 1000 &&
        at <= end_ms) {
      offsets->push_back(GetBig64(entry + 4));
      if (offsets->size() >= max) return;
    }
    int32_t previous = GetBig32(entry + 16);
    if (previous >= index) break;
    index = previous;
  }
}

}  // namespace cometmq::store
