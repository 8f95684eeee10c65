#ifndef COMETMQ_BROKER_SUBSCRIPTION_GROUP_MANAGER_H_
#define COMETMQ_BROKER_SUBSCRIPTION_GROUP_MANAGER_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "cpp/broker/table_file.h"
#include "cpp/common/table_page.h"

namespace cometmq::broker {

// What the broker knows about one consumer group (RocketMQ's
// SubscriptionGroupConfig, the fields CometMQ uses).
struct SubscriptionGroup {
  std::string name;
  bool consume_enable = true;
  int32_t retry_max_times = 16;
  int32_t retry_queue_nums = 1;

  bool operator==(const SubscriptionGroup& o) const {
    return name == o.name && consume_enable == o.consume_enable &&
           retry_max_times == o.retry_max_times &&
           retry_queue_nums == o.retry_queue_nums;
  }
  bool operator!=(const SubscriptionGroup& o) const { return !(*this == o); }
};

// The group mqadmin pulls as (queryMsgByOffset). RocketMQ's broker has it
// from its start, so its tools work with autoCreateSubscriptionGroup=false.
inline constexpr absl::string_view kToolsConsumerGroup = "TOOLS_CONSUMER";

// OK for 1..127 characters of [A-Za-z0-9_%|-], the rule topics follow
// too; InvalidArgument saying why ("consumer group[...] may contain only").
absl::Status ValidateGroupName(absl::string_view group);

// Consumer groups, auto-created on first use when enabled, persisted as
// `group=consumeEnable,retryMaxTimes,retryQueueNums` lines. Thread-safe.
// Creation happens on I/O threads (heartbeats), so it only marks the table
// dirty; Persist() (periodic and at shutdown) writes it atomically.
class SubscriptionGroupManager {
 public:
  SubscriptionGroupManager(std::string path, bool auto_create);

  absl::Status Load();
  // The group, created with defaults when missing, the name follows the
  // resource name rule and auto-create is on or the group is
  // kToolsConsumerGroup.
  std::optional<SubscriptionGroup> FindOrCreate(absl::string_view group);
  std::optional<SubscriptionGroup> Find(absl::string_view group) const;
  void Update(const SubscriptionGroup& group);
  // Removes the group's settings; false when there were none. Persist()
  // writes the change.
  bool Delete(absl::string_view group);
  std::vector<std::string> Names() const;
  // Writes the table if it changed since the last write.
  absl::Status Persist();
  // The table in its file format, and (on a slave) the master's table in
  // place of this one, so consumers that fail over find their groups.
  std::string Encode() const;
  absl::Status Replace(absl::string_view encoded);
  // One page of Encode(): the groups named after `after`, in name order,
  // until the text reaches `max_bytes` (at least one line when any is
  // left); `end` says where it stopped.
  std::string EncodePage(absl::string_view after, size_t max_bytes,
                         PageEnd* end) const;
  // Replace() for the groups in `range` only, so a slave applies its
  // master's table a page at a time (see ConsumerOffsetManager).
  absl::Status ReplaceRange(const KeyRange& range, absl::string_view encoded);

 private:
  using Table = absl::flat_hash_map<std::string, SubscriptionGroup>;

  static absl::StatusOr<Table> Parse(absl::string_view text,
                                     absl::string_view source);

  TableFile file_;
  const bool auto_create_;

  mutable absl::Mutex mu_;
  Table groups_ ABSL_GUARDED_BY(mu_);
};

}  // namespace cometmq::broker

#endif  // COMETMQ_BROKER_SUBSCRIPTION_GROUP_MANAGER_H_
