#ifndef COMETMQ_BROKER_DELAY_LEVELS_H_
#define COMETMQ_BROKER_DELAY_LEVELS_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "cpp/common/message_record.h"

namespace cometmq::broker {

inline constexpr absl::string_view kDefaultMessageDelayLevel =
    "1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h";
inline constexpr int kMaxDelayLevel = 18;

// The broker's delay levels (RocketMQ's messageDelayLevel): level N (1-based)
// delays a message by delays_ms()[N-1]. Guarantees: a parsed table has 1..18
// positive delays; Clamp() always yields a level the table has.
class DelayLevels {
 public:
  // Space-separated durations, each a positive integer with unit s, m, h or
  // d ("1s 5s 1m 2h"). InvalidArgument saying which item is wrong.
  static absl::StatusOr<DelayLevels> Parse(absl::string_view text);
  static DelayLevels Default();

  int count() const { return static_cast<int>(delays_ms_.size()); }
  const std::vector<int64_t>& delays_ms() const { return delays_ms_; }
  // `level` limited to 1..count() (so 19 and more become the last level).
  int Clamp(int level) const;
  // Delay of a level; the level is clamped first.
  int64_t DelayMs(int level) const;
  // When a message stored at `store_timestamp_ms` with `level` is due.
  int64_t DeliverTimestamp(int level, int64_t store_timestamp_ms) const;
  // Deliver timestamp of a stored SCHEDULE_TOPIC_XXXX record, from its DELAY
  // property and store timestamp; the store timestamp when it has none.
  int64_t DeliverTimestamp(const RecordView& record) const;

 private:
  explicit DelayLevels(std::vector<int64_t> delays_ms)
      : delays_ms_(std::move(delays_ms)) {}
  std::vector<int64_t> delays_ms_;
};

// The delay level of encoded `properties` (its DELAY value), 0 when none or
// not a positive integer.
int DelayLevelOf(absl::string_view properties);

// The delay level a client asked for in encoded `properties`: 0 without a
// DELAY or for one of 0 or below (no delay, as in RocketMQ); InvalidArgument
// for a DELAY that is not an integer, which RocketMQ's broker fails to parse
// too, rather than delivering at once a message meant to wait.
absl::StatusOr<int> RequestedDelayLevel(absl::string_view properties);

// Rewrites `message` for delayed delivery as RocketMQ does on put: the real
// topic and queue go to REAL_TOPIC / REAL_QID, DELAY becomes the clamped
// `level`, and the message moves to SCHEDULE_TOPIC_XXXX queue level-1.
void RewriteForDelay(const DelayLevels& levels, int level,
                     MessageToStore* message);

// Removes what the delay path adds (DELAY, REAL_TOPIC, REAL_QID), from a
// message that is to be stored again without that delay: a retry sent back
// or a dead letter.
void EraseDelayBookkeeping(std::map<std::string, std::string>* props);

// The message a due delayed record becomes: its real topic and queue, DELAY
// and REAL_* removed, everything else (body, flag, sys_flag, born
// timestamp and host, reconsume times, other properties) kept. False when
// the record has no REAL_TOPIC.
bool RestoreFromDelay(const RecordView& record, MessageToStore* out);

}  // namespace cometmq::broker

#endif  // COMETMQ_BROKER_DELAY_LEVELS_H_
