#ifndef COMETMQ_CLIENT_OFFSET_STORE_H_
#define COMETMQ_CLIENT_OFFSET_STORE_H_

#include <cstdint>
#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "cpp/client/client_instance.h"
#include "cpp/client/consumer_options.h"
#include "cpp/client/message_queue.h"

namespace cometmq::client {

// Where a group's consumed offsets live: on the queue's broker in
// clustering (QUERY/UPDATE_CONSUMER_OFFSET), in this process's memory in
// broadcasting. Also resolves the start offset of a queue with no committed
// offset from consume_from. Thread-safe; blocking except CommitAsync.
class OffsetStore {
 public:
  OffsetStore(ClientInstance* instance, std::string group,
              const ConsumerOptions& options);

  // The committed offset, or where consume_from says to start.
  absl::StatusOr<int64_t> StartOffset(const MessageQueue& queue);
  absl::Status CommitSync(const MessageQueue& queue, int64_t offset);
  // Oneway; for the periodic commit, which the next one supersedes.
  void CommitAsync(const MessageQueue& queue, int64_t offset);

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
  absl::Mutex mu_;
  std::map<MessageQueue, int64_t> local_ ABSL_GUARDED_BY(mu_);
};

}  // namespace cometmq::client

#endif  // COMETMQ_CLIENT_OFFSET_STORE_H_
