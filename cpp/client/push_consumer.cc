#include "cpp/client/push_consumer.h"

#include <algorithm>
#include <iterator>
#include <limits>
#include <utility>

#include "absl/base/attributes.h"
#include "absl/strings/str_cat.h"
#include "cpp/client/client_error.h"
#include "cpp/client/send_request.h"
#include "cpp/client/subscription.h"
#include "cpp/common/message_record.h"
#include "cpp/common/monotonic_clock.h"
#include "spdlog/spdlog.h"

namespace cometmq::client {
namespace {

// A retried message is presented as it was first consumed: its topic.
ABSL_ATTRIBUTE_ALWAYS_INLINE inline void RestoreRetriedTopic(
    MessageExt& message) {
  if (auto it = message.properties.find(std::string(kPropertyRetryTopic));
      it != message.properties.end() && !it->second.empty()) {
    message.topic = it->second;
  }
}

}  // namespace

DefaultPushConsumer::DefaultPushConsumer(std::string group,
                                         ConsumerOptions options)
    : group_(std::move(group)), options_(std::move(options)) {
  // The core outlives this object only inside callbacks that find it
  // stopped; `this` in the sink is used only while the core is running.
  core_ = std::make_shared<ConsumerCore>(
      group_, options_, "CONSUME_PASSIVELY",
      [this](const std::shared_ptr<ProcessQueue>& pq,
             std::vector<MessageExt> messages) {
        Deliver(pq, std::move(messages));
      });
}

DefaultPushConsumer::~DefaultPushConsumer() { Shutdown(); }

absl::Status DefaultPushConsumer::Subscribe(const std::string& topic,
                                            const std::string& expression) {
  return core_->Subscribe(topic, expression);
}

absl::Status DefaultPushConsumer::Subscribe(const std::string& topic,
                                            const MessageSelector& selector) {
  return core_->Subscribe(topic, selector);
}

absl::Status DefaultPushConsumer::Unsubscribe(const std::string& topic) {
  if (topic == RetryTopic(group_)) {
    return absl::InvalidArgumentError(
        absl::StrCat(topic,
                     " is the group's retry topic, which the consumer "
                     "subscribes itself"));
  }
  return core_->Unsubscribe(topic);
}

void DefaultPushConsumer::RegisterListener(MessageListener listener) {
  listener_ = std::move(listener);
  batch_listener_ = nullptr;
}

void DefaultPushConsumer::RegisterBatchListener(BatchMessageListener listener) {
  batch_listener_ = std::move(listener);
  listener_ = nullptr;
}

absl::Status DefaultPushConsumer::Start() {
  if (absl::Status s = ValidateConsumerGroup(group_); !s.ok()) return s;
  if (!listener_ && !batch_listener_) {
    return absl::FailedPreconditionError(
        "RegisterListener or RegisterBatchListener before Start()");
  }
  if (absl::Status s =
          ValidateConsumeBatchMaxSize(options_.consume_batch_max_size);
      !s.ok()) {
    return s;
  }
  if (listener_ && options_.consume_batch_max_size > 1) {
    // Delivering one message per call would silently ignore the setting.
    return absl::InvalidArgumentError(absl::StrCat(
        "consume_batch_max_size is ", options_.consume_batch_max_size,
        ", which needs a batch listener (RegisterBatchListener); "
        "RegisterListener's listener takes one message per call"));
  }
  if (options_.consume_threads < 1) {
    return absl::InvalidArgumentError("consume_threads must be at least 1");
  }
  if (absl::Status s = ValidateMaxReconsumeTimes(options_.max_reconsume_times);
      !s.ok()) {
    return s;
  }
  if (options_.consume_concurrently_max_span < 1) {
    return absl::InvalidArgumentError(
        "consume_concurrently_max_span must be at least 1");
  }
  if (options_.consume_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("consume_timeout must be positive");
  }
  if (!options_.auto_commit) {
    // With no Commit() to call, nothing would ever be committed.
    return absl::InvalidArgumentError(
        "auto_commit=false is for lite pull consumers, which commit by "
        "Commit(); a push consumer commits what its listener consumed");
  }
  ClientInstance* instance = nullptr;
  {
    absl::MutexLock lock(&mu_);
    if (running_ || pool_) {
      return absl::FailedPreconditionError("consumer can be started once");
    }
    if (absl::Status s = Prepare(); !s.ok()) return s;
    instance = instance_.get();
    starting_ = true;
  }
  // Without mu_: the first rebalance calls brokers, a request timeout each
  // for a slow one, while the queues it takes already deliver messages and
  // the listener's send-backs take mu_.
  absl::Status status = core_->Start(instance);
  absl::MutexLock lock(&mu_);
  starting_ = false;
  if (!status.ok()) {
    core_->Shutdown();
    if (orderly_) orderly_->Shutdown();
    pool_->Shutdown();
    // Never given a check, so none runs; Shutdown() of a consumer that
    // never ran does nothing, so its thread would last until destruction.
    if (timeout_checker_) timeout_checker_->Shutdown();
    instance_.reset();
    return status;
  }
  running_ = true;
  if (timeout_checker_ != nullptr) {
    // Shut down before this object goes (Shutdown()), so `this` is safe.
    timeout_checker_->SchedulePeriodic(
        std::min(options_.consume_timeout, kMaxTimeoutCheckInterval), [this] {
          CheckConsumeTimeouts();
          return true;
        });
  }
  return absl::OkStatus();
}

absl::Status DefaultPushConsumer::Prepare() {
  if (options_.model == MessageModel::kClustering) {
    // Messages sent back come again through the group's retry topic.
    if (absl::Status s = core_->Subscribe(RetryTopic(group_), "*"); !s.ok()) {
      return s;
    }
  }
  absl::StatusOr<std::shared_ptr<ClientInstance>> instance =
      ClientInstance::Get(options_.client);
  if (!instance.ok()) return instance.status();
  pool_ = std::make_unique<ThreadPool>("consume", options_.consume_threads);
  instance_ = *std::move(instance);
  if (options_.orderly) {
    orderly_ = std::make_shared<ConsumeOrderlyService>(
        group_, options_, core_->locking(), listener_, batch_listener_,
        pool_.get(), instance_->deferred(),
        [this](const MessageExt& message) {
          return SendBack(message, /*to_dlq=*/true);
        },
        [core = std::weak_ptr<ConsumerCore>(core_)] {
          if (auto c = core.lock()) c->OnGivenUpQueueIdle();
        });
  } else {
    timeout_checker_ = std::make_unique<Scheduler>("consume-timeout");
  }
  return absl::OkStatus();
}

void DefaultPushConsumer::Shutdown() {
  std::shared_ptr<ClientInstance> instance;
  bool finish = false;
  {
    absl::MutexLock lock(&mu_);
    // As RocketMQ's synchronized start() and shutdown(): a Shutdown() while
    // Start() is under way stops what that Start() started.
    mu_.Await(absl::Condition(
        +[](bool* starting) { return !*starting; }, &starting_));
    if (!running_) return;
    // No listener call starts after this, even for messages already handed
    // to a consume thread: they stay uncommitted and go to the group's next
    // consumer.
    stopping_.store(true, std::memory_order_release);
    if (orderly_) orderly_->Shutdown();
    finish = !pool_->InWorkerThread();
    if (!finish) {
      // Waiting for running listener calls and joining the consume threads
      // would wait for this very call; the client instance released here
      // would also be gone under the listener's own send-back.
      spdlog::warn(
          "consumer {}: Shutdown() called from the listener stops delivery "
          "only; call it again from another thread (or destroy the "
          "consumer) to commit and leave the group",
          group_);
    } else {
      running_ = false;
      instance = std::move(instance_);
    }
  }
  // Set before running_ and never changed. Outside mu_: a check in
  // progress takes it for its send-backs.
  if (timeout_checker_) timeout_checker_->Shutdown();
  if (!finish) return;
  // Drops every queue first, so queued consume tasks find them dropped and
  // return at once; the pool then drains quickly.
  core_->Shutdown();
  if (orderly_) orderly_->Shutdown();
  pool_->Shutdown();
}

std::vector<MessageQueue> DefaultPushConsumer::OwnedQueues() const {
  return core_->OwnedQueues();
}

void DefaultPushConsumer::Deliver(const std::shared_ptr<ProcessQueue>& pq,
                                  std::vector<MessageExt> messages) {
  if (orderly_) return orderly_->Submit(pq, std::move(messages));
  if (batch_listener_) return DeliverBatches(pq, std::move(messages));
  // One task per consume thread rather than per message: the messages of a
  // pull are still consumed one listener call at a time, by up to
  // consume_threads threads at once, but each task wakes a thread once for
  // its share instead of once per message.
  const size_t n = messages.size();
  const size_t tasks =
      std::min(n, static_cast<size_t>(std::max(1, options_.consume_threads)));
  for (size_t t = 0, begin = 0; t < tasks; ++t) {
    const size_t end = begin + (n - begin) / (tasks - t);
    auto share = std::make_shared<std::vector<MessageExt>>(
        std::make_move_iterator(messages.begin() + begin),
        std::make_move_iterator(messages.begin() + end));
    pool_->Submit([this, pq, share] {
      for (MessageExt& message : *share) {
        Consume(pq, std::shared_ptr<MessageExt>(share, &message));
      }
    });
    begin = end;
  }
}

void DefaultPushConsumer::DeliverBatches(
    const std::shared_ptr<ProcessQueue>& pq, std::vector<MessageExt> messages) {
  // As RocketMQ's submitConsumeRequest: consecutive chunks of the pull, so
  // a batch never mixes queues and keeps the queue's order.
  const size_t max = static_cast<size_t>(options_.consume_batch_max_size);
  for (size_t begin = 0; begin < messages.size(); begin += max) {
    const size_t end = std::min(messages.size(), begin + max);
    auto batch = std::make_shared<std::vector<MessageExt>>(
        std::make_move_iterator(messages.begin() + begin),
        std::make_move_iterator(messages.begin() + end));
    pool_->Submit([this, pq, batch] { ConsumeBatch(pq, batch); });
  }
}

// Inlined, as the code it came from in Consume was: called (the library
// is built -fPIC, so a member is not inlined on its own) it cost the
// single-message path ~50 instructions a message, ~4% of Consume's.
ABSL_ATTRIBUTE_ALWAYS_INLINE inline bool DefaultPushConsumer::Settle(
    const std::shared_ptr<ProcessQueue>& pq, const MessageExt& message,
    ConsumeResult result) {
  // False once the call outlived consume_timeout: CheckConsumeTimeouts has
  // sent the message back (or is sending it), and only a success is still
  // worth recording (removing it again is harmless; the offset is the
  // lowest message held either way).
  const bool own_result = pq->ConsumeEnded(message.queue_offset);
  if (result == ConsumeResult::kSuccess) {
    pq->Remove(message.queue_offset);
  } else if (!own_result) {
    spdlog::info(
        "consumer {}: message {} of {} at offset {} failed after its "
        "consume timeout; that timeout {} it already",
        group_, message.msg_id, pq->queue().ToString(), message.queue_offset,
        options_.model == MessageModel::kClustering ? "sent back" : "gave up");
  } else if (options_.model != MessageModel::kClustering) {
    spdlog::warn(
        "consumer {}: broadcast message {} of {} at offset {} failed and is "
        "not retried",
        group_, message.msg_id, pq->queue().ToString(), message.queue_offset);
    pq->Remove(message.queue_offset);
  } else if (SendBack(message, /*to_dlq=*/false)) {
    pq->Remove(message.queue_offset);  // the broker retries it now
  } else {
    return true;
  }
  return false;
}

void DefaultPushConsumer::Consume(const std::shared_ptr<ProcessQueue>& pq,
                                  std::shared_ptr<MessageExt> shared) {
  MessageExt& message = *shared;
  pq->BeginConsume();
  // Checked after BeginConsume: a drop either sees this call running and
  // waits for it, or this call sees the drop.
  if (pq->dropped() || stopping_.load(std::memory_order_acquire)) {
    EndConsume(pq);
    return;
  }
  RestoreRetriedTopic(message);
  // Timed on the monotonic clock: a wall clock step must not send every
  // running call back at once.
  pq->ConsumeStarted(message.queue_offset, std::move(shared), MonotonicNow());
  ConsumeResult result = ConsumeResult::kReconsumeLater;
  try {
    result = listener_(message);
  } catch (const std::exception& e) {
    spdlog::warn("consumer {}: listener threw on {}: {}", group_,
                 message.msg_id, e.what());
  }
  if (Settle(pq, message, result)) {
    // Neither consumed nor taken back by the broker (busy, disk full,
    // restarting, or this consumer shutting down): it stays uncommitted and
    // comes again, as often as it takes, so it is never committed past;
    // the wait doubles up to a minute so a lasting failure is not retried
    // (and logged) every second.
    const absl::Duration delay = ReconsumeDelay(message);
    core_->Redeliver(pq, std::move(message), delay);
  }
  EndConsume(pq);
}

void DefaultPushConsumer::ConsumeBatch(
    const std::shared_ptr<ProcessQueue>& pq,
    std::shared_ptr<std::vector<MessageExt>> batch) {
  pq->BeginConsume();
  // As in Consume: after BeginConsume, so a drop waits for this call or
  // this call sees the drop.
  if (pq->dropped() || stopping_.load(std::memory_order_acquire)) {
    EndConsume(pq);
    return;
  }
  const absl::Time now = MonotonicNow();
  for (MessageExt& message : *batch) {
    RestoreRetriedTopic(message);
    // Each message is timed on its own: one whose consume timeout passes
    // is sent back alone and the rest of the batch keeps its result.
    pq->ConsumeStarted(message.queue_offset,
                       std::shared_ptr<const MessageExt>(batch, &message), now);
  }
  ConsumeResult result = ConsumeResult::kReconsumeLater;
  try {
    result = batch_listener_(*batch);
  } catch (const std::exception& e) {
    spdlog::warn(
        "consumer {}: listener threw on {} messages of {} from offset {}: {}",
        group_, batch->size(), pq->queue().ToString(),
        batch->front().queue_offset, e.what());
  }
  // Those no broker took back come again together, after the longest wait
  // any of them has earned (RocketMQ's submitConsumeRequestLater).
  std::vector<MessageExt> again;
  absl::Duration delay = absl::ZeroDuration();
  for (MessageExt& message : *batch) {
    if (!Settle(pq, message, result)) continue;
    delay = std::max(delay, ReconsumeDelay(message));
    again.push_back(std::move(message));
  }
  if (!again.empty()) core_->Redeliver(pq, std::move(again), delay);
  EndConsume(pq);
}

void DefaultPushConsumer::EndConsume(const std::shared_ptr<ProcessQueue>& pq) {
  // Drop() comes before a rebalance's look at the running calls: if it saw
  // this one, this sees the queue dropped now, and releases it at once.
  if (pq->EndConsume() && pq->dropped()) core_->OnGivenUpQueueIdle();
}

absl::Duration DefaultPushConsumer::ReconsumeDelay(MessageExt& message) const {
  const absl::Duration delay =
      std::min(options_.reconsume_backoff *
                   (int64_t{1} << std::clamp(message.reconsume_times, 0, 6)),
               std::max(options_.reconsume_backoff, absl::Minutes(1)));
  if (message.reconsume_times < std::numeric_limits<int32_t>::max()) {
    ++message.reconsume_times;
  }
  return delay;
}

void DefaultPushConsumer::CheckConsumeTimeouts() {
  if (stopping_.load(std::memory_order_acquire)) return;
  const absl::Time now = MonotonicNow();
  for (const std::shared_ptr<ProcessQueue>& pq : core_->OwnedProcessQueues()) {
    if (pq->dropped()) continue;  // its final commit is made already
    std::vector<MessageExt> expired =
        pq->TakeExpired(now, options_.consume_timeout, kMaxExpiredPerCheck);
    for (size_t i = 0; i < expired.size(); ++i) {
      const MessageExt& message = expired[i];
      if (options_.model != MessageModel::kClustering) {
        // As a failed broadcast message: not retried.
        spdlog::warn(
            "consumer {}: broadcast message {} of {} at offset {} passed its "
            "consume timeout {}; given up, not retried",
            group_, message.msg_id, pq->queue().ToString(),
            message.queue_offset,
            absl::FormatDuration(options_.consume_timeout));
        pq->Remove(message.queue_offset);
      } else if (SendBack(message, /*to_dlq=*/false,
                          kConsumeTimeoutDelayLevel)) {
        spdlog::warn(
            "consumer {}: message {} of {} at offset {} passed its consume "
            "timeout {}; sent back for a retry",
            group_, message.msg_id, pq->queue().ToString(),
            message.queue_offset,
            absl::FormatDuration(options_.consume_timeout));
        pq->Remove(message.queue_offset);
      } else {
        // Tried again at the next check; the rest of this queue then too
        // (its broker did not take this one back either). One whose call
        // failed meanwhile left it to this send-back: as any failed message
        // no broker took back, it is handed to the listener again.
        for (size_t j = i; j < expired.size(); ++j) {
          if (pq->ReturnExpired(expired[j].queue_offset)) {
            MessageExt retry = expired[j];
            const absl::Duration delay = ReconsumeDelay(retry);
            core_->Redeliver(pq, std::move(retry), delay);
          }
        }
        break;
      }
    }
  }
}

}  // namespace cometmq::client

namespace cometmq::client {

bool DefaultPushConsumer::SendBack(const MessageExt& message, bool to_dlq,
                                   int delay_level) {
  std::shared_ptr<ClientInstance> instance;
  bool origin_silent = false;
  {
    absl::MutexLock lock(&mu_);
    instance = instance_;
    auto it = silent_brokers_.find(message.broker_name);
    origin_silent = it != silent_brokers_.end() && absl::Now() < it->second;
  }
  if (instance == nullptr) return false;
  if (origin_silent) {
    // Skipped only while another broker can take a copy: with none, the
    // origin is the only way on, and a failed message waiting locally
    // would only count reconsumes up.
    std::shared_ptr<const TopicRoute> route =
        instance->routes()->Cached(RetryTopic(group_));
    origin_silent =
        route != nullptr &&
        !RetryCopyTargets(*route, message.broker_name, false).empty();
  }
  absl::Status status = absl::UnavailableError(
      "it did not answer a send-back moments ago; not asked again yet");
  bool answered = false;
  if (!origin_silent) {
    absl::StatusOr<remoting::Command> response =
        RequestSendBack(*instance, message, to_dlq, delay_level);
    answered = response.ok();
    status = answered ? ResponseStatus(*response) : response.status();
    if (status.ok()) return true;
    if (absl::IsDeadlineExceeded(status) || absl::IsUnavailable(status)) {
      // Each send-back to it would hold a consume thread for a request
      // timeout; its failed messages go straight to other brokers for now.
      absl::MutexLock lock(&mu_);
      silent_brokers_[message.broker_name] = absl::Now() + kSilentBrokerSkip;
    }
  }
  // A broker that did not answer is not asked again; one that refused (its
  // record gone, say) may still take a copy.
  absl::Status resent = SendRetryCopy(*instance, message, to_dlq,
                                      /*origin_may_take_it=*/answered);
  if (resent.ok()) {
    spdlog::info(
        "consumer {}: cannot send message {} back to {} ({}); sent a copy to "
        "{} instead",
        group_, message.msg_id, message.broker_name, status.ToString(),
        RetryTopic(group_));
    return true;
  }
  spdlog::warn(
      "consumer {}: cannot send message {} back to {}: {}; nor a copy to {}: "
      "{}; it stays uncommitted",
      group_, message.msg_id, message.broker_name, status.ToString(),
      RetryTopic(group_), resent.ToString());
  return false;
}

absl::StatusOr<remoting::Command> DefaultPushConsumer::RequestSendBack(
    ClientInstance& instance, const MessageExt& message, bool to_dlq,
    int delay_level) {
  remoting::Command request =
      remoting::MakeRequest(proto::CONSUMER_SEND_MSG_BACK);
  proto::ConsumerSendMsgBackRequest* back =
      request.header.mutable_consumer_send_msg_back();
  back->set_group(group_);
  back->set_commit_log_offset(message.commit_log_offset);
  // 0: the broker picks 3 + reconsume times; -1: straight to the DLQ.
  const int max_times = EffectiveMaxReconsumeTimes(options_.max_reconsume_times,
                                                   /*orderly=*/false);
  back->set_delay_level(!to_dlq && max_times > 0 ? delay_level : -1);
  back->set_original_msg_id(OriginMessageId(message));
  back->set_original_topic(message.topic);
  back->set_max_reconsume_times(max_times);
  return instance.CallBroker(message.broker_name, std::move(request),
                             instance.config().request_timeout);
}

absl::Status DefaultPushConsumer::SendRetryCopy(ClientInstance& instance,
                                                const MessageExt& message,
                                                bool to_dlq,
                                                bool origin_may_take_it) {
  const std::string topic = RetryTopic(group_);
  std::shared_ptr<const TopicRoute> route = instance.routes()->Cached(topic);
  std::vector<MessageQueue> targets;
  if (route != nullptr) {
    targets = RetryCopyTargets(*route, message.broker_name, origin_may_take_it);
  }
  if (targets.empty()) {
    // The failed broker may be the only one the cached route names; a
    // NameServer call here could block this thread for a timeout per
    // NameServer, so the next try (a local redelivery) uses the new route.
    instance.RequestRouteRefresh(topic);
    return absl::UnavailableError(
        absl::StrCat("no other broker of ", topic, " is known yet"));
  }
  SendLimits limits;  // the broker that stored it already checked its size
  limits.max_message_size = std::numeric_limits<int64_t>::max();
  absl::StatusOr<PreparedSend> prepared = PrepareSend(
      MakeRetryCopy(group_, message, to_dlq,
                    EffectiveMaxReconsumeTimes(options_.max_reconsume_times,
                                               /*orderly=*/false)),
      kInnerProducerGroup, limits, PropertiesSetBy::kClient);
  if (!prepared.ok()) return prepared.status();
  // As a send-back's copy: born when the message was, not now.
  prepared->header.set_born_timestamp(message.born_timestamp);
  const absl::Time deadline = absl::Now() + instance.config().request_timeout;
  absl::Status status = absl::DeadlineExceededError(
      absl::StrCat("no time left to send a copy to ", topic));
  for (const MessageQueue& queue : targets) {
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) break;
    absl::StatusOr<remoting::Command> response = instance.CallBroker(
        queue.broker_name, MakeSendCommand(*prepared, queue.queue_id, 1), left);
    if (response.ok() && IsStored(response->header.status())) {
      return absl::OkStatus();
    }
    status = response.ok() ? ResponseStatus(*response) : response.status();
  }
  return status;
}

}  // namespace cometmq::client
