#include "cpp/client/consume_orderly_service.h"

#include <exception>
#include <limits>
#include <utility>

#include "absl/time/clock.h"
#include "cpp/common/message_record.h"
#include "cpp/common/monotonic_clock.h"
#include "spdlog/spdlog.h"

namespace cometmq::client {
namespace {

// How soon a queue whose broker lock is not fresh looks again; the lock is
// renewed by the consumer's rebalance and renewal rounds.
constexpr absl::Duration kNotLockedDelay = absl::Milliseconds(200);

// A message sent back earlier is presented as it was first consumed: with
// its topic. A copy: the queue keeps the message as it was taken.
MessageExt Presented(const MessageExt& message) {
  MessageExt presented = message;
  if (auto it = presented.properties.find(std::string(kPropertyRetryTopic));
      it != presented.properties.end() && !it->second.empty()) {
    presented.topic = it->second;
  }
  return presented;
}

}  // namespace

ConsumeOrderlyService::ConsumeOrderlyService(
    std::string group, ConsumerOptions options, bool check_locks,
    MessageListener listener, BatchMessageListener batch_listener,
    ThreadPool* pool, Scheduler* scheduler, DlqSender to_dlq,
    DroppedIdle dropped_idle)
    : group_(std::move(group)),
      options_(std::move(options)),
      check_locks_(check_locks),
      listener_(std::move(listener)),
      batch_listener_(std::move(batch_listener)),
      pool_(pool),
      scheduler_(scheduler),
      to_dlq_(std::move(to_dlq)),
      dropped_idle_(std::move(dropped_idle)) {}

void ConsumeOrderlyService::Submit(const std::shared_ptr<ProcessQueue>& pq,
                                   std::vector<MessageExt> messages) {
  if (pq->PutOrderly(std::move(messages))) RunNow(pq);
}

void ConsumeOrderlyService::Shutdown() {
  absl::MutexLock lock(&mu_);
  stopped_ = true;
}

bool ConsumeOrderlyService::stopped() const {
  absl::MutexLock lock(&mu_);
  return stopped_;
}

void ConsumeOrderlyService::RunNow(const std::shared_ptr<ProcessQueue>& pq) {
  // Under mu_, so the pool is not used once Shutdown() returned (the
  // consumer then shuts the pool down).
  absl::MutexLock lock(&mu_);
  if (stopped_) return;
  std::weak_ptr<ConsumeOrderlyService> weak = weak_from_this();
  pool_->Submit([weak, pq] {
    if (auto self = weak.lock()) self->Run(pq);
  });
}

void ConsumeOrderlyService::RunSoon(const std::shared_ptr<ProcessQueue>& pq,
                                    absl::Duration delay) {
  std::weak_ptr<ConsumeOrderlyService> weak = weak_from_this();
  scheduler_->Schedule(delay, [weak, pq] {
    if (auto self = weak.lock()) self->RunNow(pq);
  });
}

void ConsumeOrderlyService::Run(const std::shared_ptr<ProcessQueue>& pq) {
  // The queue's task stays "running" (no other is started) across the
  // pauses below: RunSoon resumes it.
  const absl::Time began = MonotonicNow();
  while (true) {
    if (pq->dropped() || stopped()) return;
    if (check_locks_ && !pq->LockFresh(MonotonicNow(), options_.lock_ttl)) {
      return RunSoon(pq, kNotLockedDelay);
    }
    if (MonotonicNow() - began > options_.max_consume_continuously) {
      return RunNow(pq);  // let other queues have this thread
    }
    if (batch_listener_) {
      std::vector<MessageExt> batch =
          pq->TakeOrderly(static_cast<size_t>(options_.consume_batch_max_size));
      if (batch.empty()) return;  // the next Submit starts a new task
      if (!ConsumeBatch(pq, std::move(batch))) return;
      continue;
    }
    std::optional<MessageExt> message = pq->TakeOrderly();
    if (!message.has_value()) return;  // the next Submit starts a new task
    if (!ConsumeOne(pq, *std::move(message))) return;
  }
}

bool ConsumeOrderlyService::ConsumeOne(const std::shared_ptr<ProcessQueue>& pq,
                                       MessageExt message) {
  pq->LockConsume();
  // After the consume lock: a rebalance that dropped the queue and took the
  // lock has committed and released it; this message is the next owner's.
  if (pq->dropped()) {
    UnlockConsume(pq);
    return false;
  }
  const MessageExt presented = Presented(message);
  ConsumeResult result = ConsumeResult::kReconsumeLater;
  try {
    result = listener_(presented);
  } catch (const std::exception& e) {
    spdlog::warn("consumer {}: listener threw on {}: {}", group_,
                 message.msg_id, e.what());
  }
  bool go_on = true;
  if (result == ConsumeResult::kSuccess) {
    pq->Remove(message.queue_offset);
  } else {
    go_on = RetryOrDeadLetter(pq, std::move(message));
  }
  UnlockConsume(pq);
  if (!go_on) RunSoon(pq, options_.suspend_time);
  return go_on;
}

bool ConsumeOrderlyService::ConsumeBatch(
    const std::shared_ptr<ProcessQueue>& pq, std::vector<MessageExt> batch) {
  pq->LockConsume();
  // As in ConsumeOne: a queue dropped meanwhile is the next owner's.
  if (pq->dropped()) {
    UnlockConsume(pq);
    return false;
  }
  std::vector<MessageExt> presented;
  presented.reserve(batch.size());
  for (const MessageExt& message : batch) {
    presented.push_back(Presented(message));
  }
  ConsumeResult result = ConsumeResult::kReconsumeLater;
  try {
    result = batch_listener_(presented);
  } catch (const std::exception& e) {
    spdlog::warn(
        "consumer {}: listener threw on {} messages of {} from offset {}: {}",
        group_, batch.size(), pq->queue().ToString(),
        batch.front().queue_offset, e.what());
  }
  bool go_on = true;
  for (MessageExt& message : batch) {
    if (result == ConsumeResult::kSuccess) {
      pq->Remove(message.queue_offset);
    } else if (!RetryOrDeadLetter(pq, std::move(message))) {
      // The batch is taken again as it was (RocketMQ's
      // makeMessageToConsumeAgain), less what went to the DLQ.
      go_on = false;
    }
  }
  UnlockConsume(pq);
  if (!go_on) RunSoon(pq, options_.suspend_time);
  return go_on;
}

bool ConsumeOrderlyService::RetryOrDeadLetter(
    const std::shared_ptr<ProcessQueue>& pq, MessageExt message) {
  if (const int max_times = EffectiveMaxReconsumeTimes(
          options_.max_reconsume_times, /*orderly=*/true);
      max_times == std::numeric_limits<int>::max() ||
      message.reconsume_times < max_times) {
    // INT32_MAX is no limit, as in RocketMQ: the count stops there.
    if (message.reconsume_times < std::numeric_limits<int32_t>::max()) {
      ++message.reconsume_times;
    }
    pq->PutBackOrderly(std::move(message));
    return false;
  }
  if (to_dlq_(message)) {
    spdlog::warn(
        "consumer {}: message {} of {} at offset {} failed {} times; moved "
        "to the DLQ",
        group_, message.msg_id, pq->queue().ToString(), message.queue_offset,
        message.reconsume_times + 1);
    pq->Remove(message.queue_offset);
    return true;
  }
  pq->PutBackOrderly(std::move(message));  // the DLQ send is retried
  return false;
}

void ConsumeOrderlyService::UnlockConsume(
    const std::shared_ptr<ProcessQueue>& pq) {
  pq->UnlockConsume();
  // Drop() comes before a rebalance's try of the consume lock: if that try
  // failed, this thread held the lock then and sees the queue dropped now.
  if (pq->dropped() && dropped_idle_) dropped_idle_();
}

}  // namespace cometmq::client
