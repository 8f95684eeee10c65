#ifndef COMETMQ_CLIENT_CONSUMER_CORE_H_
#define COMETMQ_CLIENT_CONSUMER_CORE_H_

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "cpp/client/client_instance.h"
#include "cpp/client/consumer_member.h"
#include "cpp/client/consumer_options.h"
#include "cpp/client/message.h"
#include "cpp/client/offset_store.h"
#include "cpp/client/process_queue.h"
#include "cpp/client/subscription.h"

namespace cometmq::client {

// Receives pulled messages (already tag-filtered) of one owned queue. Runs
// on the remoting I/O thread or the timer thread, under the core's lock:
// must not block nor call the core.
using MessageSink = std::function<void(const std::shared_ptr<ProcessQueue>&,
                                       std::vector<MessageExt>)>;

// What push and lite pull consumers share: subscriptions, queue ownership
// (rebalance by AllocateAveragely in clustering, every queue in
// broadcasting, or a fixed assignment), one long-polling pull chain per
// owned queue driven by response callbacks, per-queue flow control, and
// offset commits (periodic, at drop and at shutdown) of each queue's lowest
// unconsumed offset.
//
// Guarantees: a queue is pulled by at most one chain at a time; a dropped
// queue gets no more messages delivered, and its offset is committed after
// its running consumption ends (or drop_wait passes), which is never waited
// for on the client's timer thread (lock renewals, heartbeats and
// rebalances of every consumer of the client run there); after Shutdown()
// returns nothing is delivered and every owned queue's offset has been
// committed (best effort against unreachable brokers). Without
// options.auto_commit (a lite pull consumer the application commits) only
// CommitOffsets() commits: a queue given up, or a shutdown, leaves the
// offset the application last committed, so what it polled and did not
// commit is delivered again (as RocketMQ's lite pull consumer with
// autoCommit false).
//
// Orderly clustering consumers also hold each owned queue's broker lock
// (RocketMQ's RebalanceLockManager): a queue is owned only once locked,
// pulled only while the lock is held, and renewed every lock_interval. A
// queue given up is released only after its in-flight message finished
// (the process queue's consume lock; released when the consume service
// reports the call ended, or at the next lock retry, its broker lock
// renewed meanwhile) and its offset was committed; so the next owner, which
// locks before it reads the committed offset, continues exactly where this
// one stopped. A queue whose lock a renewal finds lost (not renewed within the
// broker's expiry) pauses and commits nothing until it is locked again; it
// then resumes from where it paused, so messages another owner consumed
// meanwhile are consumed again, in order (as in RocketMQ).
class ConsumerCore : public ConsumerMember,
                     public std::enable_shared_from_this<ConsumerCore> {
 public:
  ConsumerCore(std::string group, ConsumerOptions options,
               std::string consume_type, MessageSink sink);

  absl::Status Subscribe(const std::string& topic,
                         const std::string& expression);
  absl::Status Subscribe(const std::string& topic,
                         const MessageSelector& selector);
  // Removes the subscription of `topic` (nothing if there is none). Once
  // started, also gives up the topic's queues at once, as a rebalance
  // would (their offsets committed after their running listener calls, or
  // queued to be released later), and heartbeats so brokers stop listing
  // the topic for this client. Blocking: not for the I/O thread.
  absl::Status Unsubscribe(const std::string& topic);
  // Fixed queues instead of rebalance (lite pull consumer's assign).
  void Assign(std::vector<MessageQueue> queues);

  // `instance` must outlive every use: the owner keeps it until Shutdown()
  // returned.
  absl::Status Start(ClientInstance* instance);
  void Shutdown();

  // Recomputes owned queues now (blocking; not for the I/O thread).
  void Rebalance();
  // Commits every owned queue's offset (oneway unless `sync`).
  void CommitOffsets(bool sync);
  // Restarts pulling `queue` at `offset`; NotFound if it is not owned.
  absl::Status Seek(const MessageQueue& queue, int64_t offset);
  // Applies an offset reset a broker made and stored (resetOffsetByTime,
  // skipAccumulatedMessage; RocketMQ's MQClientInstance.resetOffset), for
  // the queues this consumer owns or is still giving up. At once (it does
  // not block, so the I/O thread may call it): each owned queue gets a new
  // process queue at its offset, and the old one is pinned to the reset
  // offset and dropped, so its buffered messages are never delivered,
  // listener calls running on it finish but count for nothing, and no
  // commit made afterwards (periodic, a pull's, a given-up queue's final
  // one, the shutdown's) carries an offset from before the reset. Then, on
  // the timer thread: the offset is committed (to the broker, or a
  // broadcasting consumer's local store), overwriting a commit of ours
  // that raced the reset to the broker, and pulling resumes there; an
  // orderly queue resumes only after the message running on it finished,
  // so its messages are never consumed two at a time.
  void ResetOffsets(const std::map<MessageQueue, int64_t>& offsets);
  std::vector<MessageQueue> OwnedQueues() const;
  // The process queues of the owned queues.
  std::vector<std::shared_ptr<ProcessQueue>> OwnedProcessQueues() const;
  // How often a pull was put off because the messages a queue holds span
  // more than consume_concurrently_max_span (RocketMQ's
  // queueMaxSpanFlowControlTimes).
  int64_t span_flow_controls() const {
    return span_flow_controls_.load(std::memory_order_relaxed);
  }

  // The last listener call running on a given-up queue has ended (the
  // consume services call this after it): releases the queue soon, on the
  // timer thread, rather than at the next retry round.
  void OnGivenUpQueueIdle();

  // Redelivers `message` of `pq` to the sink after `delay`, unless the
  // queue was dropped meanwhile.
  void Redeliver(const std::shared_ptr<ProcessQueue>& pq, MessageExt message,
                 absl::Duration delay);
  // The same for several messages of `pq`, delivered again together.
  void Redeliver(const std::shared_ptr<ProcessQueue>& pq,
                 std::vector<MessageExt> messages, absl::Duration delay);

  const ConsumerOptions& options() const { return options_; }
  // Orderly clustering: queues are locked on their brokers.
  bool locking() const {
    return options_.orderly && options_.model == MessageModel::kClustering;
  }

  // ConsumerMember.
  const std::string& group() const override { return group_; }
  proto::ConsumerData HeartbeatData() const override;
  void OnConsumerIdsChanged() override;
  void OnResetOffset(const proto::ResetOffsetTable& table) override;

 private:
  void RebalanceLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(rebalance_mu_);
  absl::StatusOr<std::vector<MessageQueue>> Allocate(const std::string& topic);
  // RocketMQ's checkClientInBroker: asks each broker of each topic whether
  // it can serve the (non-TAG) subscription; the first refusal is the
  // error (with the broker's reason). An unreachable broker or topic
  // without a route is only logged.
  absl::Status CheckClientInBrokers(
      ClientInstance* instance, const std::vector<Subscription>& subscriptions);
  // False when a wanted queue could not be taken yet (its lock is held
  // elsewhere or it is still being released here): retry soon.
  bool UpdateQueues(const std::string& topic,
                    const std::vector<MessageQueue>& owned)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(rebalance_mu_);
  // False when the commit failed.
  bool CommitOne(const std::shared_ptr<ProcessQueue>& pq, bool sync);

  // A queue given up whose listener calls may still be running.
  struct Releasing {
    std::shared_ptr<ProcessQueue> pq;
    // Concurrent queues only: the final commit is made then even if a
    // listener call is still running (orderly ones keep their lock instead).
    absl::Time commit_anyway_at;
    // reset_count_ when it was given up: a reset after that, which found
    // no owned queue to move, decides its final commit.
    uint64_t resets_seen = 0;
  };

  // Gives a queue up: drops it and, unless a listener call on it still
  // runs, commits its offset and (orderly) releases its broker lock. False
  // if a call runs and nothing was committed or released: the last call's
  // end (OnGivenUpQueueIdle) or a later round tries again. Never waits for
  // a listener: that would hold the client's timer thread, and with it
  // every lock renewal, heartbeat and rebalance of the client.
  bool Release(const Releasing& releasing)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(rebalance_mu_);
  // The final commit of a queue given up, at the offset of a reset that
  // arrived since it was given up. A reset arriving while the commit is
  // under way may have been overwritten by it at the broker (which queues
  // the reset's notice before answering such a commit), so its offset is
  // then committed again. False when a commit failed.
  bool CommitGivenUp(const Releasing& releasing)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(rebalance_mu_);
  // The offset of the latest reset of `queue` newer than `seen`, if any.
  std::optional<int64_t> ResetSince(const MessageQueue& queue,
                                    uint64_t seen) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Releases the given-up queues now idle; true if some are still busy.
  bool ReleaseGivenUp() ABSL_EXCLUSIVE_LOCKS_REQUIRED(rebalance_mu_);
  // Renews the broker locks of every owned queue, and of those given up
  // but still releasing.
  void RenewLocks();
  // A rebalance soon, at most one pending.
  void ScheduleLockRetry() ABSL_EXCLUSIVE_LOCKS_REQUIRED(rebalance_mu_);
  void RetryLocks();

  void Pull(const std::shared_ptr<ProcessQueue>& pq);
  // A queue ResetOffsets replaced.
  struct ResetQueue {
    std::shared_ptr<ProcessQueue> old;
    std::shared_ptr<ProcessQueue> pq;
    int64_t offset = 0;
  };
  // The part of ResetOffsets that calls brokers (timer thread).
  void FinishReset(const std::vector<ResetQueue>& replaced);
  // Pulls `pq`, which replaced `old`, once `old`'s message running in an
  // orderly listener call finished (concurrent queues at once).
  void PullAfter(const std::shared_ptr<ProcessQueue>& old,
                 const std::shared_ptr<ProcessQueue>& pq);
  void PullLater(const std::shared_ptr<ProcessQueue>& pq, absl::Duration delay);
  void OnPulled(const std::shared_ptr<ProcessQueue>& pq,
                absl::StatusOr<remoting::Command> response);
  void Deliver(const std::shared_ptr<ProcessQueue>& pq,
               std::vector<MessageExt> messages) ABSL_LOCKS_EXCLUDED(mu_);
  std::optional<Subscription> SubscriptionFor(const std::string& topic) const;
  bool stopped() const;

  const std::string group_;
  const ConsumerOptions options_;
  const std::string consume_type_;
  const MessageSink sink_;
  ClientInstance* instance_ = nullptr;  // set by Start()
  std::unique_ptr<OffsetStore> offsets_;

  // Held through a whole rebalance, seek or shutdown, so queue ownership
  // changes one at a time. Never taken on the I/O thread.
  absl::Mutex rebalance_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  mutable absl::Mutex mu_;
  bool started_ ABSL_GUARDED_BY(mu_) = false;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  std::map<std::string, Subscription> subscriptions_ ABSL_GUARDED_BY(mu_);
  std::optional<std::vector<MessageQueue>> assigned_ ABSL_GUARDED_BY(mu_);
  std::map<MessageQueue, std::shared_ptr<ProcessQueue>> queues_
      ABSL_GUARDED_BY(mu_);
  // The latest reset offset of each queue a broker reset, numbered by
  // reset_count_ at its arrival: a queue a rebalance takes while a reset
  // arrives (between reading its offset and owning it) starts at the reset
  // offset, not at the older offset it read.
  struct LastReset {
    uint64_t count = 0;
    int64_t offset = 0;
  };
  std::map<MessageQueue, LastReset> last_resets_ ABSL_GUARDED_BY(mu_);
  uint64_t reset_count_ ABSL_GUARDED_BY(mu_) = 0;
  // Extra rebalances scheduled after a topic could not be allocated.
  int quick_rebalances_ ABSL_GUARDED_BY(rebalance_mu_) = 0;
  // Queues given up whose listener calls have not finished yet: not owned
  // any more, not yet committed (and, orderly, unlocked).
  std::map<MessageQueue, Releasing> releasing_ ABSL_GUARDED_BY(rebalance_mu_);
  bool lock_retry_pending_ ABSL_GUARDED_BY(rebalance_mu_) = false;
  std::atomic<int64_t> span_flow_controls_{0};
};

}  // namespace cometmq::client

#endif  // COMETMQ_CLIENT_CONSUMER_CORE_H_
