#ifndef COMETMQ_STORE_MESSAGE_STORE_H_
#define COMETMQ_STORE_MESSAGE_STORE_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "cpp/common/message_record.h"
#include "cpp/store/checkpoint.h"
#include "cpp/store/commit_log.h"
#include "cpp/store/consume_queue.h"
#include "cpp/store/dispatcher.h"
#include "cpp/store/flush_service.h"
#include "cpp/store/index_service.h"
#include "cpp/store/prefaulter.h"
#include "cpp/store/put_result.h"
#include "cpp/store/retention.h"
#include "cpp/store/store_config.h"

namespace cometmq::store {

enum class GetStatus {
  kFound,
  kNoMatchedMessage,     // entries exist but none passed the tag filter
  kNoMessageInQueue,     // the queue is empty
  kOffsetTooSmall,       // below the queue's minimum (deleted by retention)
  kOffsetOverflowOne,    // exactly the next offset: nothing new yet
  kOffsetOverflowBadly,  // beyond the next offset
  kOffsetFoundNull,      // the entry's record is gone (moved)
  kNoMatchedLogicQueue,  // no such topic-queue
};

const char* GetStatusName(GetStatus status);

struct GetResult {
  GetStatus status = GetStatus::kNoMatchedLogicQueue;
  std::vector<RecordSlice> messages;
  int64_t next_begin_offset = 0;
  int64_t min_offset = 0;
  int64_t max_offset = 0;
  int64_t total_bytes = 0;
};

// Injected dependencies; defaults use the real clock and disk.
struct StoreHooks {
  std::function<int64_t()> now_ms;
  std::function<double()> disk_used_ratio;
  std::function<int()> local_hour;
  // Fault injection for tests: an error fails that commit log flush as a
  // device error would.
  std::function<absl::Status()> flush_fault;
  // Called on the dispatch thread when messages arrive on a queue (after
  // they became readable), for long polling.
  std::function<void(const std::string& topic, int32_t queue_id,
                     int64_t max_offset)>
      on_arrival;
  // Called on the appending thread after each successful append (before any
  // flush), with the new end of the commit log: replication wakes on it.
  std::function<void(int64_t end_offset)> on_append;
  // SYNC_MASTER: asked once an append is complete locally (flushed under
  // SYNC_FLUSH); calls `done` once with kOk when a slave has everything
  // below `end_offset`, else kSlaveNotAvailable or kFlushSlaveTimeout.
  std::function<void(int64_t end_offset, std::function<void(PutStatus)> done)>
      wait_for_replicas;
  // Consume-queue tag field of a record; default: hash of its TAGS.
  std::function<int64_t(const RecordView&)> tags_code;
  uint32_t store_ip = 0x7f000001;
  uint32_t store_port = 10911;
};

// The broker's storage engine: CommitLog + ConsumeQueues + IndexFiles with
// flush, dispatch, recovery and retention. Knows nothing of the network.
//
// Guarantees: an append reported kOk under SYNC_FLUSH is on disk; a record
// is readable through a consume queue only after it is complete (and, under
// SYNC_FLUSH, flushed); after a crash the log is cut at the first invalid
// record and consume queues never point past it.
class MessageStore {
 public:
  using PutCallback = std::function<void(PutResult)>;

  static absl::StatusOr<std::unique_ptr<MessageStore>> Open(
      const StoreConfig& config, StoreHooks hooks = {});
  ~MessageStore();

  MessageStore(const MessageStore&) = delete;
  MessageStore& operator=(const MessageStore&) = delete;

  // Appends one message, or a batch for one topic-queue. `done` runs once:
  // at once for ASYNC_FLUSH and refusals, on the flush thread once the bytes
  // are on disk (or the sync flush timed out) for SYNC_FLUSH, and with
  // `wait_for_replicas` set, only after a slave has them (or could not).
  // A slave's store refuses every Put: it only takes its master's bytes.
  void Put(std::vector<MessageToStore> messages, PutCallback done);
  // Blocking form, for tools, tests and the broker's own background
  // services.
  PutResult PutSync(std::vector<MessageToStore> messages);
  // PutSync of one message.
  PutResult PutOneSync(MessageToStore message);

  // Decides from a stored record whether a filtered read returns it.
  using RecordFilter = std::function<bool(const RecordSlice&)>;

  // Up to `max_count` messages / about `max_bytes` from `offset`. When
  // `tag_codes` is not empty, only entries whose tag hash is in it; with a
  // `record_filter`, only records it accepts (records it refuses count
  // against the scan limit, not against `max_count` or `max_bytes`, and
  // next_begin_offset moves past them as past tag mismatches).
  GetResult Get(absl::string_view topic, int32_t queue_id, int64_t offset,
                int max_count, int64_t max_bytes,
                const absl::flat_hash_set<int64_t>& tag_codes,
                const RecordFilter* record_filter = nullptr) const;
  bool ReadRecord(int64_t commit_log_offset, RecordSlice* out) const;
  // Replication (see CommitLog::ReadForReplica / AppendReplica). A replica
  // append is flushed per flushDiskType and dispatched like a local one.
  bool ReadForReplica(int64_t offset, int64_t max_bytes,
                      RecordSlice* out) const;
  absl::StatusOr<int64_t> AppendReplica(int64_t offset,
                                        absl::string_view bytes);

  int64_t MinOffsetInQueue(absl::string_view topic, int32_t queue_id) const;
  int64_t MaxOffsetInQueue(absl::string_view topic, int32_t queue_id) const;
  // First queue offset whose message was stored at or after `timestamp_ms`.
  int64_t OffsetByTime(absl::string_view topic, int32_t queue_id,
                       int64_t timestamp_ms) const;
  // Store time of the message at `queue_offset`, or -1.
  int64_t StoreTimeAt(absl::string_view topic, int32_t queue_id,
                      int64_t queue_offset) const;
  std::vector<int64_t> QueryByKey(absl::string_view topic,
                                  absl::string_view key, size_t max,
                                  int64_t begin_ms, int64_t end_ms) const;

  // Queue ids with a consume queue, per topic.
  absl::flat_hash_map<std::string, std::vector<int32_t>> Queues() const;
  // Removes the topics' consume queues (files included) and their next
  // queue offsets, so a topic created again starts at offset 0. Never runs
  // while a record is being dispatched: a queue is not written after it is
  // deleted. Records of the topics still in the commit log are not touched.
  void DeleteTopics(const absl::flat_hash_set<std::string>& topics);
  // DeleteTopics of those `topics` none of whose queues holds a record at
  // or past `log_end`, provided every record below it has been dispatched
  // (else none); returns the topics deleted. A slave deletes the topics its
  // master's table no longer has this way, with `log_end` its commit log end
  // when it asked for the table: a record past it may belong to the topic
  // created again after the master answered, and must stay.
  absl::flat_hash_set<std::string> DeleteTopicsBefore(
      const absl::flat_hash_set<std::string>& topics, int64_t log_end);

  int64_t MinPhysicalOffset() const { return commit_log_.MinOffset(); }
  int64_t MaxPhysicalOffset() const { return commit_log_.MaxOffset(); }
  int64_t DispatchedOffset() const { return dispatcher_->dispatched(); }
  // Dispatching is stopped at a record whose consume queue cannot take it.
  bool DispatchStalled() const { return dispatcher_->stalled(); }
  int64_t FlushedOffset() const { return commit_log_.files().flushed_where(); }
  // Asks for the commit log written so far to reach the disk soon, without
  // waiting (FlushService::RequestFlush); FlushedOffset() tells when.
  void RequestFlush() {
    if (flush_) flush_->RequestFlush();
  }
  // Commit log flushes that wrote something, since the store opened.
  int64_t CommitLogFlushes() const { return flush_ ? flush_->flushes() : 0; }
  // The first failed commit log flush, after which appends are refused.
  absl::Status FlushFailure() const {
    return flush_ ? flush_->failure() : absl::OkStatus();
  }
  bool recovered_from_crash() const { return recovered_from_crash_; }
  bool disk_full() const { return retention_.disk_full(); }

  // One retention round now (the service also runs it periodically).
  int RunRetention();
  // Waits until everything appended so far has been dispatched.
  void WaitDispatched() const;
  // Calls `done` once every message acknowledged before the call is in its
  // consume queue, so queue offsets read then count all of them: a put is
  // acknowledged when appended (under SYNC_FLUSH, flushed), and dispatched
  // a moment later (longer when its queue's files are being created).
  // Runs `done` at once when nothing is pending, else on the dispatch
  // thread, so `done` must be quick. Its argument is false when
  // dispatching is stalled or stopped first: the queues then hold less.
  void WhenAcknowledgedDispatched(std::function<void(bool)> done);

  // Flushes everything, writes the checkpoint and removes the abort marker.
  void Shutdown();

  const StoreConfig& config() const { return config_; }
  CommitLog& commit_log() { return commit_log_; }

 private:
  MessageStore(const StoreConfig& config, StoreHooks hooks);

  absl::Status Load();
  absl::Status LoadConsumeQueues();
  absl::Status Recover(bool crashed, const Checkpoint& checkpoint);
  // After crash recovery: puts on disk whatever of the store the crashed
  // process left only in the page cache.
  absl::Status SyncRecoveredFiles();
  static std::string FlushFailureText(const absl::Status& failure);
  absl::Status CreateAbortMarker();
  // Builds the record's consume queue and key index entries; an error when
  // its consume queue cannot take it (the key index is best effort).
  absl::Status DispatchRecord(const RecordView& record, bool notify);
  std::vector<std::shared_ptr<ConsumeQueue>> AllQueues() const;
  std::shared_ptr<ConsumeQueue> FindQueue(absl::string_view topic,
                                          int32_t queue_id) const;
  absl::StatusOr<std::shared_ptr<ConsumeQueue>> FindOrCreateQueue(
      absl::string_view topic, int32_t queue_id);
  // Completes a locally stored put, after a slave has it when required.
  void Replicate(PutResult result, PutCallback done);
  void FlushQueuesAndCheckpoint();
  void RunBackground();
  int64_t DispatchLimit() const;
  void CleanBelowCommitLogMin();
  // DeleteTopics() on the dispatch thread's terms (see RunBetweenPasses).
  void DropTopics(const absl::flat_hash_set<std::string>& topics);

  const StoreConfig config_;
  StoreHooks hooks_;
  CommitLog commit_log_;
  IndexService index_;
  RetentionPolicy retention_;
  std::unique_ptr<FlushService> flush_;
  std::unique_ptr<Prefaulter> prefaulter_;
  std::unique_ptr<Dispatcher> dispatcher_;
  int lock_fd_ = -1;
  bool recovered_from_crash_ = false;

  mutable absl::Mutex queues_mu_;
  TopicQueueMap<std::shared_ptr<ConsumeQueue>> queues_
      ABSL_GUARDED_BY(queues_mu_);

  // Where the dispatcher starts: the log's end after recovery, or the first
  // record recovery could not dispatch.
  int64_t recovered_dispatch_end_ = 0;

  // Dispatch-thread state: queues with new messages in this batch.
  // Shared, so a topic deleted meanwhile does not free a queue in the list.
  std::vector<std::shared_ptr<ConsumeQueue>> arrived_;
  int64_t index_failures_ = 0;
  absl::Time index_failure_logged_ = absl::InfinitePast();

  absl::Mutex background_mu_;
  bool stopping_ ABSL_GUARDED_BY(background_mu_) = false;
  std::atomic<bool> shut_down_{false};
  std::thread background_;  // "store-service": CQ flush, checkpoint, retention
};

}  // namespace cometmq::store

#endif  // COMETMQ_STORE_MESSAGE_STORE_H_
