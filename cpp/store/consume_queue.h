#ifndef COMETMQ_STORE_CONSUME_QUEUE_H_
#define COMETMQ_STORE_CONSUME_QUEUE_H_

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "cpp/store/mapped_file_queue.h"

namespace cometmq::store {

inline constexpr int kConsumeQueueEntrySize = 20;

// Index of one topic-queue: entry i (at byte i * 20) locates the queue's i-th
// message in the commit log as (commit log offset 8, size 4, tag hash 8).
// Written only by the dispatcher, in queue-offset order; readable from any
// thread. Entries below min_offset() were removed by retention.
class ConsumeQueue {
 public:
  struct Entry {
    int64_t commit_log_offset = 0;
    int32_t size = 0;
    int64_t tags_code = 0;
  };

  ConsumeQueue(std::string topic, int32_t queue_id, std::string dir,
               int64_t file_size);

  absl::Status Load();
  // Finds the last valid entry after a restart; returns the commit log end
  // of the last entry (0 when empty).
  int64_t Recover();

  // Writes the entry for `queue_offset`. An entry below the next offset is
  // offered again by re-dispatch after a crash: it is skipped when its slot
  // holds it, and written (and synced) when the slot is empty, as when
  // its page was lost while a later one reached the disk; min_offset() moves
  // down to it if recovery had started the queue after it. A slot holding
  // another record's entry means the queue is stale (see Restart()), and so
  // does a queue whose entries all point before the record (see Reset()).
  absl::Status Put(const Entry& entry, int64_t queue_offset);

  // Up to `max` entries from `queue_offset`, within one file.
  std::vector<Entry> Read(int64_t queue_offset, int max) const;

  int64_t min_offset() const { return min_offset_.load(); }
  // The next queue offset to be written.
  int64_t max_offset() const;
  // Commit log end of the last entry.
  int64_t max_physical_end() const { return max_physical_end_.load(); }

  // Drops entries that point at or past `commit_log_end`.
  absl::Status TruncateDirty(int64_t commit_log_end);
  // Deletes files whose entries all point below `commit_log_min`, and moves
  // min_offset to the first entry at or above it.
  int DeleteBelow(int64_t commit_log_min);

  absl::StatusOr<int64_t> Flush(int least_pages) {
    return files_.Flush(least_pages);
  }

  // Unlinks every file of the queue (its topic was deleted).
  void Destroy() { files_.DestroyAll(); }

  // Dispatcher bookkeeping: the queue is already in this batch's arrivals.
  bool arrival_pending() const { return arrival_pending_; }
  void set_arrival_pending(bool v) { arrival_pending_ = v; }

  const std::string& topic() const { return topic_; }
  int32_t queue_id() const { return queue_id_; }
  const MappedFileQueue& files() const { return files_; }

 private:
  bool ReadEntry(int64_t queue_offset, Entry* entry) const;
  // Put() below the next offset: fills the slot if it is empty, restarts
  // the queue there if it holds another record's entry.
  absl::Status FillHole(const Entry& entry, int64_t queue_offset);
  // The slot at `queue_offset` holds an entry for another record: the queue
  // outlived its topic (a slave is not told when its master deletes a topic
  // and creates it again), so the commit log wins: the queue is cut at
  // `queue_offset` and the entry written there.
  absl::Status Restart(const Entry& entry, int64_t queue_offset,
                       int64_t stale_commit_log_offset);
  // A record below the queue's end that is newer than every entry cannot
  // be offered again by re-dispatch (entries of one queue follow the commit
  // log's order): the queue is left from a deleted topic, maybe with files
  // retention removed or slots never written before its minimum, so none of
  // it is kept and the queue starts again at `queue_offset`.
  absl::Status Reset(const Entry& entry, int64_t queue_offset);
  // Moves the minimum down to `queue_offset` for an entry written below it,
  // unless retention has deleted the record the entry points at.
  void LowerMinTo(int64_t queue_offset, int64_t commit_log_offset);
  void SetMin(int64_t queue_offset);

  const std::string topic_;
  const int32_t queue_id_;
  MappedFileQueue files_;
  // Written under min_mu_ (retention and the dispatch thread both move it),
  // read without it.
  std::atomic<int64_t> min_offset_{0};
  absl::Mutex min_mu_;
  // The commit log minimum of the last DeleteBelow: entries pointing below
  // it never become the queue's minimum again.
  int64_t retained_from_ ABSL_GUARDED_BY(min_mu_) = 0;
  std::atomic<int64_t> max_physical_end_{0};
  bool arrival_pending_ = false;  // dispatch thread only
};

}  // namespace cometmq::store

#endif  // COMETMQ_STORE_CONSUME_QUEUE_H_
