#ifndef COMETMQ_BROKER_SEND_PROCESSOR_H_
#define COMETMQ_BROKER_SEND_PROCESSOR_H_

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "cpp/broker/broker_config.h"
#include "cpp/broker/retry_policy.h"
#include "cpp/broker/subscription_group_manager.h"
#include "cpp/broker/thread_pool.h"
#include "cpp/broker/topic_config_manager.h"
#include "cpp/common/message_record.h"
#include "cpp/remoting/remoting_server.h"
#include "cpp/store/message_store.h"

namespace cometmq::broker {

// Splits a SEND_BATCH_MESSAGE body (PROTOCOL.md "Batch body") into messages
// carrying body, flag and properties; InvalidArgument for a malformed body.
absl::StatusOr<std::vector<MessageToStore>> DecodeBatchBody(
    absl::string_view body);

// SEND_MESSAGE and SEND_BATCH_MESSAGE. Handle() runs on an I/O thread. Under
// ASYNC_FLUSH a send to an existing topic is processed there (the append
// does not wait); otherwise the work is queued on the send pool
// (SYSTEM_BUSY when it is full), which validates the request, auto-creates
// the topic, and hands the messages to MessageStore::Put, whose callback
// answers — at once under ASYNC_FLUSH, on the flush thread after group
// commit under SYNC_FLUSH. No thread waits for the disk. A message with
// DELAY=N>0 is stored on SCHEDULE_TOPIC_XXXX queue N-1 (N clamped to the level
// table) with REAL_TOPIC/REAL_QID, for the ScheduleService to deliver; batches
// cannot be delayed. A send to %RETRY%<group> goes where ResolveRetry says:
// to %DLQ%<group> once its reconsume times exceed the allowed ones.
class SendProcessor {
 public:
  SendProcessor(const BrokerConfig& config, store::MessageStore* store,
                TopicConfigManager* topics, SubscriptionGroupManager* groups,
                ThreadPool* pool);

  void Handle(remoting::Command&& request, remoting::Responder responder);
  int64_t messages_put() const { return messages_put_.load(); }

 private:
  // What a send is refused with: the producer gets this code and remark,
  // and nothing is stored.
  struct Refusal {
    proto::StatusCode code;
    std::string remark;
  };
  // Where the messages of a send go.
  struct Target {
    std::optional<TopicConfigManager::WriteInfo> topic;
    std::optional<RetryDestination> retry;  // a send to %RETRY%<group>
    int32_t queue_id = 0;
  };

  // `topic` is set when the caller already looked the topic up. May take
  // the request's body. Checks the request, resolves its target, builds the
  // messages, reroutes them (half, delay, dead letters) and stores them;
  // each step either passes or refuses the whole send.
  void Process(remoting::Command& request, const remoting::Responder& responder,
               std::optional<TopicConfigManager::WriteInfo> topic);
  // What can be refused from the request alone, before anything is created.
  std::optional<Refusal> CheckRequest(const remoting::Command& request) const;
  // The topic (retry or dead-letter topic for a consumer's copy; created
  // when autoCreateTopicEnable allows) and the queue.
  std::optional<Refusal> ResolveTarget(const proto::SendMessageRequest& send,
                                       Target* target);
  std::optional<Refusal> FindOrCreateTopic(
      const proto::SendMessageRequest& send, Target* target);
  // Decodes a batch (or takes the single body) and stamps every message
  // with its target, born host and the request's fields.
  std::optional<Refusal> BuildMessages(
      remoting::Command& request, const remoting::Responder& responder,
      const Target& target, std::vector<MessageToStore>* messages) const;
  // Transaction halves, delayed messages and retries with no room for their
  // bookkeeping go elsewhere than their topic.
  std::optional<Refusal> Reroute(const proto::SendMessageRequest& send,
                                 const Target& target,
                                 std::vector<MessageToStore>* messages) const;
  static std::optional<Refusal> MakeHalf(const proto::SendMessageRequest& send,
                                         int delay_level,
                                         std::vector<MessageToStore>* messages);
  std::optional<Refusal> Delay(int level,
                               std::vector<MessageToStore>* messages) const;
  static std::optional<Refusal> CheckBatchNotDelayed(
      const std::vector<MessageToStore>& messages);
  std::optional<Refusal> DivertToDeadLetters(
      const proto::SendMessageRequest& send, MessageToStore* message) const;
  static void EraseDelayProperties(MessageToStore* message);
  // Appends; the store's callback answers the producer.
  void Store(const remoting::Command& request,
             const remoting::Responder& responder, int32_t queue_id,
             std::vector<MessageToStore> messages);

  const BrokerConfig& config_;
  store::MessageStore* const store_;
  TopicConfigManager* const topics_;
  SubscriptionGroupManager* const groups_;
  ThreadPool* const pool_;
  const bool inline_sends_;  // ASYNC_FLUSH: sends to known topics inline
  std::atomic<uint32_t> next_queue_{0};
  std::atomic<int64_t> messages_put_{0};
};

}  // namespace cometmq::broker

#endif  // COMETMQ_BROKER_SEND_PROCESSOR_H_
