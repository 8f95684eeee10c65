#ifndef COMETMQ_CLIENT_OFFSET_STORE_H_
#define COMETMQ_CLIENT_OFFSET_STORE_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "cpp/client/client_instance.h"
#include "cpp/client/consumer_options.h"
#include "cpp/client/local_offset_file.h"
#include "cpp/client/message_queue.h"

namespace cometmq::client {

// Where a group's consumed offsets live: on the queue's broker in
// clustering (QUERY/UPDATE_CONSUMER_OFFSET); in broadcasting, where every
// client has its own, in memory and in a local file (LocalOffsetPath) read
// by Load() and written by CommitSync and Persist(), so a restarted client
// with the same instance name resumes where it stopped. Also resolves the
// start offset of a queue with no committed offset from consume_from.
// Thread-safe; blocking except CommitAsync.
class OffsetStore {
 public:
  OffsetStore(ClientInstance* instance, std::string group,
              const ConsumerOptions& options);

  // Broadcasting: claims the local file (FailedPrecondition while another
  // running consumer holds it) and reads it (none yet: an empty table).
  absl::Status Load();
  // Broadcasting: gives the claim on the local file up, after the last
  // Persist(); nothing is written any more.
  void Close();
  // Broadcasting: writes the local file if an offset changed since the last
  // write. Clustering: nothing (commits go to the broker).
  absl::Status Persist();

  // The committed offset, or where consume_from says to start.
  absl::StatusOr<int64_t> StartOffset(const MessageQueue& queue);
  absl::Status CommitSync(const MessageQueue& queue, int64_t offset);
  // Oneway; for the periodic commit, which the next one supersedes.
  // False when the commit did not reach the master (sent to a slave while
  // the master is unreachable, or not sent): a slave's copy is replaced by
  // its master's at the next sync, so the caller commits it again later.
  bool CommitAsync(const MessageQueue& queue, int64_t offset);

  // A broker's min, max or by-timestamp offset (code GET_MIN_OFFSET,
  // GET_MAX_OFFSET or SEARCH_OFFSET_BY_TIMESTAMP).
  absl::StatusOr<int64_t> QueueOffset(int32_t code, const MessageQueue& queue,
                                      int64_t timestamp);

 private:
  absl::StatusOr<int64_t> ConsumeFromOffset(const MessageQueue& queue);
  remoting::Command UpdateRequest(const MessageQueue& queue,
                                  int64_t offset) const;

  ClientInstance* const instance_;
  const std::string group_;
  const ConsumerOptions options_;
  const std::string local_path_;  // broadcasting only
  absl::Mutex mu_;
  std::map<MessageQueue, int64_t> local_ ABSL_GUARDED_BY(mu_);
  bool dirty_ ABSL_GUARDED_BY(mu_) = false;
  absl::Mutex persist_mu_ ABSL_ACQUIRED_BEFORE(mu_);  // one writer at a time
  // Broadcasting, from Load() to Close(); Persist() writes only with it.
  std::unique_ptr<OffsetFileLock> file_lock_ ABSL_GUARDED_BY(persist_mu_);
};

// Where a broadcasting consumer of `group` keeps its offsets:
// <dir>/<client ip>@<instance name>/<group>/offsets, with dir from
// options.local_offset_dir, else $COMETMQ_OFFSET_DIR, else
// $HOME/.cometmq_offsets.
std::string LocalOffsetPath(const ConsumerOptions& options,
                            const std::string& group);

}  // namespace cometmq::client

#endif  // COMETMQ_CLIENT_OFFSET_STORE_H_
