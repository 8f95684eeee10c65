#include "cpp/store/message_store.h"

#include <fcntl.h>
#include <pthread.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "cpp/common/byte_order.h"
#include "spdlog/spdlog.h"

namespace cometmq::store {

namespace fs = std::filesystem;

const char* GetStatusName(GetStatus status) {
  switch (status) {
    case GetStatus::kFound:
      return "FOUND";
    case GetStatus::kNoMatchedMessage:
      return "NO_MATCHED_MESSAGE";
    case GetStatus::kNoMessageInQueue:
      return "NO_MESSAGE_IN_QUEUE";
    case GetStatus::kOffsetTooSmall:
      return "OFFSET_TOO_SMALL";
    case GetStatus::kOffsetOverflowOne:
      return "OFFSET_OVERFLOW_ONE";
    case GetStatus::kOffsetOverflowBadly:
      return "OFFSET_OVERFLOW_BADLY";
    case GetStatus::kOffsetFoundNull:
      return "OFFSET_FOUND_NULL";
    case GetStatus::kNoMatchedLogicQueue:
      return "NO_MATCHED_LOGIC_QUEUE";
  }
  return "UNKNOWN";
}

namespace {

// How far past the commit log's end pages are kept mapped: a few hundred
// milliseconds of appends at full speed, and a trifle of page cache.
constexpr int64_t kPrefaultWindow = 8 << 20;

// One page: room for a small record and the blank that closes a segment.
constexpr int64_t kMinCommitLogFileSize = 4096;

StoreHooks WithDefaults(StoreHooks hooks, const StoreConfig& config) {
  if (!hooks.now_ms) {
    hooks.now_ms = [] { return absl::ToUnixMillis(absl::Now()); };
  }
  if (!hooks.disk_used_ratio) {
    std::string root = config.storePathRootDir;
    hooks.disk_used_ratio = [root] { return DiskUsedRatio(root); };
  }
  if (!hooks.local_hour) {
    auto now = hooks.now_ms;
    hooks.local_hour = [now] {
      return absl::ToCivilHour(absl::FromUnixMillis(now()),
                               absl::LocalTimeZone())
          .hour();
    };
  }
  if (!hooks.tags_code) {
    hooks.tags_code = [](const RecordView& r) -> int64_t {
      auto tags = FindProperty(r.properties, kPropertyTags);
      return tags ? TagsHashCode(*tags) : 0;
    };
  }
  return hooks;
}

}  // namespace

MessageStore::MessageStore(const StoreConfig& config, StoreHooks hooks)
    : config_(config),
      hooks_(WithDefaults(std::move(hooks), config)),
      commit_log_(config.CommitLogDir(), config.mappedFileSizeCommitLog,
                  config.maxMessageSize, hooks_.store_ip, hooks_.store_port,
                  hooks_.now_ms, /*write_through=*/config.sync_flush()),
      index_(config.IndexDir(), config.maxHashSlotNum, config.maxIndexNum),
      retention_(config,
                 RetentionPolicy::Hooks{hooks_.now_ms, hooks_.disk_used_ratio,
                                        hooks_.local_hour}) {}

absl::StatusOr<std::unique_ptr<MessageStore>> MessageStore::Open(
    const StoreConfig& config, StoreHooks hooks) {
  if (absl::StatusOr<std::set<int>> hours = ParseDeleteWhen(config.deleteWhen);
      !hours.ok()) {
    return hours.status();
  }
  // Smaller segments cannot hold a record (or a consume queue entry); the
  // store would divide by a zero file size at the first message.
  if (config.mappedFileSizeCommitLog < kMinCommitLogFileSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("mappedFileSizeCommitLog ", config.mappedFileSizeCommitLog,
                     " is smaller than ", kMinCommitLogFileSize, " bytes"));
  }
  if (config.mappedFileSizeConsumeQueue < kConsumeQueueEntrySize) {
    return absl::InvalidArgumentError(absl::StrCat(
        "mappedFileSizeConsumeQueue ", config.mappedFileSizeConsumeQueue,
        " is smaller than one ", kConsumeQueueEntrySize, "-byte entry"));
  }
  std::unique_ptr<MessageStore> store(
      new MessageStore(config, std::move(hooks)));
  if (absl::Status s = store->Load(); !s.ok()) return s;
  return store;
}

MessageStore::~MessageStore() { Shutdown(); }

absl::Status MessageStore::Load() {
  std::error_code ec;
  fs::create_directories(config_.storePathRootDir, ec);
  if (ec) {
    return absl::InternalError(absl::StrCat(
        "cannot create ", config_.storePathRootDir, ": ", ec.message()));
  }
  lock_fd_ =
      ::open(config_.LockPath().c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock_fd_ < 0 || ::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("store directory ", config_.storePathRootDir,
                     " is in use by another process"));
  }
  bool crashed = fs::exists(config_.AbortPath());
  if (absl::Status s = CreateAbortMarker(); !s.ok()) return s;
  absl::StatusOr<Checkpoint> checkpoint =
      Checkpoint::Load(config_.CheckpointPath());
  if (!checkpoint.ok()) return checkpoint.status();
  if (absl::Status s = commit_log_.Load(); !s.ok()) return s;
  if (absl::Status s = LoadConsumeQueues(); !s.ok()) return s;
  if (absl::Status s = index_.Load(); !s.ok()) return s;
  if (absl::Status s = Recover(crashed, *checkpoint); !s.ok()) return s;

  dispatcher_ = std::make_unique<Dispatcher>(
      &commit_log_, [this] { return DispatchLimit(); },
      [this](const RecordView& r) {
        return DispatchRecord(r, /*notify=*/true);
      },
      [this] {
        for (const std::shared_ptr<ConsumeQueue>& cq : arrived_) {
          cq->set_arrival_pending(false);
          if (hooks_.on_arrival) {
            hooks_.on_arrival(cq->topic(), cq->queue_id(), cq->max_offset());
          }
        }
        arrived_.clear();
      });
  FlushOptions flush_options;
  flush_options.sync_flush = config_.sync_flush();
  flush_options.interval = absl::Milliseconds(config_.flushIntervalCommitLog);
  flush_options.least_pages = config_.flushCommitLogLeastPages;
  flush_options.thorough_interval =
      absl::Milliseconds(config_.flushCommitLogThoroughInterval);
  flush_options.sync_timeout = absl::Milliseconds(config_.syncFlushTimeout);
  flush_options.fault = hooks_.flush_fault;
  flush_ = std::make_unique<FlushService>(
      &commit_log_.files(), flush_options,
      [this](int64_t) { dispatcher_->Wakeup(); });
  flush_->Start();
  // Only when appends store through the mapping. SYNC_FLUSH appends with
  // pwrite, and there pages mapped ahead made every group commit's
  // writeback dearer (paired runs: 26.6k vs 31.7k sends/s, broker 29.7 vs
  // 21.6 us per message).
  if (!config_.sync_flush()) {
    prefaulter_ = std::make_unique<Prefaulter>(
        &commit_log_.files(), kPrefaultWindow, absl::Milliseconds(10));
    prefaulter_->Start();
  }
  dispatcher_->Start(recovered_dispatch_end_);
  // Also before serving: recovery starts each consume queue at its first
  // file's first entry, which may point below the commit log's start.
  RunRetention();
  background_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "store-service");
    RunBackground();
  });
  return absl::OkStatus();
}

absl::Status MessageStore::LoadConsumeQueues() {
  std::error_code ec;
  fs::create_directories(config_.ConsumeQueueDir(), ec);
  absl::MutexLock lock(&queues_mu_);
  for (const auto& topic_dir :
       fs::directory_iterator(config_.ConsumeQueueDir(), ec)) {
    if (!topic_dir.is_directory()) continue;
    std::string topic = topic_dir.path().filename().string();
    for (const auto& queue_dir : fs::directory_iterator(topic_dir.path(), ec)) {
      int32_t queue_id;
      if (!absl::SimpleAtoi(queue_dir.path().filename().string(), &queue_id)) {
        continue;
      }
      auto cq = std::make_shared<ConsumeQueue>(
          topic, queue_id, queue_dir.path().string(),
          config_.mappedFileSizeConsumeQueue);
      if (absl::Status s = cq->Load(); !s.ok()) return s;
      cq->Recover();
      queues_(topic, queue_id) = std::move(cq);
    }
  }
  return absl::OkStatus();
}

absl::Status MessageStore::Recover(bool crashed, const Checkpoint& checkpoint) {
  recovered_from_crash_ = crashed;
  std::shared_ptr<MappedFile> last = commit_log_.files().LastFile();
  int64_t min = commit_log_.MinOffset();
  int64_t last_start = last ? last->start_offset() : 0;
  int64_t safe = std::max(min, checkpoint.dispatch_flushed_offset);
  if (safe > min && AllQueues().empty()) {
    // The checkpoint vouches for consume queues that are not there (their
    // directory was removed, as RocketMQ users do to have them rebuilt):
    // trusting it would leave every stored message unreadable, and new
    // messages would take queue offsets the log already holds.
    spdlog::warn(
        "store {}: no consume queue on disk, but the checkpoint says the "
        "commit log was dispatched up to {}; rebuilding them from {}",
        config_.storePathRootDir, safe, min);
    safe = min;
  }
  int64_t scan_from = crashed ? safe : std::min(safe, last_start);
  if (crashed) {
    spdlog::warn(
        "store {} was not shut down cleanly; recovering from commit "
        "log offset {}",
        config_.storePathRootDir, scan_from);
  }
  absl::StatusOr<int64_t> end = commit_log_.Recover(
      scan_from, INT64_MAX, /*zero_tail=*/crashed, [](const RecordView&) {});
  if (!end.ok()) return end.status();
  for (auto& cq : AllQueues()) {
    if (absl::Status s = cq->TruncateDirty(*end); !s.ok()) return s;
  }
  int64_t dispatch_from = std::min(safe, *end);
  // Records past one that cannot be dispatched are left to the dispatcher,
  // which retries; their queue offsets still count, so appends after
  // recovery do not reuse them.
  recovered_dispatch_end_ = *end;
  TopicQueueMap<int64_t> undispatched_next;
  if (dispatch_from < *end) {
    absl::StatusOr<int64_t> again = commit_log_.Recover(
        dispatch_from, dispatch_from, /*zero_tail=*/false,
        [&](const RecordView& r) {
          if (recovered_dispatch_end_ == *end) {
            if (DispatchRecord(r, /*notify=*/false).ok()) return;
            recovered_dispatch_end_ = r.physical_offset;
          }
          if (GetsQueueOffset(r.sys_flag)) {
            int64_t& next = undispatched_next(r.topic, r.queue_id);
            next = std::max(next, r.queue_offset + 1);
          }
        });
    if (!again.ok()) return again.status();
  }
  for (auto& cq : AllQueues()) {
    commit_log_.SetNextQueueOffset(cq->topic(), cq->queue_id(),
                                   cq->max_offset());
  }
  undispatched_next.ForEach(
      [this](const std::string& topic, int32_t queue_id, int64_t next) {
        if (next > commit_log_.NextQueueOffset(topic, queue_id)) {
          commit_log_.SetNextQueueOffset(topic, queue_id, next);
        }
      });
  if (crashed) {
    if (absl::Status s = SyncRecoveredFiles(); !s.ok()) return s;
  }
  spdlog::info("store {} recovered: commit log [{}, {}), re-dispatched from {}",
               config_.storePathRootDir, min, *end, dispatch_from);
  return absl::OkStatus();
}

absl::Status MessageStore::SyncRecoveredFiles() {
  // Recovery keeps what the crashed process wrote, but part of it may only
  // be in the page cache, and the flushed positions now say otherwise: no
  // later flush would write it out. Without this, a power cut could still
  // take those bytes back after the store acknowledged a SYNC_FLUSH append
  // behind them (the cut ends the log before the acknowledged record), or
  // after the checkpoint vouched for consume queue entries never written
  // out. syncfs also makes the segments recovery removed stay removed. Only
  // after a crash, so the cost of flushing the whole filesystem is rare.
  for (const std::string& dir :
       {config_.CommitLogDir(), config_.ConsumeQueueDir(), config_.IndexDir(),
        config_.storePathRootDir}) {
    int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) continue;  // not created: nothing of it to put on disk
    const bool ok = ::syncfs(fd) == 0;
    const int err = errno;
    ::close(fd);
    if (!ok) {
      return absl::InternalError(
          absl::StrCat("cannot put the recovered store on disk (syncfs ", dir,
                       "): ", std::strerror(err)));
    }
  }
  return absl::OkStatus();
}

int64_t MessageStore::DispatchLimit() const {
  return config_.sync_flush() ? commit_log_.files().flushed_where()
                              : commit_log_.MaxOffset();
}

absl::Status MessageStore::DispatchRecord(const RecordView& record,
                                          bool notify) {
  if (GetsQueueOffset(record.sys_flag)) {
    absl::StatusOr<std::shared_ptr<ConsumeQueue>> cq =
        FindOrCreateQueue(record.topic, record.queue_id);
    absl::Status s = cq.status();
    if (cq.ok()) {
      s = (*cq)->Put(
          ConsumeQueue::Entry{record.physical_offset, record.total_size,
                              hooks_.tags_code(record)},
          record.queue_offset);
    }
    if (!s.ok()) {
      return absl::Status(s.code(),
                          absl::StrCat("cannot index ", record.topic, "-",
                                       record.queue_id, " queue offset ",
                                       record.queue_offset, ": ", s.message()));
    }
    if (notify && !(*cq)->arrival_pending()) {
      (*cq)->set_arrival_pending(true);
      arrived_.push_back(*cq);
    }
  }
  if (config_.messageIndexEnable) {
    // The key index only serves queries by key, so a record it cannot take
    // is left out of it rather than holding back consumers.
    if (absl::Status s = index_.Build(record); !s.ok()) {
      ++index_failures_;
      const absl::Time now = absl::Now();
      if (now - index_failure_logged_ >= absl::Seconds(30)) {
        index_failure_logged_ = now;
        spdlog::error(
            "cannot build the key index ({} records left out of it so far): "
            "{}",
            index_failures_, s.ToString());
      }
    }
  }
  return absl::OkStatus();
}

std::vector<std::shared_ptr<ConsumeQueue>> MessageStore::AllQueues() const {
  std::vector<std::shared_ptr<ConsumeQueue>> all;
  absl::ReaderMutexLock lock(&queues_mu_);
  queues_.ForEach(
      [&](const std::string&, int32_t,
          const std::shared_ptr<ConsumeQueue>& cq) { all.push_back(cq); });
  return all;
}

std::shared_ptr<ConsumeQueue> MessageStore::FindQueue(absl::string_view topic,
                                                      int32_t queue_id) const {
  absl::ReaderMutexLock lock(&queues_mu_);
  const std::shared_ptr<ConsumeQueue>* cq = queues_.Find(topic, queue_id);
  return cq == nullptr ? nullptr : *cq;
}

absl::StatusOr<std::shared_ptr<ConsumeQueue>> MessageStore::FindOrCreateQueue(
    absl::string_view topic, int32_t queue_id) {
  if (std::shared_ptr<ConsumeQueue> cq = FindQueue(topic, queue_id)) return cq;
  auto cq = std::make_shared<ConsumeQueue>(
      std::string(topic), queue_id,
      absl::StrCat(config_.ConsumeQueueDir(), "/", topic, "/", queue_id),
      config_.mappedFileSizeConsumeQueue);
  if (absl::Status s = cq->Load(); !s.ok()) return s;
  absl::MutexLock lock(&queues_mu_);
  std::shared_ptr<ConsumeQueue>& slot = queues_(topic, queue_id);
  if (slot == nullptr) slot = std::move(cq);
  return slot;
}

absl::Status MessageStore::CreateAbortMarker() {
  // On disk before anything is acknowledged: a power cut must not make the
  // next start take an unclean stop for a clean one and trust the log's
  // tail without checking it.
  const std::string path = config_.AbortPath();
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    return absl::InternalError(absl::StrCat("cannot create the abort marker ",
                                            path, ": ", std::strerror(errno)));
  }
  ::close(fd);
  return SyncParentDirectory(path);
}

std::string MessageStore::FlushFailureText(const absl::Status& failure) {
  return absl::StrCat(
      "the commit log could not be flushed to disk (", failure.message(),
      "); the store takes no more messages until the broker restarts");
}

void MessageStore::Put(std::vector<MessageToStore> messages, PutCallback done) {
  if (shut_down_) {
    PutResult r;
    r.status = PutStatus::kServiceNotAvailable;
    r.error = "message store is shut down";
    done(std::move(r));
    return;
  }
  if (absl::Status failed = FlushFailure(); !failed.ok()) {
    PutResult r;
    r.status = PutStatus::kServiceNotAvailable;
    r.error = FlushFailureText(failed);
    done(std::move(r));
    return;
  }
  if (retention_.disk_full()) {
    PutResult r;
    r.status = PutStatus::kServiceNotAvailable;
    r.error = absl::StrFormat(
        "disk is full: %.1f%% of %s used, above diskSpaceWarningLevelRatio "
        "%.1f%%",
        retention_.last_disk_ratio() * 100, config_.storePathRootDir,
        config_.diskSpaceWarningLevelRatio * 100);
    done(std::move(r));
    return;
  }
  if (config_.slave()) {
    PutResult r;
    r.status = PutStatus::kServiceNotAvailable;
    r.error = "this broker is a slave: messages are written on its master";
    done(std::move(r));
    return;
  }
  PutResult result = commit_log_.Append(messages);
  if (result.ok() && hooks_.on_append) hooks_.on_append(result.end_offset);
  if (!result.ok()) {
    done(std::move(result));
    return;
  }
  if (!config_.sync_flush()) {
    dispatcher_->Wakeup();
    Replicate(std::move(result), std::move(done));
    return;
  }
  int64_t end = result.end_offset;
  flush_->WaitForFlush(
      end, [this, result = std::move(result), done = std::move(done),
            timeout = config_.syncFlushTimeout](bool flushed) mutable {
        if (!flushed) {
          result.status = PutStatus::kFlushDiskTimeout;
          absl::Status failed = FlushFailure();
          result.error = failed.ok()
                             ? absl::StrCat("not flushed to disk within ",
                                            timeout, " ms (syncFlushTimeout)")
                             : FlushFailureText(failed);
          done(std::move(result));
          return;
        }
        Replicate(std::move(result), std::move(done));
      });
}

void MessageStore::Replicate(PutResult result, PutCallback done) {
  if (!hooks_.wait_for_replicas) {
    done(std::move(result));
    return;
  }
  const int64_t end = result.end_offset;
  hooks_.wait_for_replicas(
      end, [result = std::move(result), done = std::move(done),
            timeout = config_.slaveTimeout](PutStatus status) mutable {
        if (status == PutStatus::kFlushSlaveTimeout) {
          result.error = absl::StrCat("no slave acknowledged within ", timeout,
                                      " ms (slaveTimeout)");
        } else if (status == PutStatus::kSlaveNotAvailable) {
          result.error = "no slave is connected and in sync";
        }
        result.status = status;
        done(std::move(result));
      });
}

bool MessageStore::ReadForReplica(int64_t offset, int64_t max_bytes,
                                  RecordSlice* out) const {
  return commit_log_.ReadForReplica(offset, max_bytes, out);
}

absl::StatusOr<int64_t> MessageStore::AppendReplica(int64_t offset,
                                                    absl::string_view bytes) {
  if (shut_down_) {
    return absl::UnavailableError("message store is shut down");
  }
  if (absl::Status failed = FlushFailure(); !failed.ok()) {
    return absl::UnavailableError(FlushFailureText(failed));
  }
  if (retention_.disk_full()) {
    return absl::ResourceExhaustedError(absl::StrFormat(
        "disk is full: %.1f%% of %s used", retention_.last_disk_ratio() * 100,
        config_.storePathRootDir));
  }
  absl::StatusOr<int64_t> end = commit_log_.AppendReplica(offset, bytes);
  if (!end.ok()) return end;
  if (config_.sync_flush()) {
    // Group commit flushes it; the dispatcher follows the flushed end.
    flush_->WaitForFlush(*end, [](bool) {});
  } else {
    dispatcher_->Wakeup();
  }
  return end;
}

PutResult MessageStore::PutSync(std::vector<MessageToStore> messages) {
  absl::Notification done;
  PutResult out;
  Put(std::move(messages), [&](PutResult r) {
    out = std::move(r);
    done.Notify();
  });
  done.WaitForNotification();
  return out;
}

PutResult MessageStore::PutOneSync(MessageToStore message) {
  std::vector<MessageToStore> one;
  one.push_back(std::move(message));
  return PutSync(std::move(one));
}

GetResult MessageStore::Get(absl::string_view topic, int32_t queue_id,
                            int64_t offset, int max_count, int64_t max_bytes,
                            const absl::flat_hash_set<int64_t>& tag_codes,
                            const RecordFilter* record_filter) const {
  GetResult result;
  std::shared_ptr<ConsumeQueue> cq = FindQueue(topic, queue_id);
  if (cq == nullptr) {
    result.status = GetStatus::kNoMatchedLogicQueue;
    return result;
  }
  result.min_offset = cq->min_offset();
  result.max_offset = cq->max_offset();
  if (result.max_offset == 0) {
    result.status = GetStatus::kNoMessageInQueue;
    return result;
  }
  if (offset < result.min_offset) {
    result.status = GetStatus::kOffsetTooSmall;
    result.next_begin_offset = result.min_offset;
    return result;
  }
  if (offset >= result.max_offset) {
    result.status = offset == result.max_offset
                        ? GetStatus::kOffsetOverflowOne
                        : GetStatus::kOffsetOverflowBadly;
    result.next_begin_offset = result.max_offset;
    return result;
  }
  // Filtered reads may skip many entries; bound the scan per call.
  const int scan_limit = std::max(max_count, 800);
  int scanned = 0;
  bool missing = false;
  int64_t next = offset;
  // Set when the batch holds max_count messages or the next one would pass
  // max_bytes: the read ends there even below max_bytes, else the next
  // round would stop at that same entry again, forever.
  bool full = false;
  while (!full && scanned < scan_limit) {
    std::vector<ConsumeQueue::Entry> entries =
        cq->Read(next, std::min(scan_limit - scanned, 256));
    if (entries.empty()) break;
    for (const ConsumeQueue::Entry& e : entries) {
      if (static_cast<int>(result.messages.size()) >= max_count ||
          result.total_bytes >= max_bytes ||
          (result.total_bytes > 0 && result.total_bytes + e.size > max_bytes)) {
        full = true;
        break;
      }
      ++scanned;
      ++next;
      if (e.size <= 0) continue;
      if (!tag_codes.empty() && !tag_codes.contains(e.tags_code)) continue;
      RecordSlice slice;
      if (!commit_log_.Read(e.commit_log_offset, e.size, &slice)) {
        missing = true;
        continue;
      }
      if (record_filter != nullptr && !(*record_filter)(slice)) continue;
      result.total_bytes += slice.size;
      result.messages.push_back(std::move(slice));
    }
    if (static_cast<int>(result.messages.size()) >= max_count ||
        result.total_bytes >= max_bytes) {
      full = true;
    }
  }
  result.next_begin_offset = next;
  if (!result.messages.empty()) {
    result.status = GetStatus::kFound;
  } else {
    result.status =
        missing ? GetStatus::kOffsetFoundNull : GetStatus::kNoMatchedMessage;
  }
  return result;
}

bool MessageStore::ReadRecord(int64_t offset, RecordSlice* out) const {
  return commit_log_.ReadRecordAt(offset, out);
}

int64_t MessageStore::MinOffsetInQueue(absl::string_view topic,
                                       int32_t queue_id) const {
  std::shared_ptr<ConsumeQueue> cq = FindQueue(topic, queue_id);
  return cq ? cq->min_offset() : 0;
}

int64_t MessageStore::MaxOffsetInQueue(absl::string_view topic,
                                       int32_t queue_id) const {
  std::shared_ptr<ConsumeQueue> cq = FindQueue(topic, queue_id);
  return cq ? cq->max_offset() : 0;
}

int64_t MessageStore::StoreTimeAt(absl::string_view topic, int32_t queue_id,
                                  int64_t queue_offset) const {
  std::shared_ptr<ConsumeQueue> cq = FindQueue(topic, queue_id);
  if (cq == nullptr) return -1;
  std::vector<ConsumeQueue::Entry> e = cq->Read(queue_offset, 1);
  RecordSlice slice;
  if (e.empty() || e[0].size <= 0 ||
      !commit_log_.Read(e[0].commit_log_offset, e[0].size, &slice)) {
    return -1;
  }
  return GetBig64(slice.data + kStoreTimestampPos);
}

int64_t MessageStore::OffsetByTime(absl::string_view topic, int32_t queue_id,
                                   int64_t timestamp_ms) const {
  std::shared_ptr<ConsumeQueue> cq = FindQueue(topic, queue_id);
  if (cq == nullptr) return 0;
  int64_t low = cq->min_offset();
  int64_t high = cq->max_offset();
  // Store times grow with the queue offset: find the first at/after.
  while (low < high) {
    int64_t mid = low + (high - low) / 2;
    int64_t t = StoreTimeAt(topic, queue_id, mid);
    if (t >= 0 && t < timestamp_ms) {
      low = mid + 1;
    } else if (t < 0) {
      low = mid + 1;  // gone: treat as older
    } else {
      high = mid;
    }
  }
  return low;
}

std::vector<int64_t> MessageStore::QueryByKey(absl::string_view topic,
                                              absl::string_view key, size_t max,
                                              int64_t begin_ms,
                                              int64_t end_ms) const {
  return index_.Query(topic, key, max, begin_ms, end_ms);
}

absl::flat_hash_map<std::string, std::vector<int32_t>> MessageStore::Queues()
    const {
  absl::flat_hash_map<std::string, std::vector<int32_t>> out;
  for (const auto& cq : AllQueues()) out[cq->topic()].push_back(cq->queue_id());
  for (auto& [topic, ids] : out) std::sort(ids.begin(), ids.end());
  return out;
}

void MessageStore::DeleteTopics(
    const absl::flat_hash_set<std::string>& topics) {
  dispatcher_->RunBetweenPasses([&] { DropTopics(topics); });
}

absl::flat_hash_set<std::string> MessageStore::DeleteTopicsBefore(
    const absl::flat_hash_set<std::string>& topics, int64_t log_end) {
  absl::flat_hash_set<std::string> deleted;
  dispatcher_->RunBetweenPasses([&] {
    // A record below `log_end` not in its queue yet would build the queue
    // again once dispatched.
    if (dispatcher_->dispatched() < log_end) return;
    absl::flat_hash_set<std::string> newer;
    {
      absl::ReaderMutexLock lock(&queues_mu_);
      queues_.ForEach([&](const std::string& topic, int32_t,
                          const std::shared_ptr<ConsumeQueue>& cq) {
        if (topics.contains(topic) && cq->max_physical_end() > log_end) {
          newer.insert(topic);
        }
      });
    }
    for (const std::string& topic : topics) {
      if (!newer.contains(topic)) deleted.insert(topic);
    }
    DropTopics(deleted);
  });
  return deleted;
}

void MessageStore::DropTopics(const absl::flat_hash_set<std::string>& topics) {
  std::vector<std::shared_ptr<ConsumeQueue>> doomed;
  {
    absl::MutexLock lock(&queues_mu_);
    queues_.ForEach([&](const std::string& topic, int32_t,
                        const std::shared_ptr<ConsumeQueue>& cq) {
      if (topics.contains(topic)) doomed.push_back(cq);
    });
    for (const std::string& topic : topics) queues_.EraseTopic(topic);
  }
  for (auto& cq : doomed) {
    cq->Destroy();
  }
  for (const std::string& topic : topics) {
    commit_log_.RemoveTopic(topic);
    std::error_code ec;
    fs::remove_all(absl::StrCat(config_.ConsumeQueueDir(), "/", topic), ec);
  }
}

void MessageStore::CleanBelowCommitLogMin() {
  int64_t min = commit_log_.MinOffset();
  for (auto& cq : AllQueues()) cq->DeleteBelow(min);
  index_.DeleteBelow(min);
}

int MessageStore::RunRetention() {
  int deleted =
      retention_.RunOnce(&commit_log_.files(), dispatcher_->dispatched());
  CleanBelowCommitLogMin();
  return deleted;
}

void MessageStore::FlushQueuesAndCheckpoint() {
  // Recovery trusts the log below this offset, so it must be on disk both in
  // the consume queues (flushed below) and in the commit log itself.
  int64_t dispatched =
      std::min(dispatcher_->dispatched(), commit_log_.files().flushed_where());
  for (auto& cq : AllQueues()) {
    if (absl::StatusOr<int64_t> s = cq->Flush(0); !s.ok()) {
      spdlog::error("consume queue flush failed: {}", s.status().ToString());
      return;
    }
  }
  if (absl::Status s = index_.Flush(); !s.ok()) {
    spdlog::error("index flush failed: {}", s.ToString());
    return;
  }
  Checkpoint cp;
  cp.physic_msg_timestamp = hooks_.now_ms();
  cp.logics_msg_timestamp = cp.physic_msg_timestamp;
  cp.index_msg_timestamp = cp.physic_msg_timestamp;
  cp.confirm_phy_offset = commit_log_.files().flushed_where();
  cp.dispatch_flushed_offset = dispatched;
  if (absl::Status s = cp.Save(config_.CheckpointPath()); !s.ok()) {
    spdlog::error("checkpoint save failed: {}", s.ToString());
  }
}

void MessageStore::RunBackground() {
  absl::Time next_clean =
      absl::Now() + absl::Milliseconds(config_.cleanResourceInterval);
  int64_t last_checkpointed = -1;
  while (true) {
    {
      absl::MutexLock lock(&background_mu_);
      auto stopping = [this]() ABSL_SHARED_LOCKS_REQUIRED(background_mu_) {
        return stopping_;
      };
      if (background_mu_.AwaitWithTimeout(
              absl::Condition(&stopping),
              absl::Milliseconds(config_.flushIntervalConsumeQueue))) {
        return;
      }
    }
    if (dispatcher_->dispatched() != last_checkpointed) {
      last_checkpointed = dispatcher_->dispatched();
      FlushQueuesAndCheckpoint();
    }
    if (absl::Now() >= next_clean) {
      RunRetention();
      next_clean =
          absl::Now() + absl::Milliseconds(config_.cleanResourceInterval);
    }
  }
}

void MessageStore::WaitDispatched() const {
  int64_t target = DispatchLimit();
  while (dispatcher_->dispatched() < target) {
    absl::SleepFor(absl::Microseconds(200));
  }
}

void MessageStore::WhenAcknowledgedDispatched(std::function<void(bool)> done) {
  dispatcher_->WhenDispatched(DispatchLimit(), std::move(done));
}

void MessageStore::Shutdown() {
  if (shut_down_) return;
  shut_down_ = true;
  if (background_.joinable()) {
    {
      absl::MutexLock lock(&background_mu_);
      stopping_ = true;
    }
    background_.join();
  }
  if (prefaulter_) prefaulter_->Stop();
  if (flush_) flush_->Stop();
  if (dispatcher_) {
    dispatcher_->Stop();
    FlushQueuesAndCheckpoint();
    if (absl::Status failed = FlushFailure(); !failed.ok()) {
      // Keeps the abort marker: the next start checks the log record by
      // record and puts it on disk, as after a crash.
      spdlog::error(
          "store {} shut down after a failed commit log flush ({}); it will "
          "be recovered as after a crash",
          config_.storePathRootDir, std::string(failed.message()));
    } else {
      std::error_code ec;
      fs::remove(config_.AbortPath(), ec);
      spdlog::info("store {} shut down cleanly at commit log offset {}",
                   config_.storePathRootDir, commit_log_.MaxOffset());
    }
  }
  if (lock_fd_ >= 0) {
    ::close(lock_fd_);
    lock_fd_ = -1;
  }
}

}  // namespace cometmq::store
