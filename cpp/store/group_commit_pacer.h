#ifndef COMETMQ_STORE_GROUP_COMMIT_PACER_H_
#define COMETMQ_STORE_GROUP_COMMIT_PACER_H_

#include <cstdint>
#include <optional>

#include "absl/time/time.h"

namespace cometmq::store {

// Decides whether the SYNC_FLUSH group commit should hold its next flush
// for a moment so that more waiting appends share it.
//
// Why: producers that send synchronously wait for the flush that covers
// their message, then send again. Flushing as soon as anything waits splits
// them into cohorts that take turns: those who arrive while a flush runs
// wait for the next one, and each flush covers about half of them. When a
// flush takes longer than the released producers need to come back (slow
// disks), holding the flush until they are back lets one flush acknowledge
// them all, nearly doubling what the disk acknowledges per second. When the
// disk is fast compared with the producers' round trip, holding would only
// add latency, and the pacer says not to.
//
// The estimates come from what the flush thread sees: how long flushes
// take, how far apart appends arrive, and how many were in flight around
// the last flush. A hold never exceeds half a flush (nor kMaxHold) and ends
// as soon as the expected number of appends waits. Not thread-safe: only
// the flush thread uses it.
class GroupCommitPacer {
 public:
  static constexpr absl::Duration kMaxHold = absl::Milliseconds(1);

  struct Hold {
    int64_t waiters;      // flush once this many appends wait
    absl::Time deadline;  // or at this time
  };

  // The flush thread took `count` waiters, the first arriving at `first`
  // and the last at `last`.
  void OnBatch(int64_t count, absl::Time first, absl::Time last);

  // A flush that took `duration` ended at `end`, completing `released`
  // waiters while `pending` others arrived meanwhile and wait.
  void OnFlushed(absl::Time end, absl::Duration duration, int64_t released,
                 int64_t pending);

  // With `pending` appends waiting at `now`: how long to hold the flush,
  // or nothing to flush at once.
  std::optional<Hold> HoldFor(absl::Time now, int64_t pending) const;

  absl::Duration flush_estimate() const { return flush_; }
  absl::Duration spacing_estimate() const { return spacing_; }

 private:
  // Exponentially weighted, new samples weigh a quarter.
  static absl::Duration Blend(absl::Duration old, absl::Duration sample);

  absl::Duration flush_ = absl::ZeroDuration();    // a flush's duration
  absl::Duration spacing_ = absl::ZeroDuration();  // between two arrivals
  absl::Time last_end_ = absl::InfinitePast();
  int64_t in_flight_ = 0;  // released plus pending at the last flush's end
};

}  // namespace cometmq::store

#endif  // COMETMQ_STORE_GROUP_COMMIT_PACER_H_
