#ifndef COMETMQ_CLIENT_CONSUME_ORDERLY_SERVICE_H_
#define COMETMQ_CLIENT_CONSUME_ORDERLY_SERVICE_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "cpp/client/consumer_options.h"
#include "cpp/client/message.h"
#include "cpp/client/message_listener.h"
#include "cpp/client/process_queue.h"
#include "cpp/client/scheduler.h"
#include "cpp/client/thread_pool.h"

namespace cometmq::client {

// Hands a message to the DLQ (CONSUMER_SEND_MSG_BACK at delay level -1);
// true when the broker stored it.
using DlqSender = std::function<bool(const MessageExt&)>;
// Told that a dropped queue's listener call ended, so the queue can be
// released at once.
using DroppedIdle = std::function<void()>;

// Orderly consumption (RocketMQ's ConsumeMessageOrderlyService): each
// queue's messages go to the listener one at a time, in queue-offset order,
// from at most one pool thread at a time, under the queue's consume lock.
//
// Guarantees: a queue's message is handed to the listener only after every
// earlier message of the queue returned kSuccess (or went to the DLQ); with
// `check_locks` (clustering) only while the queue's broker lock is fresh
// (ProcessQueue::LockFresh within options.lock_ttl). kReconsumeLater (or a
// throwing listener) suspends the queue for options.suspend_time and retries
// the same message, counting reconsume_times; after max_reconsume_times
// retries the message goes to the DLQ and the queue moves on (if that
// send fails, the queue stays suspended and tries again). With a batch
// listener each call gets up to options.consume_batch_max_size consecutive
// messages of the queue (RocketMQ's takeMessages); a failed batch is
// suspended and retried as it was, each of its messages counting a
// reconsume, and one that passed max_reconsume_times goes to the DLQ while
// the others are retried. A queue yields
// its thread after options.max_consume_continuously. After Shutdown()
// returns no task is submitted to the pool any more. Whenever the consume
// lock of a dropped queue is given back, `dropped_idle` is called (after
// the unlock): a rebalance that found the lock taken can rely on that call.
class ConsumeOrderlyService
    : public std::enable_shared_from_this<ConsumeOrderlyService> {
 public:
  ConsumeOrderlyService(std::string group, ConsumerOptions options,
                        bool check_locks, MessageListener listener,
                        BatchMessageListener batch_listener, ThreadPool* pool,
                        Scheduler* scheduler, DlqSender to_dlq,
                        DroppedIdle dropped_idle);

  // Takes pulled messages of `pq`. Never blocks (runs on the I/O thread).
  void Submit(const std::shared_ptr<ProcessQueue>& pq,
              std::vector<MessageExt> messages);
  void Shutdown();

 private:
  void Run(const std::shared_ptr<ProcessQueue>& pq);
  void RunSoon(const std::shared_ptr<ProcessQueue>& pq, absl::Duration delay);
  void RunNow(const std::shared_ptr<ProcessQueue>& pq);
  // One listener call under the consume lock; false when the queue must
  // pause (suspended, dropped) and the task end.
  bool ConsumeOne(const std::shared_ptr<ProcessQueue>& pq, MessageExt message);
  // The same for a batch listener's call on `batch`.
  bool ConsumeBatch(const std::shared_ptr<ProcessQueue>& pq,
                    std::vector<MessageExt> batch);
  // A failed `message`: put back for a local retry, counting a reconsume,
  // or, past max_reconsume_times, sent to the DLQ and removed. False when
  // the queue must pause (it was put back).
  bool RetryOrDeadLetter(const std::shared_ptr<ProcessQueue>& pq,
                         MessageExt message);
  void UnlockConsume(const std::shared_ptr<ProcessQueue>& pq);
  bool stopped() const;

  const std::string group_;
  const ConsumerOptions options_;
  const bool check_locks_;
  const MessageListener listener_;             // or
  const BatchMessageListener batch_listener_;  // one of them is set
  ThreadPool* const pool_;
  Scheduler* const scheduler_;
  const DlqSender to_dlq_;
  const DroppedIdle dropped_idle_;

  mutable absl::Mutex mu_;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace cometmq::client

#endif  // COMETMQ_CLIENT_CONSUME_ORDERLY_SERVICE_H_
