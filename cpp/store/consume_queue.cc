#include "cpp/store/consume_queue.h"

#include <atomic>

#include "absl/strings/str_cat.h"
#include "cpp/common/byte_order.h"
#include "spdlog/spdlog.h"

namespace cometmq::store {

ConsumeQueue::ConsumeQueue(std::string topic, int32_t queue_id, std::string dir,
                           int64_t file_size)
    : topic_(std::move(topic)),
      queue_id_(queue_id),
      files_(std::move(dir), file_size - file_size % kConsumeQueueEntrySize) {}

absl::Status ConsumeQueue::Load() { return files_.Load(); }

int64_t ConsumeQueue::Recover() {
  std::vector<std::shared_ptr<MappedFile>> files = files_.Files();
  if (files.empty()) return 0;
  // The last file holding any entry decides the end.
  int64_t end = files.back()->start_offset();
  int64_t physical_end = 0;
  for (auto it = files.rbegin(); it != files.rend(); ++it) {
    const MappedFile& f = **it;
    int64_t last_valid = -1;
    for (int64_t pos = 0; pos + kConsumeQueueEntrySize <= f.size();
         pos += kConsumeQueueEntrySize) {
      if (GetBig32(f.data() + pos + 8) > 0) last_valid = pos;
    }
    if (last_valid >= 0) {
      end = f.start_offset() + last_valid + kConsumeQueueEntrySize;
      const char* p = f.data() + last_valid;
      physical_end = GetBig64(p) + GetBig32(p + 8);
      break;
    }
    end = f.start_offset();
  }
  // Entries are written after their records, so nothing valid lies beyond.
  (void)files_.TruncateTo(end, /*zero_tail=*/true);
  max_physical_end_.store(physical_end);
  // The first valid entry of the first file is the minimum.
  const MappedFile& first = *files_.Files().front();
  int64_t min = first.start_offset() / kConsumeQueueEntrySize;
  for (int64_t pos = 0; pos < first.wrote_position();
       pos += kConsumeQueueEntrySize) {
    if (GetBig32(first.data() + pos + 8) > 0) {
      min = (first.start_offset() + pos) / kConsumeQueueEntrySize;
      break;
    }
  }
  SetMin(min);
  return physical_end;
}

int64_t ConsumeQueue::max_offset() const {
  return files_.MaxOffset() / kConsumeQueueEntrySize;
}

absl::Status ConsumeQueue::Put(const Entry& entry, int64_t queue_offset) {
  int64_t expected = max_offset();
  bool empty = files_.LastFile() == nullptr;
  if (!empty && queue_offset < expected) {
    Entry last;
    if (ReadEntry(expected - 1, &last) && last.size > 0 &&
        entry.commit_log_offset >= last.commit_log_offset + last.size) {
      return Reset(entry, queue_offset);
    }
    return FillHole(entry, queue_offset);
  }
  int64_t byte_offset = queue_offset * kConsumeQueueEntrySize;
  absl::StatusOr<std::shared_ptr<MappedFile>> file =
      files_.LastFileForWrite(byte_offset);
  if (!file.ok()) return file.status();
  if (empty) {
    // A queue rebuilt after retention starts mid-file: the slots before it
    // stay zero, which reads as "no entry".
    (*file)->set_wrote_position(byte_offset - (*file)->start_offset());
    (*file)->set_flushed_position((*file)->wrote_position());
    files_.set_flushed_where(byte_offset);
    SetMin(queue_offset);
  } else if (queue_offset > expected) {
    spdlog::warn("consume queue {}-{}: gap from {} to {}, left empty", topic_,
                 queue_id_, expected, queue_offset);
    static const char kEmpty[kConsumeQueueEntrySize] = {};
    for (int64_t i = expected; i < queue_offset; ++i) {
      file = files_.LastFileForWrite(0);
      if (!file.ok()) return file.status();
      (*file)->Append(absl::string_view(kEmpty, sizeof(kEmpty)));
    }
    file = files_.LastFileForWrite(0);
    if (!file.ok()) return file.status();
  }
  char buf[kConsumeQueueEntrySize];
  PutBig64(buf, entry.commit_log_offset);
  PutBig32(buf + 8, entry.size);
  PutBig64(buf + 12, entry.tags_code);
  if (!(*file)->Append(absl::string_view(buf, sizeof(buf)))) {
    return absl::InternalError(
        absl::StrCat("consume queue ", topic_, "-", queue_id_, " file full"));
  }
  max_physical_end_.store(entry.commit_log_offset + entry.size);
  return absl::OkStatus();
}

absl::Status ConsumeQueue::FillHole(const Entry& entry, int64_t queue_offset) {
  const int64_t byte_offset = queue_offset * kConsumeQueueEntrySize;
  std::shared_ptr<MappedFile> file = files_.FindByOffset(byte_offset);
  if (file == nullptr) return absl::OkStatus();
  const int64_t pos = byte_offset - file->start_offset();
  char* slot = file->data() + pos;
  if (GetBig32(slot + 8) > 0) {
    if (GetBig64(slot) == entry.commit_log_offset) {
      return absl::OkStatus();  // already there
    }
    return Restart(entry, queue_offset, GetBig64(slot));
  }
  spdlog::warn(
      "consume queue {}-{}: entry {} was missing below the queue's end; "
      "written again from the commit log",
      topic_, queue_id_, queue_offset);
  PutBig64(slot, entry.commit_log_offset);
  PutBig64(slot + 12, entry.tags_code);
  // Readers take a slot with a size as written: the size goes last.
  std::atomic_thread_fence(std::memory_order_release);
  PutBig32(slot + 8, entry.size);
  // Recovery took the first entry it found for the minimum; the record is
  // in the commit log, so the queue starts at it.
  LowerMinTo(queue_offset, entry.commit_log_offset);
  // Below the flushed position, so no periodic flush would write it.
  return file->SyncRange(pos, kConsumeQueueEntrySize);
}

absl::Status ConsumeQueue::Restart(const Entry& entry, int64_t queue_offset,
                                   int64_t stale_commit_log_offset) {
  spdlog::warn(
      "consume queue {}-{}: entry {} points at commit log offset {} but the "
      "record with that queue offset is at {}: the queue is left from a "
      "deleted topic of the same name; entries from {} on are dropped",
      topic_, queue_id_, queue_offset, stale_commit_log_offset,
      entry.commit_log_offset, queue_offset);
  if (absl::Status s = files_.TruncateTo(queue_offset * kConsumeQueueEntrySize,
                                         /*zero_tail=*/true);
      !s.ok()) {
    return s;
  }
  LowerMinTo(queue_offset, entry.commit_log_offset);
  Entry last;
  max_physical_end_.store(queue_offset > min_offset() &&
                                  ReadEntry(queue_offset - 1, &last)
                              ? last.commit_log_offset + last.size
                              : 0);
  return Put(entry, queue_offset);
}

absl::Status ConsumeQueue::Reset(const Entry& entry, int64_t queue_offset) {
  spdlog::warn(
      "consume queue {}-{}: the record at commit log offset {} has queue "
      "offset {}, below the queue's end {}, yet every entry points before it: "
      "the queue is left from a deleted topic of the same name and starts "
      "again at {}",
      topic_, queue_id_, entry.commit_log_offset, queue_offset, max_offset(),
      queue_offset);
  // Every file goes but one starting at 0, which is left empty.
  if (absl::Status s = files_.TruncateTo(0, /*zero_tail=*/true); !s.ok()) {
    return s;
  }
  SetMin(queue_offset);
  max_physical_end_.store(0);
  // Either the empty path of Put() or, over the file left at 0, a run of
  // empty slots below the new minimum.
  return Put(entry, queue_offset);
}

void ConsumeQueue::LowerMinTo(int64_t queue_offset, int64_t commit_log_offset) {
  absl::MutexLock lock(&min_mu_);
  if (queue_offset < min_offset() && commit_log_offset >= retained_from_) {
    min_offset_.store(queue_offset);
  }
}

void ConsumeQueue::SetMin(int64_t queue_offset) {
  absl::MutexLock lock(&min_mu_);
  min_offset_.store(queue_offset);
}

bool ConsumeQueue::ReadEntry(int64_t queue_offset, Entry* entry) const {
  std::vector<Entry> one = Read(queue_offset, 1);
  if (one.empty()) return false;
  *entry = one.front();
  return true;
}

std::vector<ConsumeQueue::Entry> ConsumeQueue::Read(int64_t queue_offset,
                                                    int max) const {
  std::vector<Entry> entries;
  int64_t byte_offset = queue_offset * kConsumeQueueEntrySize;
  std::shared_ptr<MappedFile> file = files_.FindByOffset(byte_offset);
  if (file == nullptr) return entries;
  int64_t pos = byte_offset - file->start_offset();
  int64_t wrote = file->wrote_position();
  for (; pos + kConsumeQueueEntrySize <= wrote &&
         static_cast<int>(entries.size()) < max;
       pos += kConsumeQueueEntrySize) {
    const char* p = file->data() + pos;
    const int32_t size = GetBig32(p + 8);
    // Pairs with FillHole's release: a slot read with its size is read
    // with its offset and tags (a compiler barrier only, on x86).
    std::atomic_thread_fence(std::memory_order_acquire);
    entries.push_back(Entry{GetBig64(p), size, GetBig64(p + 12)});
  }
  return entries;
}

absl::Status ConsumeQueue::TruncateDirty(int64_t commit_log_end) {
  int64_t next = max_offset();
  int64_t keep = next;
  while (keep > min_offset()) {
    Entry e;
    if (!ReadEntry(keep - 1, &e)) break;
    if (e.size > 0 && e.commit_log_offset + e.size <= commit_log_end) break;
    --keep;
  }
  if (keep == next) return absl::OkStatus();
  spdlog::warn(
      "consume queue {}-{}: dropping entries {}..{} past the commit "
      "log end {}",
      topic_, queue_id_, keep, next, commit_log_end);
  absl::Status s =
      files_.TruncateTo(keep * kConsumeQueueEntrySize, /*zero_tail=*/true);
  Entry last;
  max_physical_end_.store(keep > min_offset() && ReadEntry(keep - 1, &last)
                              ? last.commit_log_offset + last.size
                              : 0);
  return s;
}

int ConsumeQueue::DeleteBelow(int64_t commit_log_min) {
  // Delete whole files whose last entry points below the commit log start.
  int deleted = files_.DeleteFromFront(
      [commit_log_min](const MappedFile& f) {
        int64_t wrote = f.wrote_position();
        if (wrote < kConsumeQueueEntrySize) return false;
        return GetBig64(f.data() + wrote - kConsumeQueueEntrySize) <
               commit_log_min;
      },
      1 << 30);
  // Then advance the minimum within the first file. Under min_mu_, so an
  // entry the dispatch thread writes below the minimum meanwhile is either
  // seen here or not let below commit_log_min.
  absl::MutexLock lock(&min_mu_);
  retained_from_ = std::max(retained_from_, commit_log_min);
  int64_t min =
      std::max(min_offset(), files_.MinOffset() / kConsumeQueueEntrySize);
  Entry e;
  while (min < max_offset() && ReadEntry(min, &e) &&
         (e.size <= 0 || e.commit_log_offset < commit_log_min)) {
    ++min;
  }
  min_offset_.store(min);
  return deleted;
}

}  // namespace cometmq::store
