#ifndef COMETMQ_BROKER_PULL_PROCESSOR_H_
#define COMETMQ_BROKER_PULL_PROCESSOR_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "cpp/broker/broker_config.h"
#include "cpp/broker/consumer_offset_manager.h"
#include "cpp/broker/long_polling.h"
#include "cpp/broker/sql_filter.h"
#include "cpp/broker/subscription_group_manager.h"
#include "cpp/broker/thread_pool.h"
#include "cpp/broker/topic_config_manager.h"
#include "cpp/remoting/remoting_server.h"
#include "cpp/store/message_store.h"

namespace cometmq::broker {

// Tag hashes of a subscription expression: empty (= everything) for "*" or
// "", else the TagsHashCode of each `||`-separated tag.
absl::flat_hash_set<int64_t> TagCodesOf(absl::string_view expression);

// PULL_MESSAGE. Handle() runs on an I/O thread and queues the pull on the
// pull pool, because reads may fault in cold pages. Under ASYNC_FLUSH a pull
// at the queue's end (nothing to read yet) is handled on the I/O thread, and a
// held pull woken by an arrival is re-run on the notifying thread (it reads
// what just arrived, which is in memory); otherwise a held pull is re-run on
// the pool when a message arrives or its suspension ends; at shutdown held
// pulls are answered PULL_NOT_FOUND (so consumers pull again at once and that
// pull carries their latest commit, see HandleWhileStopping). A held pull
// woken by arrivals none of which its tags match is held again until its
// deadline, as RocketMQ does. Every answer carries a pull_message_response.
//
// A SQL92 pull (expression_type EXPRESSION_SQL92, enablePropertyFilter on)
// returns only records whose properties its selector matches, compiled
// once per group and topic; tag hashes play no part; next_begin_offset
// moves past the records it skipped. Pulls of a %RETRY% topic are never
// SQL-filtered (RocketMQ's filterSupportRetry=false). With
// enablePropertyFilter off a SQL92 pull is answered SYSTEM_ERROR, and a
// selector that does not compile SUBSCRIPTION_PARSE_FAILED.
class PullProcessor {
 public:
  PullProcessor(const BrokerConfig& config, store::MessageStore* store,
                TopicConfigManager* topics, SubscriptionGroupManager* groups,
                ConsumerOffsetManager* offsets, LongPollingService* holds,
                ThreadPool* pool);

  void Handle(remoting::Command&& request, remoting::Responder responder);
  // While the broker stops: applies the pull's piggy-backed commit offset
  // (the consumer's latest progress must reach the offsets persisted at the
  // end of the stop) and answers SERVICE_NOT_AVAILABLE without reading.
  void HandleWhileStopping(remoting::Command&& request,
                           remoting::Responder responder);
  int64_t messages_got() const { return messages_got_.load(); }

  // Called for every held pull answered because the broker stops whose
  // connection is still open, just before its answer is sent: with the
  // pull and the consumer's address.
  using StopAnswerListener = std::function<void(
      const proto::PullMessageRequest& pull, const std::string& remote)>;
  // Set before requests are served.
  void SetStopAnswerListener(StopAnswerListener listener) {
    stop_answer_listener_ = std::move(listener);
  }

 private:
  // The answer refusing the pull (bad request, no permission, unknown
  // topic or group, queue out of range), or nullopt when it may be served.
  std::optional<remoting::Command> Refusal(const remoting::Command& request);
  // Serves a pull that passed Refusal(). `allow_suspend`: a first run,
  // which may hold the pull. A held pull re-run before `deadline` (its
  // hold's) is held again when nothing it scanned matched its tags.
  void Serve(std::shared_ptr<const remoting::Command> request,
             const remoting::Responder& responder, bool allow_suspend,
             absl::Time deadline = absl::InfinitePast());
  // A held pull's re-run: checked again (its topic or group may have gone
  // while it was held), then served without holding it anew unless its
  // tags matched nothing before `deadline`.
  void Process(std::shared_ptr<const remoting::Command> request,
               const remoting::Responder& responder,
               absl::Time deadline = absl::InfinitePast());
  void Resume(std::shared_ptr<const remoting::Command> request,
              const remoting::Responder& responder, WakeReason reason,
              absl::Time deadline);
  // Holds the pull at `offset` until `deadline`.
  void Hold(std::shared_ptr<const remoting::Command> request,
            const remoting::Responder& responder, int64_t offset,
            absl::Time deadline);
  remoting::Command NotFound(const remoting::Command& request) const;
  // Applies the piggy-backed commit offset of a pull that passed Refusal().
  void ApplyCommit(const proto::PullMessageRequest& pull);
  // Which broker of the group the consumer should pull from next: a slave
  // when this master's answer came from data too old to be in memory (with
  // slaveReadEnable), else the master.
  int64_t SuggestBroker(const store::GetResult& got) const;
  // The pull's compiled SQL92 selector, or null for a tag pull (and for a
  // retry topic's). Sets `refusal` when the pull cannot be served.
  std::shared_ptr<const filter::SqlExpression> SqlFilterOf(
      const remoting::Command& request,
      std::optional<remoting::Command>* refusal);

  const BrokerConfig& config_;
  store::MessageStore* const store_;
  TopicConfigManager* const topics_;
  SubscriptionGroupManager* const groups_;
  ConsumerOffsetManager* const offsets_;
  LongPollingService* const holds_;
  ThreadPool* const pool_;
  std::atomic<int64_t> messages_got_{0};
  int64_t in_memory_bytes_ = 0;  // accessMessageInMemoryMaxRatio of RAM
  StopAnswerListener stop_answer_listener_;
  SqlFilterCache sql_filters_;
};

}  // namespace cometmq::broker

#endif  // COMETMQ_BROKER_PULL_PROCESSOR_H_
