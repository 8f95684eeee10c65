#include "cpp/store/group_commit_pacer.h"

#include <algorithm>

namespace cometmq::store {

absl::Duration GroupCommitPacer::Blend(absl::Duration old,
                                       absl::Duration sample) {
  if (old == absl::ZeroDuration()) return sample;
  return (old * 3 + sample) / 4;
}

void GroupCommitPacer::OnBatch(int64_t count, absl::Time first,
                               absl::Time last) {
  if (count < 2 || last < first) return;
  spacing_ = Blend(spacing_, (last - first) / (count - 1));
}

void GroupCommitPacer::OnFlushed(absl::Time end, absl::Duration duration,
                                 int64_t released, int64_t pending) {
  flush_ = Blend(flush_, duration);
  last_end_ = end;
  in_flight_ = released + pending;
}

std::optional<GroupCommitPacer::Hold> GroupCommitPacer::HoldFor(
    absl::Time now, int64_t pending) const {
  if (in_flight_ <= pending || flush_ == absl::ZeroDuration() ||
      spacing_ == absl::ZeroDuration()) {
    return std::nullopt;
  }
  // Appends released by the last flush come back soon after it or not in
  // step with the flushes at all.
  if (now - last_end_ > flush_) return std::nullopt;
  // Holding is worth it when the rest of those in flight are expected back
  // well within a flush; otherwise they are better served by the next one.
  const absl::Duration limit = std::min(flush_ / 2, kMaxHold);
  if (spacing_ * (in_flight_ - pending) > limit) return std::nullopt;
  return Hold{in_flight_, now + limit};
}

}  // namespace cometmq::store
