#ifndef COMETMQ_CLIENT_PUSH_CONSUMER_H_
#define COMETMQ_CLIENT_PUSH_CONSUMER_H_

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "cpp/client/client_instance.h"
#include "cpp/client/consume_orderly_service.h"
#include "cpp/client/consumer_core.h"
#include "cpp/client/consumer_options.h"
#include "cpp/client/message.h"
#include "cpp/client/message_listener.h"
#include "cpp/client/retry_copy.h"
#include "cpp/client/scheduler.h"
#include "cpp/client/subscription.h"
#include "cpp/client/thread_pool.h"

namespace cometmq::client {

// Delivers a group's messages to a listener on consume_threads threads
// (RocketMQ's DefaultMQPushConsumer, concurrent mode), pulling with long
// polls underneath.
//
// Delivery is at least once: a queue's committed offset never passes a
// message whose listener call has not returned kSuccess or been sent back.
// In CLUSTERING the consumer also subscribes %RETRY%<group>, and
// kReconsumeLater sends the message back to the broker it came from
// (CONSUMER_SEND_MSG_BACK), which redelivers it through the retry topic
// after a growing delay and moves it to %DLQ%<group> after
// max_reconsume_times; a retried message reaches the listener with its
// original topic and its reconsume_times. When the send-back fails, a copy
// is sent to the retry topic through another broker (or the same one, if
// it answered), which applies the same retry and DLQ rule; a broker that
// did not answer is not sent messages back for kSilentBrokerSkip while
// another broker can take them, so a hung broker costs one request timeout
// per consume thread, not one per failed message. When the copy fails too, the
// message stays uncommitted and is handed to the listener again, for as long as
// no broker takes it back, after reconsume_backoff doubled per reconsume (at
// most a minute); its reconsume_times counts up. In BROADCASTING failed
// messages are dropped, as in RocketMQ.
//
// With options.orderly each queue is consumed by one thread at a time in
// queue order (ConsumeOrderlyService); in CLUSTERING the consumer holds the
// queue's lock on its broker while it consumes it (see ConsumerCore), so
// messages sent with one sharding key are consumed in send order across
// consumers joining and leaving. A failed orderly message is retried
// locally, as in RocketMQ, and goes to %DLQ%<group> after
// max_reconsume_times retries.
//
// Concurrent consumers also apply RocketMQ's consumeTimeout: a message
// whose listener call has run longer than options.consume_timeout is sent
// back (delay level 3) and stops holding the committed offset; the late
// result of that call is then ignored (a success only removes what is gone
// already), so the offset never passes a message neither consumed nor
// taken back by a broker.
class DefaultPushConsumer {
 public:
  static constexpr absl::Duration kSilentBrokerSkip = absl::Seconds(10);
  // RocketMQ's cleanExpireMsg: delay level of a timed-out message's
  // send-back, and how many of a queue's lowest messages one check takes.
  static constexpr int kConsumeTimeoutDelayLevel = 3;
  static constexpr int kMaxExpiredPerCheck = 16;
  // Consume timeouts are checked this often at most (RocketMQ checks every
  // consumeTimeout, so a message waits up to twice as long).
  static constexpr absl::Duration kMaxTimeoutCheckInterval = absl::Minutes(1);

  DefaultPushConsumer(std::string group, ConsumerOptions options = {});
  ~DefaultPushConsumer();

  DefaultPushConsumer(const DefaultPushConsumer&) = delete;
  DefaultPushConsumer& operator=(const DefaultPushConsumer&) = delete;

  // Before Start().
  absl::Status Subscribe(const std::string& topic,
                         const std::string& expression);
  // RocketMQ's subscribe(topic, MessageSelector): MessageSelector::BySql
  // selects by the messages' properties (brokers need
  // enablePropertyFilter=true; Start() fails with the broker's reason when
  // one refuses); InvalidArgument, naming the position, for a selector
  // that does not compile. ByTag is Subscribe(topic, expression).
  absl::Status Subscribe(const std::string& topic,
                         const MessageSelector& selector);
  // RocketMQ's unsubscribe(topic), before or after Start(): no message of
  // `topic` is delivered once it returned, except those whose listener
  // call already began, and retries of earlier failures, which come
  // through the group's retry topic (as in RocketMQ). The topic's queues
  // are given up at once, their offsets committed (so a later Subscribe
  // resumes there), and the next heartbeat no longer lists the topic.
  // Other consumers of the group should unsubscribe too: queues the
  // group's rebalance still gives this one are not consumed. InvalidArgument
  // for the group's retry topic; nothing for a topic not subscribed.
  absl::Status Unsubscribe(const std::string& topic);
  // The listener, one message per call; replaces a batch listener.
  void RegisterListener(MessageListener listener);
  // RocketMQ's listener of List<MessageExt> with consumeMessageBatchMaxSize:
  // up to options.consume_batch_max_size messages of one queue per call,
  // in queue order; replaces a single-message listener. Concurrent
  // consumers split each pull's messages into such batches, handed to the
  // consume threads one batch per task; orderly ones take up to that many
  // consecutive messages of the queue. kSuccess consumes the whole batch;
  // kReconsumeLater (or an exception) fails every message in it, each then
  // dealt with as a failed single message: sent back (or, orderly,
  // suspended and retried locally with the whole batch, each message going
  // to the DLQ once it passed max_reconsume_times). A message whose consume
  // timeout passed during the call is sent back on its own, as ever.
  void RegisterBatchListener(BatchMessageListener listener);

  absl::Status Start();
  // Stops delivery, waits for running listener calls, commits offsets and
  // leaves the group. Called from the listener it would wait for itself:
  // there it only stops delivery (no further listener call starts), and a
  // second call from another thread, or the destructor, finishes it.
  // Called while Start() runs on another thread, it waits for Start() and
  // then stops what it started.
  void Shutdown();

  std::vector<MessageQueue> OwnedQueues() const;
  const std::string& client_id() const;

 private:
  // Start()'s setup before the first rebalance: retry topic, client
  // instance, consume pool, orderly service.
  absl::Status Prepare() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Deliver(const std::shared_ptr<ProcessQueue>& pq,
               std::vector<MessageExt> messages);
  // Concurrent batch listener: one task per consume_batch_max_size
  // messages, in the pull's order.
  void DeliverBatches(const std::shared_ptr<ProcessQueue>& pq,
                      std::vector<MessageExt> messages);
  // `message` lives in its delivery task's batch, which the pointer keeps
  // alive for a consume-timeout send-back during the call.
  void Consume(const std::shared_ptr<ProcessQueue>& pq,
               std::shared_ptr<MessageExt> message);
  // One batch listener call on `batch` (kept alive, as Consume's message,
  // by the pointers the process queue holds during the call).
  void ConsumeBatch(const std::shared_ptr<ProcessQueue>& pq,
                    std::shared_ptr<std::vector<MessageExt>> batch);
  // Ends the listener call on `message` with `result`: removes it when
  // consumed, sent back or given up (broadcasting), leaves it to the
  // consume timeout that took it, and returns true when it is neither
  // consumed nor taken back by a broker: the caller must redeliver it.
  // Defined (inline) in push_consumer.cc, its only user.
  inline bool Settle(const std::shared_ptr<ProcessQueue>& pq,
                     const MessageExt& message, ConsumeResult result);
  // How long a failed message no broker took back waits before it is
  // handed to the listener again (reconsume_backoff doubled per
  // reconsume, at most a minute); counts the reconsume in `message`.
  absl::Duration ReconsumeDelay(MessageExt& message) const;
  // Sends back the owned queues' messages whose listener call passed
  // consume_timeout (on timeout_checker_'s thread).
  void CheckConsumeTimeouts();
  // Ends a listener call; the last one on a given-up queue releases it.
  void EndConsume(const std::shared_ptr<ProcessQueue>& pq);
  // CONSUMER_SEND_MSG_BACK of a failed message, for a delayed retry (at
  // `delay_level`, 0: the broker's 3 + reconsume times) or straight to the
  // DLQ, else SendRetryCopy; false if neither succeeded.
  // A broker that did not answer a send-back is skipped for
  // kSilentBrokerSkip while the cached route has another broker: its
  // failed messages go to SendRetryCopy at once.
  bool SendBack(const MessageExt& message, bool to_dlq, int delay_level = 0);
  absl::StatusOr<remoting::Command> RequestSendBack(ClientInstance& instance,
                                                    const MessageExt& message,
                                                    bool to_dlq,
                                                    int delay_level);
  // Sends MakeRetryCopy of `message` to RetryCopyTargets, within one
  // request timeout in all. With no target in the cached route it asks
  // for a fresh route (for the next try) instead of waiting for one.
  absl::Status SendRetryCopy(ClientInstance& instance,
                             const MessageExt& message, bool to_dlq,
                             bool origin_may_take_it);

  const std::string group_;
  const ConsumerOptions options_;
  MessageListener listener_;             // or
  BatchMessageListener batch_listener_;  // one of them is set
  std::unique_ptr<ThreadPool> pool_;
  std::shared_ptr<ConsumerCore> core_;
  std::shared_ptr<ConsumeOrderlyService> orderly_;  // orderly only
  // Concurrent only: its own thread, as RocketMQ's cleanExpireMsg executor,
  // so send-backs neither wait for stuck consume threads nor hold up the
  // client's maintenance.
  std::unique_ptr<Scheduler> timeout_checker_;

  absl::Mutex mu_;
  std::shared_ptr<ClientInstance> instance_ ABSL_GUARDED_BY(mu_);
  bool running_ ABSL_GUARDED_BY(mu_) = false;
  // While Start() calls brokers without mu_; Shutdown() waits for it.
  bool starting_ ABSL_GUARDED_BY(mu_) = false;
  // Set once Shutdown() began; read by the consume threads without mu_.
  std::atomic<bool> stopping_{false};
  // Brokers whose last send-back got no answer, until when they are skipped.
  absl::flat_hash_map<std::string, absl::Time> silent_brokers_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace cometmq::client

#endif  // COMETMQ_CLIENT_PUSH_CONSUMER_H_
