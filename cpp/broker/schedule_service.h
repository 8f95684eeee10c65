#ifndef COMETMQ_BROKER_SCHEDULE_SERVICE_H_
#define COMETMQ_BROKER_SCHEDULE_SERVICE_H_

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "cpp/broker/delay_levels.h"
#include "cpp/broker/table_file.h"
#include "cpp/store/message_store.h"

namespace cometmq::broker {

// Delivers delayed messages (RocketMQ's ScheduleMessageService). One named
// thread ("broker-schedule") reads each level's queue of SCHEDULE_TOPIC_XXXX
// in order from that level's progress offset and re-puts every due message
// to its real topic and queue (RestoreFromDelay), then sleeps until the
// earliest next due time, a Wake() or an idle tick, whichever comes first.
//
// Levels past a shortened messageDelayLevel keep being walked while their
// queues hold messages, with the last configured level's delay.
//
// Guarantees: a message is never re-put before its deliver time (store time
// plus its level's delay, or the last level's for a level past the table)
// unless that is further away than the delay itself, which only a clock
// stepped back makes so: such a message is re-put at once, as in RocketMQ;
// a level's progress only passes a message after its re-put was stored.
// The progress file (`offset_path`, written atomically) never passes a
// re-put copy that is not yet on disk in the commit log, so no crash, of
// the process or of the machine, can lose a delayed message: a restart
// resumes from the file and at most re-delivers. Progress a delivery pass
// moved is written by the schedule thread soon after (coalesced: at most
// once per min(`persist_interval`, 100 ms), once the commit log is flushed
// past its copies, which the thread asks for), so after a crash only the
// messages of about the last 100 ms are delivered again;
// `persist_interval` (flushDelayOffsetInterval) stays an upper bound. A
// level with a queue but no written progress starts from its queue's
// beginning.
class ScheduleService {
 public:
  ScheduleService(DelayLevels levels, std::string offset_path,
                  absl::Duration persist_interval);
  ~ScheduleService();

  ScheduleService(const ScheduleService&) = delete;
  ScheduleService& operator=(const ScheduleService&) = delete;

  // Reads the progress file (missing = start of every queue).
  absl::Status Load();
  // `store` must outlive Shutdown().
  void Start(store::MessageStore* store);
  // A delayed message arrived: look again now. Safe at any time.
  void Wake();
  // Stops the thread and writes the progress whose copies are on disk.
  // Idempotent. After the store's own shutdown flushed it all, a Persist()
  // writes the rest.
  void Shutdown();

  // Writes the progress whose re-put copies are all on disk (every level's
  // progress, unless some copies are only in the page cache yet), when it
  // changed since the last write.
  absl::Status Persist();
  // The progress in the file's format (for a slave's copy; the progress in
  // memory, which may be ahead of the file's), and, on a
  // slave, the master's progress taken over and written, so a slave
  // restarted as the master does not deliver again what its master did.
  // `copies_end`, if given, is set to where the commit log must reach for
  // that progress to lose nothing: past the re-put copy of every message
  // it passed (and past what the log held at Start(), for progress read
  // from the file). A slave takes the progress only once its log reaches
  // it, or, promoted, it would never deliver the copies it lacks.
  std::string Encode(int64_t* copies_end = nullptr) const;
  absl::Status Replace(absl::string_view encoded);
  int64_t delivered() const { return delivered_.load(); }
  // Progress offset of a 1-based level.
  int64_t Offset(int level) const;

 private:
  void Run();
  // Sets the progress of every level in `encoded` (file format); nothing
  // when it is malformed (the error names `source`).
  absl::Status Apply(absl::string_view encoded, absl::string_view source);
  bool Stopping() const;
  // Levels walked: the configured ones, and any beyond them that still
  // have a queue or progress (messageDelayLevel was shortened).
  int WalkedLevels() const;
  // Extends the walk to stranded levels and says how many messages wait
  // there.
  void AdoptStrandedLevels();
  // Re-puts the due messages of `level`; returns when the next one is due
  // (ms since the epoch), or INT64_MAX when the queue is drained.
  int64_t DeliverLevel(int level, int64_t now_ms);
  // `copy_end`: end of the re-put copy the progress passed, in the commit
  // log, or 0 when it passed no copy.
  void SetOffset(int level, int64_t offset, int64_t copy_end = 0);
  // Takes, of the progress in memory, what may be written now: all of it
  // when the commit log is flushed past every copy re-put, else what was
  // taken for writing earlier once it is. Returns whether progress is
  // held back for a flush.
  bool TakeSaveable() ABSL_LOCKS_EXCLUDED(mu_);
  // True while the progress in memory is not all in the file.
  bool Unsaved() const ABSL_LOCKS_EXCLUDED(mu_);
  // Schedule thread: Persist() when progress is unsaved and the last write
  // was at least min(persist_interval, 100 ms) ago (a failed one:
  // persist_interval). Returns whether progress is still unsaved, to be
  // written at `next_save_`.
  bool SaveIfDue();
  static std::string EncodeTable(const std::vector<int64_t>& offsets);

  const DelayLevels levels_;
  TableFile file_;  // the delay offsets
  const absl::Duration persist_interval_;
  store::MessageStore* store_ = nullptr;
  std::atomic<int64_t> delivered_{0};
  absl::Time next_save_ = absl::InfinitePast();  // schedule thread only

  mutable absl::Mutex mu_;
  // Progress per level (index level - 1), at least levels_.count() long.
  std::vector<int64_t> offsets_ ABSL_GUARDED_BY(mu_);
  // End of the last re-put copy in the commit log (the thread's copies are
  // put one after the other, so every earlier copy ends before it).
  int64_t copies_end_ ABSL_GUARDED_BY(mu_) = 0;
  // The commit log's end at Start(): the progress read from the file
  // passed copies below it.
  int64_t start_log_end_ ABSL_GUARDED_BY(mu_) = 0;
  // What the file gets: progress all of whose copies are on disk.
  std::vector<int64_t> saveable_ ABSL_GUARDED_BY(mu_);
  // Progress taken for writing, held back until the commit log is flushed
  // to `copies_end`.
  struct HeldBack {
    std::vector<int64_t> offsets;
    int64_t copies_end = 0;
  };
  std::optional<HeldBack> held_back_ ABSL_GUARDED_BY(mu_);
  bool woken_ ABSL_GUARDED_BY(mu_) = false;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace cometmq::broker

#endif  // COMETMQ_BROKER_SCHEDULE_SERVICE_H_
