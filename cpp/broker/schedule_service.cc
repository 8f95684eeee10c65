#include "cpp/broker/schedule_service.h"

#include <pthread.h>

#include <algorithm>
#include <limits>
#include <optional>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "cpp/broker/config_file.h"
#include "cpp/broker/topic_config_manager.h"
#include "spdlog/spdlog.h"

namespace cometmq::broker {
namespace {

constexpr int64_t kNever = std::numeric_limits<int64_t>::max();
constexpr int kBatch = 32;
constexpr int64_t kBatchBytes = 4 << 20;
// Nothing pending: look again after this even without a Wake().
constexpr int64_t kIdleTickMs = 1000;
// A re-put that failed (disk full, store stopping) is retried after this.
constexpr int64_t kErrorRetryMs = 1000;
// A message due later than now + its delay + this was stored before the
// clock stepped back (smaller steps only delay it by as much).
constexpr int64_t kClockStepMs = 1000;
// Bound on levels read from the progress file or found in the store.
constexpr int kMaxLevels = 1024;
// Progress a pass moved is written at most this often (one small file and
// two fsyncs), and so this long after the pass at most, unless the commit
// log is not flushed yet; flushDelayOffsetInterval may make it shorter.
constexpr absl::Duration kSaveGap = absl::Milliseconds(100);

}  // namespace

ScheduleService::ScheduleService(DelayLevels levels, std::string offset_path,
                                 absl::Duration persist_interval)
    : levels_(std::move(levels)),
      file_(std::move(offset_path)),
      persist_interval_(persist_interval),
      offsets_(static_cast<size_t>(levels_.count()), 0),
      saveable_(offsets_) {}

ScheduleService::~ScheduleService() { Shutdown(); }

absl::Status ScheduleService::Load() {
  absl::StatusOr<std::optional<std::string>> text =
      ReadFileIfExists(file_.path());
  if (!text.ok()) return text.status();
  if (!text->has_value()) return absl::OkStatus();
  if (absl::Status s = Apply(**text, file_.path()); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  saveable_ = offsets_;  // what the file says
  return absl::OkStatus();
}

absl::Status ScheduleService::Replace(absl::string_view encoded) {
  if (absl::Status s = Apply(encoded, "master's delay offsets"); !s.ok()) {
    return s;
  }
  file_.MarkChanged();
  return Persist();
}

std::string ScheduleService::EncodeTable(const std::vector<int64_t>& offsets) {
  std::vector<std::string> entries;
  for (size_t i = 0; i < offsets.size(); ++i) {
    entries.push_back(absl::StrCat("\"", i + 1, "\":", offsets[i]));
  }
  return absl::StrCat("{\"offsetTable\":{", absl::StrJoin(entries, ","),
                      "}}\n");
}

std::string ScheduleService::Encode(int64_t* copies_end) const {
  absl::MutexLock lock(&mu_);
  if (copies_end != nullptr) {
    *copies_end = std::max(copies_end_, start_log_end_);
  }
  return EncodeTable(offsets_);
}

absl::Status ScheduleService::Apply(absl::string_view all,
                                    absl::string_view source) {
  // {"offsetTable":{"1":12,"2":0}}
  const size_t table = all.find("\"offsetTable\"");
  const size_t open =
      all.find('{', table == absl::string_view::npos ? 0 : table);
  const size_t close =
      all.find('}', open == absl::string_view::npos ? 0 : open);
  if (table == absl::string_view::npos || open == absl::string_view::npos ||
      close == absl::string_view::npos) {
    return absl::DataLossError(absl::StrCat(source, ": no offsetTable object"));
  }
  // Checked whole before any of it is applied.
  std::vector<std::pair<int, int64_t>> parsed;
  for (absl::string_view pair :
       absl::StrSplit(all.substr(open + 1, close - open - 1), ',',
                      absl::SkipWhitespace())) {
    std::vector<absl::string_view> kv = absl::StrSplit(pair, ':');
    int level = 0;
    int64_t offset = 0;
    absl::string_view key =
        kv.empty() ? absl::string_view() : absl::StripAsciiWhitespace(kv[0]);
    if (kv.size() != 2 || !absl::ConsumePrefix(&key, "\"") ||
        !absl::ConsumeSuffix(&key, "\"") || !absl::SimpleAtoi(key, &level) ||
        !absl::SimpleAtoi(kv[1], &offset) || offset < 0) {
      return absl::DataLossError(
          absl::StrCat(source, ": bad entry '", pair, "'"));
    }
    parsed.emplace_back(level, offset);
  }
  absl::MutexLock lock(&mu_);
  for (const auto& [level, offset] : parsed) {
    // Levels beyond today's table (it was shortened) keep their progress:
    // their queues are still delivered (see Start) and the table may grow
    // again.
    if (level >= 1 && level <= kMaxLevels) {
      if (static_cast<size_t>(level) > offsets_.size()) {
        offsets_.resize(static_cast<size_t>(level), 0);
      }
      offsets_[static_cast<size_t>(level - 1)] = offset;
    }
  }
  return absl::OkStatus();
}

bool ScheduleService::TakeSaveable() {
  // Read before the progress: a copy re-put meanwhile only counts as not
  // flushed yet.
  const int64_t flushed = store_ == nullptr
                              ? std::numeric_limits<int64_t>::max()
                              : store_->FlushedOffset();
  absl::MutexLock lock(&mu_);
  if (held_back_.has_value() && held_back_->copies_end <= flushed) {
    saveable_ = std::move(held_back_->offsets);
    held_back_.reset();
    file_.MarkChanged();
  }
  if (copies_end_ <= flushed) {
    held_back_.reset();
    if (saveable_ != offsets_) {
      saveable_ = offsets_;
      file_.MarkChanged();
    }
  } else if (!held_back_.has_value()) {
    // Written once the flush reaches it, even if the level moves on
    // meanwhile (waiting for a flush past a moving end could wait forever
    // under steady load).
    held_back_ = HeldBack{offsets_, copies_end_};
  }
  return held_back_.has_value();
}

bool ScheduleService::Unsaved() const {
  absl::MutexLock lock(&mu_);
  return held_back_.has_value() || saveable_ != offsets_ || file_.changed();
}

absl::Status ScheduleService::Persist() {
  if (TakeSaveable() && store_ != nullptr) {
    // The copies are in the page cache only: a machine crash could lose
    // them, so the progress past them waits for the commit log's flush.
    store_->RequestFlush();
  }
  return file_.Persist([this] {
    absl::MutexLock lock(&mu_);
    return EncodeTable(saveable_);
  });
}

int64_t ScheduleService::Offset(int level) const {
  absl::MutexLock lock(&mu_);
  if (level < 1 || static_cast<size_t>(level) > offsets_.size()) return 0;
  return offsets_[static_cast<size_t>(level - 1)];
}

bool ScheduleService::Stopping() const {
  absl::MutexLock lock(&mu_);
  return stop_;
}

int ScheduleService::WalkedLevels() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(offsets_.size());
}

void ScheduleService::AdoptStrandedLevels() {
  // Queues of levels a shortened messageDelayLevel no longer names: their
  // messages are delivered with the longest configured delay rather than
  // never.
  int highest = 0;
  for (const auto& [topic, queue_ids] : store_->Queues()) {
    if (topic != kScheduleTopic) continue;
    for (int32_t id : queue_ids) highest = std::max(highest, id + 1);
  }
  highest = std::min(highest, kMaxLevels);
  absl::MutexLock lock(&mu_);
  if (static_cast<size_t>(highest) > offsets_.size()) {
    offsets_.resize(static_cast<size_t>(highest), 0);
    saveable_.resize(offsets_.size(), 0);
  }
  for (size_t level = levels_.count() + 1; level <= offsets_.size(); ++level) {
    const int64_t waiting =
        store_->MaxOffsetInQueue(kScheduleTopic,
                                 static_cast<int32_t>(level - 1)) -
        offsets_[level - 1];
    if (waiting <= 0) continue;
    spdlog::warn(
        "delay level {} is not in messageDelayLevel ({} levels) but {} "
        "message(s) wait on its queue; they are delivered {} ms after they "
        "were stored (the last level's delay)",
        level, levels_.count(), waiting, levels_.DelayMs(levels_.count()));
  }
}

void ScheduleService::SetOffset(int level, int64_t offset, int64_t copy_end) {
  absl::MutexLock lock(&mu_);
  offsets_[static_cast<size_t>(level - 1)] = offset;
  copies_end_ = std::max(copies_end_, copy_end);
}

void ScheduleService::Start(store::MessageStore* store) {
  store_ = store;
  {
    absl::MutexLock lock(&mu_);
    start_log_end_ = store->MaxPhysicalOffset();
  }
  AdoptStrandedLevels();
  thread_ = std::thread([this] { Run(); });
}

void ScheduleService::Wake() {
  absl::MutexLock lock(&mu_);
  woken_ = true;
}

void ScheduleService::Shutdown() {
  if (!thread_.joinable()) return;
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  thread_.join();
  if (absl::Status s = Persist(); !s.ok()) {
    spdlog::error("cannot persist delay offsets: {}", s.ToString());
  }
}

bool ScheduleService::SaveIfDue() {
  if (!Unsaved()) return false;
  if (absl::Now() >= next_save_) {
    absl::Status s = Persist();
    // A failing disk is tried again at the configured pace.
    next_save_ = absl::Now() + (s.ok() ? std::min(persist_interval_, kSaveGap)
                                       : persist_interval_);
    if (!s.ok()) {
      spdlog::error("cannot persist delay offsets: {}", s.ToString());
    }
  }
  return Unsaved();
}

void ScheduleService::Run() {
  pthread_setname_np(pthread_self(), "broker-schedule");
  while (true) {
    const int64_t now_ms = absl::ToUnixMillis(absl::Now());
    int64_t next_ms = now_ms + kIdleTickMs;
    for (int level = 1; level <= WalkedLevels(); ++level) {
      next_ms = std::min(next_ms, DeliverLevel(level, now_ms));
    }
    if (SaveIfDue())
      next_ms = std::min(next_ms, absl::ToUnixMillis(next_save_));
    absl::MutexLock lock(&mu_);
    auto ready = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
      return stop_ || woken_;
    };
    mu_.AwaitWithDeadline(absl::Condition(&ready),
                          absl::FromUnixMillis(next_ms));
    if (stop_) return;
    woken_ = false;
  }
}

int64_t ScheduleService::DeliverLevel(int level, int64_t now_ms) {
  const int32_t queue_id = level - 1;
  while (true) {
    if (Stopping()) return kNever;
    const int64_t offset = Offset(level);
    store::GetResult got =
        store_->Get(kScheduleTopic, queue_id, offset, kBatch, kBatchBytes, {});
    switch (got.status) {
      case store::GetStatus::kFound:
        break;
      case store::GetStatus::kOffsetTooSmall:
      case store::GetStatus::kOffsetOverflowBadly:
      case store::GetStatus::kOffsetFoundNull:
        if (got.next_begin_offset == offset) return kNever;
        spdlog::warn("delay level {}: progress {} moved to {} ({})", level,
                     offset, got.next_begin_offset,
                     store::GetStatusName(got.status));
        SetOffset(level, got.next_begin_offset);
        continue;
      default:
        return kNever;  // nothing (new) in the queue
    }
    // A level with messages due without end still has its progress
    // written, batch by batch.
    SaveIfDue();
    int64_t next = offset;
    for (const store::RecordSlice& slice : got.messages) {
      // Each re-put may wait up to syncFlushTimeout: look for a stop
      // between them.
      if (Stopping()) return kNever;
      RecordView record;
      if (DecodeRecord(slice.data, slice.size, /*check_crc=*/false, &record) !=
          DecodeResult::kRecord) {
        spdlog::error("delay level {}: unreadable record at queue offset {}",
                      level, next);
        SetOffset(level, ++next);
        continue;
      }
      // Store times are whole milliseconds, cut down from the real instant,
      // so `due` may be up to 1 ms early: wait until it has fully passed.
      int64_t due = levels_.DeliverTimestamp(record);
      // Against the clock read now: `now_ms` may be older than the record.
      if (due - absl::ToUnixMillis(absl::Now()) >
          levels_.DelayMs(level) + kClockStepMs) {
        // Stored after now by the clock: it stepped back since. Waiting out
        // the step would hold this level's every message as long; as
        // RocketMQ does, it is due now.
        spdlog::warn(
            "delay level {}: message at queue offset {} is due {} ms from "
            "now, more than the level's delay (the clock stepped back); "
            "delivered now",
            level, record.queue_offset, due - now_ms);
        due = now_ms - 1;
      }
      if (due >= now_ms) return due + 1;
      MessageToStore message;
      int64_t copy_end = 0;
      if (!RestoreFromDelay(record, &message)) {
        spdlog::error("delay level {}: message at queue offset {} has no {}",
                      level, record.queue_offset, kPropertyRealTopic.data());
      } else {
        store::PutResult put = store_->PutOneSync(std::move(message));
        if (!store::PutStored(put.status)) {
          if (put.status != store::PutStatus::kMessageIllegal) {
            spdlog::warn("delay level {}: re-put failed ({}); retrying", level,
                         put.error);
            return now_ms + kErrorRetryMs;
          }
          spdlog::error(
              "delay level {}: message at queue offset {} dropped: {}", level,
              record.queue_offset, put.error);
        } else {
          delivered_.fetch_add(1);
          copy_end = put.end_offset;
        }
      }
      next = record.queue_offset + 1;
      SetOffset(level, next, copy_end);
    }
  }
}

}  // namespace cometmq::broker
