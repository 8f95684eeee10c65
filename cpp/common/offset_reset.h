#ifndef COMETMQ_COMMON_OFFSET_RESET_H_
#define COMETMQ_COMMON_OFFSET_RESET_H_

#include <algorithm>
#include <cstdint>
#include <optional>

namespace cometmq {

// The offset a reset (resetOffsetByTime, skipAccumulatedMessage) gives one
// queue, as RocketMQ's Broker2Client.resetOffset: `target` is the queue's
// offset for the reset's time (its max offset for skipAccumulatedMessage),
// `committed` the group's committed one. With `force`, or when the group
// never committed the queue (nothing to keep), the target; otherwise the
// queue only moves back: the target when it is below the committed offset,
// else the committed offset. A negative target is 0. The broker applies it
// for online groups, the admin's direct write for the others.
inline int64_t ResetOffsetFor(int64_t target, std::optional<int64_t> committed,
                              bool force) {
  target = std::max<int64_t>(target, 0);
  if (force || !committed.has_value() || target < *committed) return target;
  return *committed;
}

}  // namespace cometmq

#endif  // COMETMQ_COMMON_OFFSET_RESET_H_
