#ifndef COMETMQ_BROKER_CONSUMER_OFFSET_MANAGER_H_
#define COMETMQ_BROKER_CONSUMER_OFFSET_MANAGER_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "cpp/broker/table_file.h"
#include "cpp/common/table_page.h"

namespace cometmq::broker {

// Committed consumer offsets: group@topic -> queue id -> next offset to
// consume. Thread-safe; commits only touch memory (they arrive on I/O threads
// and with every pull), and Persist() writes the table atomically as
// `group@topic=queue:offset,queue:offset` lines (every few seconds and at
// shutdown). A crash loses at most the commits since the last Persist(),
// which consumers then re-consume: at-least-once, as in RocketMQ.
class ConsumerOffsetManager {
 public:
  explicit ConsumerOffsetManager(std::string path);

  absl::Status Load();
  void Commit(absl::string_view group, absl::string_view topic,
              int32_t queue_id, int64_t offset);
  // Commits `offsets` (queue id -> offset) of one group and topic, and
  // calls `announce` before any other commit can land. An offset reset
  // queues its notice to the group's clients in `announce`: a client's
  // commit applied after the reset (and so over it) is then answered only
  // after the notice on the same connection, so the client knows its
  // commit may have crossed the reset and commits the reset again.
  void CommitAndAnnounce(absl::string_view group, absl::string_view topic,
                         const std::map<int32_t, int64_t>& offsets,
                         absl::FunctionRef<void()> announce);
  std::optional<int64_t> Query(absl::string_view group, absl::string_view topic,
                               int32_t queue_id) const;
  // Queue id -> offset for one group and topic (empty if none).
  std::map<int32_t, int64_t> QueueOffsets(absl::string_view group,
                                          absl::string_view topic) const;
  // Topics `group` has committed offsets for, sorted.
  std::vector<std::string> TopicsOf(absl::string_view group) const;
  // Groups with committed offsets for `topic`, sorted.
  std::vector<std::string> GroupsOf(absl::string_view topic) const;
  void RemoveTopic(absl::string_view topic);
  // Forgets every offset `group` committed (its retry topic's included);
  // returns how many group@topic entries were removed.
  int RemoveGroup(absl::string_view group);
  // Queues were added to `topic`, starting at the offsets in `starts`
  // (queue id -> the queue's first offset). Every group with committed
  // offsets for the topic consumed it before these queues existed, so it
  // starts them there, where it has no offset for them yet; otherwise its
  // consume-from point (LAST_OFFSET by default) would skip what producers
  // sent to them before its next rebalance. Groups that come to the topic
  // later use their consume-from point. Returns the groups given offsets.
  std::vector<std::string> StartAddedQueues(
      absl::string_view topic, const std::map<int32_t, int64_t>& starts);
  // Writes the table if it changed since the last write.
  absl::Status Persist();
  // The whole table in the file's format; a slave copies its master's with
  // Replace().
  std::string Encode() const;
  absl::Status Replace(absl::string_view encoded);
  // One page of Encode(): the group@topic lines after `after`, in key
  // order, until the text reaches `max_bytes` (at least one line when any
  // is left); `end` says where it stopped.
  std::string EncodePage(absl::string_view after, size_t max_bytes,
                         PageEnd* end) const;
  // Replace() for the keys in `range` only: the slave applies each page of
  // its master's table as it comes, so it never holds the whole of it, and
  // a copy cut short leaves every key either as the master had it or as
  // it was here.
  absl::Status ReplaceRange(const KeyRange& range, absl::string_view encoded);

 private:
  using Table = absl::flat_hash_map<std::string, std::map<int32_t, int64_t>>;
  static absl::StatusOr<Table> Parse(absl::string_view text,
                                     const std::string& origin);

  TableFile file_;

  mutable absl::Mutex mu_;
  // Key: group@topic (neither may contain '@').
  Table offsets_ ABSL_GUARDED_BY(mu_);
};

}  // namespace cometmq::broker

#endif  // COMETMQ_BROKER_CONSUMER_OFFSET_MANAGER_H_
