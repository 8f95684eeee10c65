#include "cpp/store/commit_log.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "cpp/common/byte_order.h"
#include "spdlog/spdlog.h"

namespace cometmq::store {

const char* PutStatusName(PutStatus status) {
  switch (status) {
    case PutStatus::kOk:
      return "PUT_OK";
    case PutStatus::kFlushDiskTimeout:
      return "FLUSH_DISK_TIMEOUT";
    case PutStatus::kFlushSlaveTimeout:
      return "FLUSH_SLAVE_TIMEOUT";
    case PutStatus::kSlaveNotAvailable:
      return "SLAVE_NOT_AVAILABLE";
    case PutStatus::kServiceNotAvailable:
      return "SERVICE_NOT_AVAILABLE";
    case PutStatus::kMessageIllegal:
      return "MESSAGE_ILLEGAL";
    case PutStatus::kUnknownError:
      return "UNKNOWN_ERROR";
  }
  return "UNKNOWN_ERROR";
}

CommitLog::CommitLog(std::string dir, int64_t file_size,
                     int32_t max_message_size, uint32_t store_ip,
                     uint32_t store_port, Clock clock, bool write_through)
    : files_(std::move(dir), file_size),
      max_message_size_(max_message_size),
      store_ip_(store_ip),
      store_port_(store_port),
      clock_(std::move(clock)),
      write_through_(write_through) {}

absl::Status CommitLog::Load() { return files_.Load(); }

absl::StatusOr<int64_t> CommitLog::Recover(
    int64_t scan_from, int64_t dispatch_from, bool zero_tail,
    const std::function<void(const RecordView&)>& on_record) {
  std::vector<std::shared_ptr<MappedFile>> files = files_.Files();
  if (files.empty()) return 0;
  size_t index = 0;
  while (index + 1 < files.size() &&
         files[index]->start_offset() + files[index]->size() <= scan_from) {
    ++index;
  }
  int64_t end = files[index]->start_offset();
  for (; index < files.size(); ++index) {
    const MappedFile& file = *files[index];
    int64_t pos = 0;
    bool next_file = false;
    while (pos < file.size()) {
      RecordView view;
      DecodeResult r = DecodeRecord(file.data() + pos, file.size() - pos,
                                    /*check_crc=*/true, &view);
      if (r == DecodeResult::kRecord &&
          view.physical_offset != file.start_offset() + pos) {
        r = DecodeResult::kCorrupt;  // a stale record from an older write
      }
      if (r == DecodeResult::kRecord) {
        if (view.physical_offset >= dispatch_from) on_record(view);
        pos += view.total_size;
        end = file.start_offset() + pos;
        continue;
      }
      if (r == DecodeResult::kBlank) {
        files[index]->set_data_end(pos + kEndFileMinBlankLength);
        end = file.start_offset() + file.size();
        next_file = true;
      } else if (r == DecodeResult::kCorrupt) {
        spdlog::warn(
            "commit log: invalid record at offset {} in {}; the log "
            "ends there",
            file.start_offset() + pos, file.path());
      }
      break;
    }
    if (!next_file) break;
  }
  if (absl::Status s = files_.TruncateTo(end, zero_tail); !s.ok()) return s;
  return end;
}

PutResult CommitLog::Refuse(PutStatus status, std::string error) const {
  PutResult result;
  result.status = status;
  result.error = std::move(error);
  return result;
}

PutResult CommitLog::Append(const std::vector<MessageToStore>& messages) {
  if (messages.empty()) {
    return Refuse(PutStatus::kMessageIllegal, "no message to store");
  }
  int64_t total = 0;
  for (const MessageToStore& m : messages) {
    if (m.topic.empty() || m.topic.size() > 127) {
      return Refuse(PutStatus::kMessageIllegal,
                    absl::StrCat("topic length ", m.topic.size(),
                                 " is not within 1..127"));
    }
    if (static_cast<int64_t>(m.body.size()) > max_message_size_) {
      return Refuse(
          PutStatus::kMessageIllegal,
          absl::StrCat("message body of ", m.body.size(),
                       " bytes exceeds maxMessageSize ", max_message_size_));
    }
    if (m.properties.size() > static_cast<size_t>(kMaxRecordPropertiesSize)) {
      return Refuse(PutStatus::kMessageIllegal,
                    absl::StrCat("properties of ", m.properties.size(),
                                 " bytes exceed ", kMaxRecordPropertiesSize));
    }
    total += RecordSize(m);
  }
  if (total + kEndFileMinBlankLength > files_.file_size()) {
    return Refuse(PutStatus::kMessageIllegal,
                  absl::StrCat("records of ", total,
                               " bytes do not fit in a commit log segment of ",
                               files_.file_size()));
  }

  absl::MutexLock lock(&mu_);
  absl::StatusOr<std::shared_ptr<MappedFile>> file = files_.LastFileForWrite(0);
  if (file.ok() && (*file)->remaining() < total + kEndFileMinBlankLength) {
    // Close the segment with a blank record; the batch goes to the next one.
    MappedFile& full = **file;
    int64_t pos = full.wrote_position();
    char blank[kEndFileMinBlankLength];
    PutBig32(blank, static_cast<int32_t>(full.size() - pos));
    PutBig32(blank + 4, kBlankMagic);
    if (absl::Status s = Write(full, pos, absl::string_view(blank, 8));
        !s.ok()) {
      return Refuse(PutStatus::kServiceNotAvailable, std::string(s.message()));
    }
    full.set_data_end(pos + kEndFileMinBlankLength);
    full.set_wrote_position(full.size());
    file = files_.LastFileForWrite(0);
  }
  if (!file.ok()) {
    return Refuse(PutStatus::kServiceNotAvailable,
                  absl::StrCat("cannot create commit log segment: ",
                               file.status().message()));
  }
  MappedFile& segment = **file;
  const int64_t start_pos = segment.wrote_position();
  PutResult result;
  result.store_timestamp = clock_();
  result.physical_offset = segment.start_offset() + start_pos;
  result.message_count = static_cast<int32_t>(messages.size());
  result.offset_msg_ids.reserve(messages.size());
  // Encoded in place when writing through the mapping, else into scratch_.
  char* out = segment.data() + start_pos;
  if (write_through_) {
    scratch_.resize(static_cast<size_t>(total));
    out = scratch_.data();
  }
  // Queue offsets move only once the records are written.
  std::vector<int64_t*> taken;
  taken.reserve(messages.size());
  int64_t pos = start_pos;
  for (const MessageToStore& m : messages) {
    int64_t* next = &queue_offsets_(m.topic, m.queue_id);
    int64_t already = std::count(taken.begin(), taken.end(), next);
    StoreStamp stamp;
    const bool gets_queue_offset = GetsQueueOffset(m.sys_flag);
    stamp.queue_offset = gets_queue_offset ? *next + already : 0;
    stamp.physical_offset = segment.start_offset() + pos;
    stamp.store_timestamp = result.store_timestamp;
    stamp.store_ip = store_ip_;
    stamp.store_port = store_port_;
    EncodeRecord(m, stamp, out + (pos - start_pos));
    if (result.queue_offset < 0) result.queue_offset = stamp.queue_offset;
    if (gets_queue_offset) taken.push_back(next);
    result.offset_msg_ids.push_back(
        OffsetMessageId(store_ip_, store_port_, stamp.physical_offset));
    pos += RecordSize(m);
  }
  if (write_through_) {
    if (absl::Status s = segment.WriteAt(start_pos, scratch_); !s.ok()) {
      return Refuse(PutStatus::kServiceNotAvailable, std::string(s.message()));
    }
  }
  for (int64_t* next : taken) ++*next;
  segment.set_wrote_position(pos);
  result.size = static_cast<int32_t>(pos - start_pos);
  result.end_offset = segment.start_offset() + pos;
  result.status = PutStatus::kOk;
  return result;
}

absl::Status CommitLog::Write(MappedFile& file, int64_t pos,
                              absl::string_view bytes) {
  if (write_through_) return file.WriteAt(pos, bytes);
  std::memcpy(file.data() + pos, bytes.data(), bytes.size());
  return absl::OkStatus();
}

bool CommitLog::Read(int64_t offset, int32_t size, RecordSlice* out) const {
  std::shared_ptr<MappedFile> file = files_.FindByOffset(offset);
  if (file == nullptr || size <= 0) return false;
  int64_t pos = offset - file->start_offset();
  if (pos + size > file->wrote_position()) return false;
  out->data = file->data() + pos;
  out->size = size;
  out->file = std::move(file);
  return true;
}

bool CommitLog::ReadRecordAt(int64_t offset, RecordSlice* out) const {
  std::shared_ptr<MappedFile> file = files_.FindByOffset(offset);
  if (file == nullptr) return false;
  int64_t pos = offset - file->start_offset();
  if (pos + 4 > file->wrote_position()) return false;
  return Read(offset, GetBig32(file->data() + pos), out);
}

bool CommitLog::ReadFrom(int64_t offset, RecordSlice* out) const {
  std::shared_ptr<MappedFile> file = files_.FindByOffset(offset);
  if (file == nullptr) return false;
  int64_t pos = offset - file->start_offset();
  int64_t wrote = file->wrote_position();
  if (pos >= wrote) return false;
  out->data = file->data() + pos;
  out->size = static_cast<int32_t>(wrote - pos);
  out->file = std::move(file);
  return true;
}

bool CommitLog::ReadForReplica(int64_t offset, int64_t max_bytes,
                               RecordSlice* out) const {
  RecordSlice all;
  if (!ReadFrom(offset, &all)) return false;
  int64_t taken = 0;
  while (taken + kEndFileMinBlankLength <= all.size) {
    const char* at = all.data + taken;
    const int32_t size = GetBig32(at);
    if (GetBig32(at + 4) == kBlankMagic) {
      taken += kEndFileMinBlankLength;  // the slave closes its segment too
      break;
    }
    if (size <= 0 || taken + size > all.size) break;
    if (taken > 0 && taken + size > max_bytes) break;
    taken += size;
  }
  if (taken == 0) return false;
  out->file = std::move(all.file);
  out->data = all.data;
  out->size = static_cast<int32_t>(taken);
  return true;
}

namespace {

// Checks that `bytes`, to be written at `offset`, are whole valid records
// stamped with their own offsets, optionally closed by the segment's blank
// (`segment_left` bytes remain in the segment at `offset`). Collects the
// next queue offset of every topic-queue seen.
absl::Status CheckReplicaBytes(
    int64_t offset, absl::string_view bytes, int64_t segment_left,
    bool* ends_segment,
    std::vector<std::pair<RecordView, int64_t>>* next_queue_offsets) {
  int64_t p = 0;
  const int64_t n = static_cast<int64_t>(bytes.size());
  *ends_segment = false;
  while (p < n) {
    const char* at = bytes.data() + p;
    if (n - p == kEndFileMinBlankLength && GetBig32(at + 4) == kBlankMagic) {
      if (GetBig32(at) != segment_left - p) {
        return absl::DataLossError(
            absl::StrCat("replicated blank at offset ", offset + p, " claims ",
                         GetBig32(at), " bytes but the segment has ",
                         segment_left - p, " left: segment sizes differ"));
      }
      *ends_segment = true;
      return absl::OkStatus();
    }
    RecordView view;
    if (DecodeRecord(at, n - p, /*check_crc=*/true, &view) !=
            DecodeResult::kRecord ||
        view.physical_offset != offset + p) {
      return absl::DataLossError(
          absl::StrCat("replicated bytes at offset ", offset + p,
                       " are not a valid record stamped with that offset"));
    }
    if (GetsQueueOffset(view.sys_flag)) {
      next_queue_offsets->emplace_back(view, view.queue_offset + 1);
    }
    p += view.total_size;
  }
  if (p > segment_left - kEndFileMinBlankLength) {
    return absl::DataLossError(absl::StrCat("replicated records at offset ",
                                            offset, " overrun the segment"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<int64_t> CommitLog::AppendReplica(int64_t offset,
                                                 absl::string_view bytes) {
  absl::MutexLock lock(&mu_);
  const int64_t end = files_.MaxOffset();
  const bool empty = files_.LastFile() == nullptr;
  if (empty ? offset % files_.file_size() != 0 : offset != end) {
    return absl::FailedPreconditionError(
        absl::StrCat("replicated bytes start at ", offset,
                     " but the commit log ends at ", end));
  }
  absl::StatusOr<std::shared_ptr<MappedFile>> file =
      files_.LastFileForWrite(offset);
  if (!file.ok()) return file.status();
  MappedFile& segment = **file;
  const int64_t pos = segment.wrote_position();
  if (segment.start_offset() + pos != offset) {
    return absl::InternalError(
        absl::StrCat("segment ", segment.path(), " does not end at ", offset));
  }
  bool ends_segment = false;
  std::vector<std::pair<RecordView, int64_t>> next_queue_offsets;
  if (absl::Status s = CheckReplicaBytes(offset, bytes, segment.size() - pos,
                                         &ends_segment, &next_queue_offsets);
      !s.ok()) {
    return s;
  }
  if (absl::Status s = Write(segment, pos, bytes); !s.ok()) return s;
  for (const auto& [view, next] : next_queue_offsets) {
    queue_offsets_(view.topic, view.queue_id) = next;
  }
  if (ends_segment) {
    segment.set_data_end(pos + static_cast<int64_t>(bytes.size()));
  }
  segment.set_wrote_position(
      ends_segment ? segment.size() : pos + static_cast<int64_t>(bytes.size()));
  return segment.start_offset() + segment.wrote_position();
}

namespace {

// Hops over the record heads of a closed segment to its closing blank;
// returns the position just past the blank's head, or -1 if the records do
// not lead to one.
int64_t FindClosingBlank(const MappedFile& file) {
  int64_t pos = 0;
  while (pos + kEndFileMinBlankLength <= file.size()) {
    const char* at = file.data() + pos;
    const int32_t size = GetBig32(at);
    const int32_t magic = GetBig32(at + 4);
    if (magic == kBlankMagic) return pos + kEndFileMinBlankLength;
    if (magic != kMessageMagic || size <= 0 || pos + size > file.size()) {
      return -1;
    }
    pos += size;
  }
  return -1;
}

}  // namespace

int64_t CommitLog::WrittenEndBefore(int64_t offset) const {
  if (offset <= 0 || offset % files_.file_size() != 0) return offset;
  std::shared_ptr<MappedFile> previous = files_.FindByOffset(offset - 1);
  if (previous == nullptr || !previous->full()) return -1;
  if (previous->data_end() < 0) {
    // Closed before this process and not scanned by recovery: found once,
    // reading the segment's record heads.
    previous->set_data_end(FindClosingBlank(*previous));
  }
  if (previous->data_end() < 0) return -1;
  return previous->start_offset() + previous->data_end();
}

int64_t CommitLog::CountRecords(int64_t from, int64_t to, int64_t limit) const {
  int64_t count = 0;
  while (from < to && count < limit) {
    RecordSlice segment;
    if (!ReadFrom(from, &segment)) break;
    int64_t p = 0;
    bool blank = false;
    while (p + kEndFileMinBlankLength <= segment.size && from + p < to &&
           count < limit) {
      const char* at = segment.data + p;
      if (GetBig32(at + 4) == kBlankMagic) {
        blank = true;
        break;
      }
      const int32_t size = GetBig32(at);
      if (size <= 0) return count;
      ++count;
      p += size;
    }
    if (blank) {
      from = RollNextFile(from);
    } else if (p == 0) {
      break;
    } else {
      from += p;
    }
  }
  return count;
}

int64_t CommitLog::RollNextFile(int64_t offset) const {
  int64_t size = files_.file_size();
  return offset + size - offset % size;
}

void CommitLog::SetNextQueueOffset(absl::string_view topic, int32_t queue_id,
                                   int64_t next) {
  absl::MutexLock lock(&mu_);
  queue_offsets_(topic, queue_id) = next;
}

int64_t CommitLog::NextQueueOffset(absl::string_view topic,
                                   int32_t queue_id) const {
  absl::MutexLock lock(&mu_);
  const int64_t* next = queue_offsets_.Find(topic, queue_id);
  return next == nullptr ? 0 : *next;
}

void CommitLog::RemoveTopic(absl::string_view topic) {
  absl::MutexLock lock(&mu_);
  queue_offsets_.EraseTopic(topic);
}

}  // namespace cometmq::store
