#ifndef COMETMQ_CLIENT_PULL_CONSUMER_H_
#define COMETMQ_CLIENT_PULL_CONSUMER_H_

#include <deque>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "cpp/client/client_instance.h"
#include "cpp/client/consumer_core.h"
#include "cpp/client/consumer_options.h"
#include "cpp/client/message.h"
#include "cpp/client/subscription.h"

namespace cometmq::client {

// A consumer the application polls (RocketMQ's DefaultLitePullConsumer).
// Subscribe shares the push consumer's rebalance; Assign fixes the queues.
// Messages are pulled ahead into a buffer bounded by the per-queue flow
// control. A polled message counts as consumed: Commit() (and, with
// auto_commit, the periodic commit and the commits when a queue is given up
// or the consumer shuts down) stores each queue's lowest offset not yet
// polled. Without auto_commit nothing else commits: what was polled after
// the last Commit() is delivered again after a restart or rebalance.
// Thread-safe.
class DefaultLitePullConsumer {
 public:
  DefaultLitePullConsumer(std::string group, ConsumerOptions options = {});
  ~DefaultLitePullConsumer();

  DefaultLitePullConsumer(const DefaultLitePullConsumer&) = delete;
  DefaultLitePullConsumer& operator=(const DefaultLitePullConsumer&) = delete;

  // Before Start(); one or the other.
  absl::Status Subscribe(const std::string& topic,
                         const std::string& expression);
  // RocketMQ's subscribe(topic, MessageSelector): MessageSelector::BySql
  // selects by the messages' properties (brokers need
  // enablePropertyFilter=true; Start() fails with the broker's reason when
  // one refuses); InvalidArgument, naming the position, for a selector
  // that does not compile. ByTag is Subscribe(topic, expression).
  absl::Status Subscribe(const std::string& topic,
                         const MessageSelector& selector);
  void Assign(std::vector<MessageQueue> queues);
  // RocketMQ's unsubscribe(topic), before or after Start(): the topic's
  // queues are given up at once (with auto_commit their polled offsets
  // committed, so a later Subscribe resumes there), no message of it is
  // polled once it returned, even one already buffered, and the next
  // heartbeat no longer lists the topic. Nothing for a topic not
  // subscribed; FailedPrecondition for an assigned consumer.
  absl::Status Unsubscribe(const std::string& topic);

  absl::Status Start();
  // Commits and leaves the group; called while Start() runs on another
  // thread, waits for it and then stops what it started.
  void Shutdown();

  // Up to pull_batch_size messages; waits up to `timeout` for the first.
  // FailedPrecondition unless started and not shut down (a poll loop would
  // otherwise spin on empty results).
  absl::StatusOr<std::vector<MessageExt>> Poll(absl::Duration timeout);
  // Commits the polled offsets of every owned queue now; FailedPrecondition
  // unless running (before Start() there is no offset store).
  absl::Status Commit();
  // The next Poll of `queue` starts at `offset`.
  absl::Status Seek(const MessageQueue& queue, int64_t offset);
  std::vector<MessageQueue> OwnedQueues() const;

 private:
  void Buffer(const std::shared_ptr<ProcessQueue>& pq,
              std::vector<MessageExt> messages);
  absl::Status NotRunning() const;

  const std::string group_;
  const ConsumerOptions options_;
  std::shared_ptr<ConsumerCore> core_;

  absl::Mutex mu_;
  std::shared_ptr<ClientInstance> instance_ ABSL_GUARDED_BY(mu_);
  bool running_ ABSL_GUARDED_BY(mu_) = false;
  bool starting_ ABSL_GUARDED_BY(mu_) = false;
  std::deque<std::pair<std::shared_ptr<ProcessQueue>, MessageExt>> buffer_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace cometmq::client

#endif  // COMETMQ_CLIENT_PULL_CONSUMER_H_
