#ifndef COMETMQ_CLIENT_PRODUCER_H_
#define COMETMQ_CLIENT_PRODUCER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "cpp/client/client_instance.h"
#include "cpp/client/message.h"
#include "cpp/client/message_queue.h"
#include "cpp/client/queue_selector.h"
#include "cpp/client/send_request.h"

namespace cometmq::client {

struct ProducerOptions {
  ClientConfig client;
  absl::Duration send_timeout = absl::Seconds(3);  // sendMsgTimeout
  int retry_times_when_send_failed = 2;
  SendLimits limits;
  // When the NameServers know no route for a topic, send to the brokers of
  // `create_topic_cluster` (every broker when empty) on queues
  // 0..default_topic_queue_nums-1 and let the broker create the topic (it
  // answers TOPIC_NOT_EXIST when its autoCreateTopicEnable is off). This
  // replaces RocketMQ's TBW102 default-topic route.
  bool auto_create_topic = true;
  std::string create_topic_cluster;
  int32_t default_topic_queue_nums = 4;
  absl::Duration slow_broker_latency = absl::Milliseconds(550);
  absl::Duration broker_isolation = absl::Seconds(30);
};

struct SendResult {
  std::string status;  // SEND_OK, FLUSH_DISK_TIMEOUT, FLUSH_SLAVE_TIMEOUT,
                       // SLAVE_NOT_AVAILABLE
  std::string msg_id;  // UNIQ_KEY (batch: joined by ',')
  std::string offset_msg_id;  // (batch: joined by ',')
  std::string broker_name;
  int32_t queue_id = 0;
  int64_t queue_offset = 0;  // batch: of the first message
};

using SendCallback = std::function<void(absl::StatusOr<SendResult>)>;

// Sends messages to a topic's queues (RocketMQ's DefaultMQProducer).
//
// Queue choice is round-robin over the write queues of every broker,
// avoiding brokers that failed or answered slower than slow_broker_latency
// within broker_isolation. SendSync, SendAsync and SendBatch retry a failed
// attempt on another broker up to retry_times_when_send_failed times, all
// within one send_timeout budget. An attempt that times out ends the call
// with DeadlineExceeded and is not retried: it used the whole budget, and
// the broker may have stored the message, so a retry would only risk a
// duplicate the caller did not choose. SendToQueue / SendOrderly never move
// to another queue, to keep order.
//
// A broker whose master address is gone (the master left and another
// topic's route showed it before this topic's did) counts as a failed
// attempt: the send moves to another broker and the route is refreshed.
//
// Guarantees: every call ends within its timeout, a NameServer lookup of a
// route not cached yet included; SendAsync's callback runs exactly once: on
// the client instance's callback thread ("client-callback", never the
// remoting I/O thread) in the order the sends completed, or on the caller's
// thread when the message is refused before sending (invalid, producer not
// started, no route). A callback may block and may call SendSync; it only
// delays the callbacks after it, not the client's I/O. Shutdown waits for
// outstanding async sends and for their callbacks to have run (and been
// destroyed). Shutdown from a callback stops sends at once but cannot wait
// for the callbacks queued behind its own: a later Shutdown from another
// thread, or the destructor, does. A callback must not destroy the producer.
class DefaultProducer {
 public:
  DefaultProducer(std::string group, ProducerOptions options);
  ~DefaultProducer();

  DefaultProducer(const DefaultProducer&) = delete;
  DefaultProducer& operator=(const DefaultProducer&) = delete;

  absl::Status Start();
  void Shutdown();

  absl::StatusOr<SendResult> SendSync(const Message& message);
  absl::StatusOr<SendResult> SendSync(const Message& message,
                                      absl::Duration timeout);
  // Resolves the route on the caller's thread (a NameServer request when the
  // topic is not cached yet), then sends without blocking.
  void SendAsync(const Message& message, SendCallback callback);
  void SendAsync(const Message& message, SendCallback callback,
                 absl::Duration timeout);
  absl::Status SendOneway(const Message& message);
  absl::StatusOr<SendResult> SendToQueue(const Message& message,
                                         const MessageQueue& queue);
  // Queue = ShardingIndex(sharding_key, write queue count) over the topic's
  // sorted write queues: one key, one queue, while the route is unchanged.
  absl::StatusOr<SendResult> SendOrderly(const Message& message,
                                         const std::string& sharding_key);
  absl::StatusOr<SendResult> SendBatch(const std::vector<Message>& messages);

  // The write queues sends to `topic` choose from.
  absl::StatusOr<std::vector<MessageQueue>> WriteQueues(
      const std::string& topic);

  const std::string& group() const { return group_; }

 private:
  struct AsyncSend;
  // Sends halves, whose TRAN_MSG and PGROUP properties it sets itself.
  friend class TransactionProducer;

  absl::StatusOr<SendResult> SendSyncSetBy(const Message& message,
                                           PropertiesSetBy set_by,
                                           absl::Duration timeout);
  absl::Status NotStarted() const;
  // The client instance while started (one lock per send: what follows
  // uses this pointer, which stays valid while the send holds it).
  absl::StatusOr<std::shared_ptr<ClientInstance>> RunningInstance() const;
  // A route lookup not cached yet asks the NameServers until `deadline`.
  absl::StatusOr<std::shared_ptr<const TopicRoute>> PublishRoute(
      ClientInstance* instance, const std::string& topic, absl::Time deadline);
  absl::StatusOr<std::shared_ptr<const TopicRoute>> DefaultRoute(
      ClientInstance* instance, const std::string& topic, absl::Time deadline);
  absl::StatusOr<SendResult> SendWithRetry(ClientInstance* instance,
                                           const PreparedSend& prepared,
                                           absl::Duration timeout);
  // One attempt on `queue`, ending by `deadline`.
  absl::StatusOr<SendResult> SendToQueueBefore(ClientInstance* instance,
                                               const Message& message,
                                               const MessageQueue& queue,
                                               absl::Time deadline);
  // One attempt, begun at `start`.
  absl::StatusOr<SendResult> SendOnce(ClientInstance* instance,
                                      const PreparedSend& prepared,
                                      const MessageQueue& queue,
                                      absl::Time start, absl::Duration timeout);
  void StartAsyncAttempt(std::shared_ptr<AsyncSend> send);
  void FinishAsync(const std::shared_ptr<AsyncSend>& send,
                   absl::StatusOr<SendResult> result);
  // The result of a send answer; errors carry the broker's code and remark.
  absl::StatusOr<SendResult> ToSendResult(const PreparedSend& prepared,
                                          const MessageQueue& queue,
                                          const remoting::Command& response);
  // Feeds the attempt begun at `start` to the fault tracker; a failure also
  // asks for a route refresh.
  void RecordAttempt(ClientInstance* instance, const std::string& broker,
                     absl::Time start, const absl::Status& status,
                     const std::string& topic);

  const std::string group_;
  const ProducerOptions options_;
  LatencyFaultTolerance faults_;
  QueueSelector selector_;

  mutable absl::Mutex mu_;
  std::shared_ptr<ClientInstance> instance_ ABSL_GUARDED_BY(mu_);
  bool running_ ABSL_GUARDED_BY(mu_) = false;
  // Async sends whose callback has not run yet. instance_ is kept until it
  // drops to 0, also after a Shutdown from a callback.
  int async_in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  // Auto-create routes built from the cluster list, with their build time.
  absl::flat_hash_map<std::string,
                      std::pair<std::shared_ptr<const TopicRoute>, absl::Time>>
      default_routes_ ABSL_GUARDED_BY(mu_);
};

// True for the answers a retry on another broker may cure.
bool IsRetriableSendError(const absl::Status& status);

// Why `route` of `topic` has no queue a producer may send to: NO_PERMISSION
// (as the broker answers) when no broker's perm allows writes, Unavailable
// when the writable brokers have no master registered.
absl::Status NoWritableQueueError(const std::string& topic,
                                  const proto::TopicRouteData& route);

}  // namespace cometmq::client

#endif  // COMETMQ_CLIENT_PRODUCER_H_
