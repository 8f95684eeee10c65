#ifndef COMETMQ_BROKER_TOPIC_CONFIG_MANAGER_H_
#define COMETMQ_BROKER_TOPIC_CONFIG_MANAGER_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "cpp/common/table_page.h"
#include "proto/remoting.pb.h"

namespace cometmq::broker {

inline constexpr absl::string_view kScheduleTopic = "SCHEDULE_TOPIC_XXXX";
inline constexpr int32_t kScheduleTopicQueueNums = 18;  // one per delay level
inline constexpr int32_t kPermReadWrite = proto::PERM_READ | proto::PERM_WRITE;

// OK for 1..127 characters of [A-Za-z0-9_%|-]; InvalidArgument saying why.
absl::Status ValidateTopicName(absl::string_view topic);

// The broker's topics (queue counts, permission), persisted as properties
// text, one `topic=readQueueNums,writeQueueNums,perm,order` line each.
// Thread-safe. Guarantees: every change is on disk (atomic replace) before
// the call returns and before the change listener runs; the listener runs
// outside the lock, once per change, so it may re-register with NameServers.
class TopicConfigManager {
 public:
  // What a send needs of a topic: looked up on every send, so neither the
  // whole config is copied nor writers of the table are excluded.
  struct WriteInfo {
    int32_t perm = 0;
    int32_t write_queue_nums = 0;
  };

  TopicConfigManager(std::string path, int32_t default_queue_nums);

  // Reads the file (a missing file is an empty table) and adds the system
  // topics. Call once, before anything else.
  absl::Status Load();

  void SetChangeListener(std::function<void()> listener);

  std::optional<proto::TopicConfig> Find(absl::string_view topic) const;
  std::optional<WriteInfo> FindForWrite(absl::string_view topic) const;

  // The topic, created with min(default, `requested_queue_nums` when > 0)
  // queues and read-write permission when it does not exist yet.
  absl::StatusOr<proto::TopicConfig> CreateOnSend(absl::string_view topic,
                                                  int32_t requested_queue_nums);
  // Creates or replaces the topic's configuration.
  absl::Status Update(const proto::TopicConfig& config);
  // Creates or replaces each of `configs` that differs from the table,
  // with one write of the file and one change notice for them all (a
  // slave copies tens of thousands of topics at once; one write each would
  // rewrite the whole file per topic). Nothing changes unless every config
  // is valid and the write succeeds. Returns how many topics changed.
  absl::StatusOr<int> UpdateMany(
      const std::vector<proto::TopicConfig>& configs);
  // NotFound when there was no such topic.
  absl::Status Delete(absl::string_view topic);
  // Deletes those of `topics` that exist, with one write of the file and
  // one change notice for them all; nothing changes if the write fails.
  // Returns how many were deleted.
  absl::StatusOr<int> DeleteMany(const std::vector<std::string>& topics);

  // Every topic, sorted by name.
  std::vector<proto::TopicConfig> All() const;
  // One page of All(): the topics named after `after`, in name order, until
  // their encoded size reaches `max_bytes` (at least one when any is left);
  // `end` says where it stopped.
  std::vector<proto::TopicConfig> Page(absl::string_view after,
                                       size_t max_bytes, PageEnd* end) const;
  // Bumped on every change; sent with registrations.
  int64_t data_version() const;
  // All() and the data_version() it is at, read together.
  struct Table {
    std::vector<proto::TopicConfig> topics;
    int64_t data_version = 0;
  };
  Table Snapshot() const;

 private:
  absl::Status PersistLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void NotifyChanged();

  const std::string path_;
  const int32_t default_queue_nums_;
  std::function<void()> listener_;

  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, proto::TopicConfig> topics_
      ABSL_GUARDED_BY(mu_);
  int64_t data_version_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace cometmq::broker

#endif  // COMETMQ_BROKER_TOPIC_CONFIG_MANAGER_H_
