#include "cpp/client/consumer_core.h"

#include <algorithm>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "cpp/client/allocate.h"
#include "cpp/client/client_error.h"
#include "cpp/client/queue_locks.h"
#include "cpp/common/monotonic_clock.h"
#include "spdlog/spdlog.h"

namespace cometmq::client {
namespace {

constexpr int kMaxQuickRebalances = 30;
constexpr absl::Duration kQuickRebalanceDelay = absl::Seconds(1);
// How soon a rebalance tries again for an orderly queue locked elsewhere
// (its owner is releasing it) or still finishing its message here.
constexpr absl::Duration kLockRetryDelay = absl::Seconds(1);
// How often a reset orderly queue looks whether the message that was being
// consumed when it was reset finished.
constexpr absl::Duration kResetIdleRetryDelay = absl::Milliseconds(50);

proto::ExpressionType ToProto(ExpressionType type) {
  return type == ExpressionType::kSql92 ? proto::EXPRESSION_SQL92
                                        : proto::EXPRESSION_TAG;
}

}  // namespace

ConsumerCore::ConsumerCore(std::string group, ConsumerOptions options,
                           std::string consume_type, MessageSink sink)
    : group_(std::move(group)),
      options_(std::move(options)),
      consume_type_(std::move(consume_type)),
      sink_(std::move(sink)) {}

absl::Status ConsumerCore::Subscribe(const std::string& topic,
                                     const std::string& expression) {
  return Subscribe(topic, MessageSelector::ByTag(expression));
}

absl::Status ConsumerCore::Subscribe(const std::string& topic,
                                     const MessageSelector& selector) {
  absl::StatusOr<Subscription> subscription =
      ParseSubscription(topic, selector);
  if (!subscription.ok()) return subscription.status();
  absl::MutexLock lock(&mu_);
  if (assigned_.has_value()) {
    return absl::FailedPreconditionError(
        "a consumer either subscribes or is assigned queues, not both");
  }
  subscriptions_[topic] = *std::move(subscription);
  return absl::OkStatus();
}

absl::Status ConsumerCore::Unsubscribe(const std::string& topic) {
  // Serialized with rebalances and Shutdown(): none re-takes the topic's
  // queues, nor stops the core, while they are given up here.
  absl::MutexLock rebalance_lock(&rebalance_mu_);
  bool owns_some = false;
  {
    absl::MutexLock lock(&mu_);
    if (assigned_.has_value()) {
      return absl::FailedPreconditionError(
          "a consumer assigned queues has no subscriptions to remove");
    }
    if (subscriptions_.erase(topic) == 0) return absl::OkStatus();
    if (!started_ || stopped_ || instance_ == nullptr) return absl::OkStatus();
    for (const auto& [queue, pq] : queues_) {
      owns_some = owns_some || queue.topic == topic;
    }
  }
  // The subscription goes first: a pull answered meanwhile delivers
  // nothing and does not move its queue on (see OnPulled), so the offset
  // committed below is the consumed one.
  if (owns_some) {
    spdlog::info("consumer {}: unsubscribed from {}; giving up its queues",
                 group_, topic);
    if (!UpdateQueues(topic, {})) ScheduleLockRetry();
    if (absl::Status s = offsets_->Persist(); !s.ok()) {
      spdlog::warn("consumer {}: {}", group_, s.ToString());
    }
  }
  instance_->SendHeartbeats();
  return absl::OkStatus();
}

void ConsumerCore::Assign(std::vector<MessageQueue> queues) {
  absl::MutexLock lock(&mu_);
  for (const MessageQueue& queue : queues) {
    if (!subscriptions_.count(queue.topic)) {
      subscriptions_[queue.topic] = *ParseSubscription(queue.topic, "*");
    }
  }
  assigned_ = std::move(queues);
}

bool ConsumerCore::stopped() const {
  absl::MutexLock lock(&mu_);
  return stopped_;
}

std::optional<Subscription> ConsumerCore::SubscriptionFor(
    const std::string& topic) const {
  absl::MutexLock lock(&mu_);
  auto it = subscriptions_.find(topic);
  if (it == subscriptions_.end()) return std::nullopt;
  return it->second;
}

absl::Status ConsumerCore::Start(ClientInstance* instance) {
  std::vector<Subscription> non_tag;
  {
    absl::MutexLock lock(&mu_);
    if (started_)
      return absl::FailedPreconditionError("consumer already started");
    for (const auto& [topic, subscription] : subscriptions_) {
      if (subscription.type != ExpressionType::kTag) {
        non_tag.push_back(subscription);
      }
    }
  }
  if (absl::Status s = CheckClientInBrokers(instance, non_tag); !s.ok()) {
    return s;
  }
  std::vector<std::string> topics;
  {
    absl::MutexLock lock(&mu_);
    if (started_)
      return absl::FailedPreconditionError("consumer already started");
    if (subscriptions_.empty()) {
      return absl::FailedPreconditionError(
          "subscribe to a topic (or assign queues) before Start()");
    }
    started_ = true;
    instance_ = instance;
    for (const auto& [topic, subscription] : subscriptions_) {
      topics.push_back(topic);
    }
  }
  offsets_ = std::make_unique<OffsetStore>(instance_, group_, options_);
  if (absl::Status status = offsets_->Load(); !status.ok()) return status;
  if (absl::Status status = instance_->RegisterConsumer(shared_from_this());
      !status.ok()) {
    return status;
  }
  // Routes first: heartbeats go to the brokers of cached routes.
  for (const std::string& topic : topics) {
    absl::StatusOr<std::shared_ptr<const TopicRoute>> route =
        instance_->routes()->Get(topic);
    if (!route.ok()) {
      spdlog::warn("consumer {}: no route for {} yet: {}", group_, topic,
                   route.status().ToString());
    }
  }
  instance_->SendHeartbeats();
  Rebalance();
  std::weak_ptr<ConsumerCore> weak = weak_from_this();
  instance_->scheduler()->SchedulePeriodic(options_.rebalance_interval, [weak] {
    auto self = weak.lock();
    if (!self || self->stopped()) {
      return false;
    }
    self->Rebalance();
    return true;
  });
  if (locking()) {
    instance_->scheduler()->SchedulePeriodic(options_.lock_interval, [weak] {
      auto self = weak.lock();
      if (!self || self->stopped()) return false;
      self->RenewLocks();
      return true;
    });
  }
  if (options_.auto_commit) {
    instance_->scheduler()->SchedulePeriodic(
        options_.offset_commit_interval, [weak] {
          auto self = weak.lock();
          if (!self || self->stopped()) return false;
          self->CommitOffsets(/*sync=*/false);
          return true;
        });
  }
  return absl::OkStatus();
}

absl::Status ConsumerCore::CheckClientInBrokers(
    ClientInstance* instance, const std::vector<Subscription>& subscriptions) {
  for (const Subscription& subscription : subscriptions) {
    absl::StatusOr<std::shared_ptr<const TopicRoute>> route =
        instance->routes()->Get(subscription.topic);
    if (!route.ok()) {
      // No broker to ask yet (as RocketMQ, which asks the brokers it
      // knows): its pulls will be refused if it cannot serve them.
      spdlog::warn("consumer {}: cannot check the {} subscription of {}: {}",
                   group_, subscription.expression, subscription.topic,
                   route.status().ToString());
      continue;
    }
    for (const proto::BrokerData& broker : (*route)->data.broker_datas()) {
      remoting::Command request =
          remoting::MakeRequest(proto::CHECK_CLIENT_CONFIG);
      proto::CheckClientConfigRequest* check =
          request.header.mutable_check_client_config();
      check->set_group(group_);
      proto::SubscriptionData* sub = check->mutable_subscription();
      sub->set_topic(subscription.topic);
      sub->set_expression(subscription.expression);
      sub->set_expression_type(ToProto(subscription.type));
      absl::StatusOr<remoting::Command> response =
          instance->CallBroker(broker.broker_name(), std::move(request),
                               instance->config().request_timeout);
      if (!response.ok()) {
        // An unreachable broker does not keep the consumer from starting;
        // its pulls are checked when it is back.
        spdlog::warn(
            "consumer {}: cannot check the subscription of {} in "
            "broker {}: {}",
            group_, subscription.topic, broker.broker_name(),
            response.status().ToString());
        continue;
      }
      if (absl::Status s = ResponseStatus(*response); !s.ok()) {
        return Annotate(s, absl::StrCat("broker ", broker.broker_name(),
                                        " refused the subscription of topic ",
                                        subscription.topic));
      }
    }
  }
  return absl::OkStatus();
}

void ConsumerCore::Shutdown() {
  absl::MutexLock rebalance_lock(&rebalance_mu_);
  std::map<MessageQueue, std::shared_ptr<ProcessQueue>> queues;
  {
    absl::MutexLock lock(&mu_);
    if (!started_ || stopped_) return;
    stopped_ = true;
    queues.swap(queues_);
  }
  for (const auto& [queue, releasing] : releasing_) {
    queues.emplace(queue, releasing.pq);
  }
  releasing_.clear();
  for (const auto& [queue, pq] : queues) pq->Drop();
  // One wait for all queues: their listener calls run side by side.
  const absl::Time deadline = MonotonicNow() + options_.drop_wait;
  std::vector<MessageQueue> unlock;
  for (const auto& [queue, pq] : queues) {
    const absl::Duration wait =
        std::max(deadline - MonotonicNow(), absl::ZeroDuration());
    if (!options_.orderly) {
      pq->WaitConsumeIdle(wait);
      if (options_.auto_commit) CommitOne(pq, /*sync=*/true);
      continue;
    }
    const bool idle = pq->TryLockConsume(wait);
    // A queue whose lock was lost is another client's now: its offset is
    // not ours to commit. One whose message is still being consumed, or
    // whose offset did not reach the broker, keeps its lock until it
    // expires: the next owner must not start before the offset is final.
    if (locking() && !pq->locked()) {
      if (idle) pq->UnlockConsume();
      continue;
    }
    if (CommitOne(pq, /*sync=*/true) && idle) unlock.push_back(queue);
    if (idle) pq->UnlockConsume();
  }
  if (locking() && !unlock.empty()) UnlockQueues(instance_, group_, unlock);
  if (absl::Status s = offsets_->Persist(); !s.ok()) {
    spdlog::warn("consumer {}: {}", group_, s.ToString());
  }
  offsets_->Close();
  instance_->UnregisterConsumer(*this);
}

proto::ConsumerData ConsumerCore::HeartbeatData() const {
  proto::ConsumerData data;
  data.set_group(group_);
  data.set_consume_type(consume_type_);
  data.set_message_model(MessageModelName(options_.model));
  data.set_consume_from_where(ConsumeFromName(options_.consume_from));
  absl::MutexLock lock(&mu_);
  for (const auto& [topic, subscription] : subscriptions_) {
    proto::SubscriptionData* sub = data.add_subscriptions();
    sub->set_topic(topic);
    sub->set_expression(subscription.expression);
    sub->set_expression_type(ToProto(subscription.type));
  }
  return data;
}

void ConsumerCore::OnConsumerIdsChanged() {
  std::weak_ptr<ConsumerCore> weak = weak_from_this();
  instance_->scheduler()->Schedule(absl::ZeroDuration(), [weak] {
    if (auto self = weak.lock()) self->Rebalance();
  });
}

void ConsumerCore::OnResetOffset(const proto::ResetOffsetTable& table) {
  std::map<MessageQueue, int64_t> offsets;
  for (const proto::QueueResetOffset& entry : table.offsets()) {
    MessageQueue queue;
    queue.topic = table.topic();
    queue.broker_name = table.broker_name();
    queue.queue_id = entry.queue_id();
    offsets[queue] = entry.offset();
  }
  spdlog::info("consumer {}: broker {} reset the offsets of {} (timestamp {})",
               group_, table.broker_name(), table.topic(), table.timestamp());
  ResetOffsets(offsets);
}

void ConsumerCore::ResetOffsets(
    const std::map<MessageQueue, int64_t>& offsets) {
  // Here, on the I/O thread, only what takes no network call: from now on
  // nothing of the old process queues is delivered nor committed.
  std::vector<ResetQueue> replaced;
  {
    absl::MutexLock lock(&mu_);
    if (!started_ || stopped_) return;
    ++reset_count_;
    for (const auto& [queue, offset] : offsets) {
      last_resets_[queue] = LastReset{reset_count_, offset};
      auto it = queues_.find(queue);
      if (it == queues_.end()) continue;
      auto pq = std::make_shared<ProcessQueue>(queue, offset);
      pq->InheritLock(*it->second);
      // Pinned before it is dropped, and under mu_: a commit that still
      // holds the old process queue (a periodic round under way) commits
      // the reset offset; a delivery (also under mu_) sees it dropped.
      it->second->PinCommittable(offset);
      it->second->Drop();
      replaced.push_back({it->second, pq, offset});
      it->second = pq;
    }
  }
  std::weak_ptr<ConsumerCore> weak = weak_from_this();
  instance_->scheduler()->Schedule(absl::ZeroDuration(),
                                   [weak, replaced = std::move(replaced)] {
                                     auto self = weak.lock();
                                     if (self && !self->stopped())
                                       self->FinishReset(replaced);
                                   });
}

void ConsumerCore::FinishReset(const std::vector<ResetQueue>& replaced) {
  // Serialized with rebalances and the periodic commit.
  absl::MutexLock rebalance_lock(&rebalance_mu_);
  // A queue being given up takes the reset in its final commit
  // (CommitGivenUp), when its last listener call ends.
  for (const ResetQueue& r : replaced) {
    {
      // Given up meanwhile (its final commit was the reset offset), or
      // reset again: not this one's to commit or pull any more.
      absl::MutexLock lock(&mu_);
      auto it = queues_.find(r.pq->queue());
      if (stopped_ || it == queues_.end() || it->second != r.pq) continue;
    }
    spdlog::info("consumer {}: {} reset to offset {}", group_,
                 r.pq->queue().ToString(), r.offset);
    // The broker stored the offset already; this overwrites a commit of
    // ours that crossed the reset on its way there (a pull's or the
    // periodic one), and is a broadcasting consumer's own record of it.
    if (absl::Status s = offsets_->CommitSync(r.pq->queue(), r.offset);
        s.ok()) {
      r.pq->set_last_committed(r.offset);
    } else {
      spdlog::warn(
          "consumer {}: commit of reset {} at {} failed (the next commit "
          "retries): {}",
          group_, r.pq->queue().ToString(), r.offset, s.ToString());
    }
    PullAfter(r.old, r.pq);
  }
  if (absl::Status s = offsets_->Persist(); !s.ok()) {
    spdlog::warn("consumer {}: {}", group_, s.ToString());
  }
}

void ConsumerCore::PullAfter(const std::shared_ptr<ProcessQueue>& old,
                             const std::shared_ptr<ProcessQueue>& pq) {
  if (options_.orderly) {
    if (!old->TryLockConsume(absl::ZeroDuration())) {
      // Not waited for here (the client's timer thread): looked at again
      // soon. Once taken, no more of the old queue's messages run (the
      // orderly service sees it dropped after the consume lock).
      std::weak_ptr<ConsumerCore> weak = weak_from_this();
      instance_->deferred()->Schedule(kResetIdleRetryDelay, [weak, old, pq] {
        if (auto self = weak.lock()) self->PullAfter(old, pq);
      });
      return;
    }
    old->UnlockConsume();
  }
  Pull(pq);
}

void ConsumerCore::Rebalance() {
  absl::MutexLock lock(&rebalance_mu_);
  RebalanceLocked();
}

void ConsumerCore::RebalanceLocked() {
  std::vector<std::string> topics;
  std::optional<std::vector<MessageQueue>> assigned;
  {
    absl::MutexLock lock(&mu_);
    if (stopped_) return;
    for (const auto& [topic, subscription] : subscriptions_) {
      topics.push_back(topic);
    }
    assigned = assigned_;
  }
  bool not_routed = false;
  bool retry_locks = ReleaseGivenUp();
  for (const std::string& topic : topics) {
    std::vector<MessageQueue> owned;
    if (assigned.has_value()) {
      // The route is still needed for the brokers' addresses.
      if (auto route = instance_->routes()->Get(topic); !route.ok()) {
        spdlog::warn("consumer {}: {}", group_, route.status().ToString());
        continue;
      }
      for (const MessageQueue& queue : *assigned) {
        if (queue.topic == topic) owned.push_back(queue);
      }
    } else {
      absl::StatusOr<std::vector<MessageQueue>> allocated = Allocate(topic);
      if (!allocated.ok()) {
        // Only a route not known yet, or a broker that has not had our
        // heartbeat yet, is looked at again soon; an unreachable broker
        // waits for the periodic round, since each try holds the
        // maintenance timer for a request timeout.
        not_routed = not_routed || absl::IsNotFound(allocated.status()) ||
                     absl::IsFailedPrecondition(allocated.status());
        // Keep the current queues: an unreachable broker or NameServer must
        // not stop consumption that still works.
        spdlog::warn("consumer {}: rebalance of {} skipped: {}", group_, topic,
                     allocated.status().ToString());
        continue;
      }
      owned = *std::move(allocated);
    }
    if (!UpdateQueues(topic, owned)) retry_locks = true;
  }
  if (retry_locks) ScheduleLockRetry();
  // A topic created a moment ago (the retry topic, made by the broker on
  // our first heartbeat) may not be routed yet: look again soon rather than
  // at the next periodic round, a bounded number of times.
  if (not_routed && quick_rebalances_ < kMaxQuickRebalances) {
    ++quick_rebalances_;
    std::weak_ptr<ConsumerCore> weak = weak_from_this();
    instance_->scheduler()->Schedule(kQuickRebalanceDelay, [weak] {
      auto self = weak.lock();
      if (self && !self->stopped()) self->Rebalance();
    });
  }
}

absl::StatusOr<std::vector<MessageQueue>> ConsumerCore::Allocate(
    const std::string& topic) {
  absl::StatusOr<std::shared_ptr<const TopicRoute>> route =
      instance_->routes()->Get(topic);
  if (!route.ok()) return route.status();
  const std::vector<MessageQueue>& queues = (*route)->read_queues;
  if (options_.model == MessageModel::kBroadcasting) return queues;
  absl::Status last_error =
      absl::UnavailableError(absl::StrCat("topic ", topic, " has no broker"));
  for (const proto::BrokerData& broker : (*route)->data.broker_datas()) {
    // Every broker of the group knows the consumers (they heartbeat to
    // slaves too), so a group whose master is down still rebalances: a
    // transport failure marks the address and the second try goes to the
    // next one of the group.
    absl::StatusOr<remoting::Command> response =
        absl::UnavailableError("not asked");
    for (int attempt = 0; attempt < 2; ++attempt) {
      remoting::Command request =
          remoting::MakeRequest(proto::GET_CONSUMER_LIST_BY_GROUP);
      request.header.mutable_consumer_list()->set_consumer_group(group_);
      response =
          instance_->CallBrokerForRead(broker.broker_name(), std::move(request),
                                       instance_->config().request_timeout);
      if (response.ok()) break;
    }
    absl::Status status =
        response.ok() ? ResponseStatus(*response) : response.status();
    if (!status.ok()) {
      last_error = Annotate(status, broker.broker_name());
      continue;
    }
    const auto& ids = response->header.consumer_list_response().client_ids();
    std::vector<std::string> client_ids(ids.begin(), ids.end());
    if (std::find(client_ids.begin(), client_ids.end(),
                  instance_->client_id()) == client_ids.end()) {
      // The broker has not seen our heartbeat yet; owning nothing now would
      // needlessly drop queues we hold. Heartbeats go to the brokers of
      // cached routes, so a topic routed only now (created after this
      // consumer started) would wait for the next periodic round: send
      // them now, for the next quick rebalance to find us listed.
      instance_->SendHeartbeats();
      last_error = absl::FailedPreconditionError(
          absl::StrCat("broker ", broker.broker_name(), " does not list ",
                       instance_->client_id(), " in group ", group_));
      continue;
    }
    return AllocateAveragely(queues, std::move(client_ids),
                             instance_->client_id());
  }
  return last_error;
}

bool ConsumerCore::UpdateQueues(const std::string& topic,
                                const std::vector<MessageQueue>& owned) {
  std::set<MessageQueue> wanted(owned.begin(), owned.end());
  std::vector<std::shared_ptr<ProcessQueue>> dropped;
  std::vector<MessageQueue> added;
  bool complete = true;
  uint64_t resets_seen = 0;
  {
    absl::MutexLock lock(&mu_);
    resets_seen = reset_count_;
    for (auto it = queues_.begin(); it != queues_.end();) {
      if (it->first.topic == topic && !wanted.count(it->first)) {
        dropped.push_back(it->second);
        it = queues_.erase(it);
      } else {
        ++it;
      }
    }
    for (const MessageQueue& queue : wanted) {
      if (queues_.count(queue)) continue;
      // Taken again only once its last message here has finished.
      if (releasing_.count(queue)) {
        complete = false;
        continue;
      }
      added.push_back(queue);
    }
  }
  for (const auto& pq : dropped) {
    spdlog::info("consumer {}: dropping {}", group_, pq->queue().ToString());
    Releasing releasing{pq,
                        options_.orderly ? absl::InfiniteFuture()
                                         : MonotonicNow() + options_.drop_wait,
                        resets_seen};
    if (!Release(releasing)) {
      spdlog::info("consumer {}: {} is still consuming; releasing it later",
                   group_, pq->queue().ToString());
      releasing_.emplace(pq->queue(), std::move(releasing));
      complete = false;
    }
  }
  if (locking() && !added.empty()) {
    // Locked before the offset is read: the previous owner committed before
    // it unlocked, so the offset read next is where it stopped.
    std::set<MessageQueue> locked = LockQueues(instance_, group_, added);
    std::vector<MessageQueue> lockable;
    for (const MessageQueue& queue : added) {
      if (locked.count(queue)) {
        lockable.push_back(queue);
      } else {
        spdlog::info("consumer {}: {} is locked by another client; retrying",
                     group_, queue.ToString());
        complete = false;
      }
    }
    added.swap(lockable);
  }
  const absl::Time locked_at = MonotonicNow();
  for (const MessageQueue& queue : added) {
    uint64_t resets_before = 0;
    {
      absl::MutexLock lock(&mu_);
      resets_before = reset_count_;
    }
    absl::StatusOr<int64_t> offset = offsets_->StartOffset(queue);
    if (!offset.ok()) {
      spdlog::warn("consumer {}: cannot start {} (next rebalance retries): {}",
                   group_, queue.ToString(), offset.status().ToString());
      if (locking()) UnlockQueues(instance_, group_, {queue});
      continue;
    }
    std::shared_ptr<ProcessQueue> pq;
    {
      absl::MutexLock lock(&mu_);
      if (stopped_) return complete;
      // A reset that arrived while the offset was read found no process
      // queue to move: the broker holds its offset, which the one read
      // may predate (and the first pull would commit back over it).
      if (std::optional<int64_t> reset = ResetSince(queue, resets_before)) {
        spdlog::info("consumer {}: {} was reset to {} while being taken",
                     group_, queue.ToString(), *reset);
        offset = *reset;
      }
      pq = std::make_shared<ProcessQueue>(queue, *offset);
      pq->set_last_committed(*offset);
      if (locking()) pq->SetLocked(true, locked_at);
      queues_[queue] = pq;
    }
    spdlog::info("consumer {}: owning {} from offset {}", group_,
                 queue.ToString(), *offset);
    Pull(pq);
  }
  return complete;
}

bool ConsumerCore::Release(const Releasing& releasing) {
  const std::shared_ptr<ProcessQueue>& pq = releasing.pq;
  pq->Drop();
  if (!options_.orderly) {
    // Only the consumed messages are committed (the lowest unconsumed one
    // bounds the offset), so committing with a call still running loses
    // nothing: the next owner gets that message again.
    if (!pq->WaitConsumeIdle(absl::ZeroDuration())) {
      if (MonotonicNow() < releasing.commit_anyway_at) return false;
      spdlog::warn(
          "consumer {}: {} still consuming {} after it was given up; "
          "committing anyway",
          group_, pq->queue().ToString(),
          absl::FormatDuration(options_.drop_wait));
    }
    if (options_.auto_commit) CommitGivenUp(releasing);
    return true;
  }
  if (!pq->TryLockConsume(absl::ZeroDuration())) return false;
  // A lost lock leaves nothing to commit or release (see Shutdown). An
  // offset that did not reach the broker keeps the lock until it expires
  // rather than let the next owner start before it.
  const bool owner = !locking() || pq->locked();
  if (owner && CommitGivenUp(releasing) && locking()) {
    UnlockQueues(instance_, group_, {pq->queue()});
  }
  pq->UnlockConsume();
  return true;
}

bool ConsumerCore::CommitGivenUp(const Releasing& releasing) {
  const std::shared_ptr<ProcessQueue>& pq = releasing.pq;
  uint64_t seen = releasing.resets_seen;
  for (;;) {
    uint64_t before = 0;
    {
      absl::MutexLock lock(&mu_);
      before = reset_count_;
      if (std::optional<int64_t> reset = ResetSince(pq->queue(), seen)) {
        pq->PinCommittable(*reset);
      }
    }
    if (!CommitOne(pq, /*sync=*/true)) return false;
    absl::MutexLock lock(&mu_);
    if (!ResetSince(pq->queue(), before).has_value()) return true;
    spdlog::info("consumer {}: {} was reset while its final commit was sent",
                 group_, pq->queue().ToString());
    seen = before;
  }
}

std::optional<int64_t> ConsumerCore::ResetSince(const MessageQueue& queue,
                                                uint64_t seen) const {
  auto it = last_resets_.find(queue);
  if (it == last_resets_.end() || it->second.count <= seen) return std::nullopt;
  return it->second.offset;
}

bool ConsumerCore::ReleaseGivenUp() {
  for (auto it = releasing_.begin(); it != releasing_.end();) {
    if (Release(it->second)) {
      it = releasing_.erase(it);
    } else {
      ++it;
    }
  }
  return !releasing_.empty();
}

void ConsumerCore::OnGivenUpQueueIdle() {
  if (stopped()) return;  // Shutdown() takes care of every queue
  std::weak_ptr<ConsumerCore> weak = weak_from_this();
  instance_->scheduler()->Schedule(absl::ZeroDuration(), [weak] {
    auto self = weak.lock();
    if (!self || self->stopped()) return;
    absl::MutexLock lock(&self->rebalance_mu_);
    self->ReleaseGivenUp();
  });
}

void ConsumerCore::RenewLocks() {
  absl::MutexLock rebalance_lock(&rebalance_mu_);
  std::vector<std::shared_ptr<ProcessQueue>> pqs;
  std::vector<MessageQueue> queues;
  {
    absl::MutexLock lock(&mu_);
    if (stopped_) return;
    for (const auto& [queue, pq] : queues_) {
      pqs.push_back(pq);
      queues.push_back(queue);
    }
  }
  // A queue given up whose message is still being consumed stays ours
  // until Release() ends it, as in RocketMQ (whose lockAll renews every
  // process queue not yet removed): left to expire, the next owner would
  // start on it, and on that very message, while it is still running here.
  for (const auto& [queue, releasing] : releasing_) {
    pqs.push_back(releasing.pq);
    queues.push_back(queue);
  }
  if (queues.empty()) return;
  std::set<std::string> answered;
  std::set<MessageQueue> locked =
      LockQueues(instance_, group_, queues, &answered);
  const absl::Time now = MonotonicNow();
  for (const auto& pq : pqs) {
    // A broker that did not answer (unreachable, timed out) says nothing
    // about its locks: they live on until they expire there, and the
    // queue's own lock time-to-live decides when to stop consuming.
    if (answered.count(pq->queue().broker_name) == 0) continue;
    const bool held = locked.count(pq->queue()) > 0;
    if (!held && pq->locked()) {
      spdlog::warn("consumer {}: lost the lock of {}; pausing it", group_,
                   pq->queue().ToString());
    }
    pq->SetLocked(held, now);
  }
}

void ConsumerCore::ScheduleLockRetry() {
  if (lock_retry_pending_) return;
  lock_retry_pending_ = true;
  std::weak_ptr<ConsumerCore> weak = weak_from_this();
  instance_->scheduler()->Schedule(kLockRetryDelay, [weak] {
    auto self = weak.lock();
    if (self && !self->stopped()) self->RetryLocks();
  });
}

void ConsumerCore::RetryLocks() {
  absl::MutexLock lock(&rebalance_mu_);
  lock_retry_pending_ = false;
  RebalanceLocked();
}

bool ConsumerCore::CommitOne(const std::shared_ptr<ProcessQueue>& pq,
                             bool sync) {
  const int64_t offset = pq->CommittableOffset();
  if (sync) {
    absl::Status status = offsets_->CommitSync(pq->queue(), offset);
    if (!status.ok()) {
      spdlog::warn("consumer {}: commit of {} at {} failed: {}", group_,
                   pq->queue().ToString(), offset, status.ToString());
      return false;
    }
  } else {
    if (offset == pq->last_committed()) return true;
    // Not recorded unless the master has it, so it is sent again.
    if (!offsets_->CommitAsync(pq->queue(), offset)) return true;
  }
  pq->set_last_committed(offset);
  return true;
}

void ConsumerCore::CommitOffsets(bool sync) {
  // Serialized with rebalances, so a periodic commit never lands after the
  // final commit of a queue given up.
  absl::MutexLock rebalance_lock(&rebalance_mu_);
  std::vector<std::shared_ptr<ProcessQueue>> queues;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [queue, pq] : queues_) queues.push_back(pq);
  }
  for (const auto& pq : queues) {
    // An orderly queue whose broker lock was lost may be consumed by
    // another client now: its stale offset must not overwrite theirs.
    if (locking() && !pq->locked()) continue;
    CommitOne(pq, sync);
  }
  if (absl::Status s = offsets_->Persist(); !s.ok()) {
    spdlog::warn("consumer {}: {}", group_, s.ToString());
  }
}

absl::Status ConsumerCore::Seek(const MessageQueue& queue, int64_t offset) {
  if (offset < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot seek ", queue.ToString(), " to offset ", offset,
                     ": offsets start at 0"));
  }
  absl::MutexLock rebalance_lock(&rebalance_mu_);
  std::shared_ptr<ProcessQueue> old;
  auto pq = std::make_shared<ProcessQueue>(queue, offset);
  {
    absl::MutexLock lock(&mu_);
    auto it = queues_.find(queue);
    if (it == queues_.end()) {
      return absl::NotFoundError(
          absl::StrCat(queue.ToString(), " is not owned by this consumer"));
    }
    old = it->second;
    it->second = pq;
  }
  old->Drop();
  Pull(pq);
  return absl::OkStatus();
}

std::vector<std::shared_ptr<ProcessQueue>> ConsumerCore::OwnedProcessQueues()
    const {
  absl::MutexLock lock(&mu_);
  std::vector<std::shared_ptr<ProcessQueue>> queues;
  for (const auto& [queue, pq] : queues_) queues.push_back(pq);
  return queues;
}

std::vector<MessageQueue> ConsumerCore::OwnedQueues() const {
  absl::MutexLock lock(&mu_);
  std::vector<MessageQueue> queues;
  for (const auto& [queue, pq] : queues_) queues.push_back(queue);
  return queues;
}

void ConsumerCore::PullLater(const std::shared_ptr<ProcessQueue>& pq,
                             absl::Duration delay) {
  std::weak_ptr<ConsumerCore> weak = weak_from_this();
  instance_->deferred()->Schedule(delay, [weak, pq] {
    if (auto self = weak.lock()) self->Pull(pq);
  });
}

void ConsumerCore::Pull(const std::shared_ptr<ProcessQueue>& pq) {
  if (pq->dropped() || stopped()) return;
  if (locking() && !pq->locked()) {
    return PullLater(pq, options_.pull_error_delay);
  }
  if (pq->cached_count() >= options_.pull_threshold_for_queue ||
      pq->cached_bytes() >= options_.pull_threshold_bytes_for_queue) {
    return PullLater(pq, options_.flow_control_delay);
  }
  // Orderly queues are exempt, as in RocketMQ: they consume in offset
  // order, so the span is only what was pulled ahead.
  if (!options_.orderly &&
      pq->MaxSpan() > options_.consume_concurrently_max_span) {
    // Logged at the first time and every 1000th after, as RocketMQ.
    if (span_flow_controls_.fetch_add(1, std::memory_order_relaxed) % 1000 ==
        0) {
      spdlog::warn(
          "consumer {}: not pulling {} for now: the messages it holds span "
          "{} offsets, above consume_concurrently_max_span {} (committable "
          "offset {})",
          group_, pq->queue().ToString(), pq->MaxSpan(),
          options_.consume_concurrently_max_span, pq->CommittableOffset());
    }
    return PullLater(pq, options_.flow_control_delay);
  }
  const MessageQueue& queue = pq->queue();
  std::optional<Subscription> subscription = SubscriptionFor(queue.topic);
  // The master, or a slave when the master suggested it or is unreachable.
  absl::StatusOr<std::string> addr = instance_->routes()->ReadAddress(
      queue.broker_name, pq->suggested_broker_id());
  if (!subscription.has_value() || !addr.ok()) {
    return PullLater(pq, options_.pull_error_delay);
  }
  remoting::Command request = remoting::MakeRequest(proto::PULL_MESSAGE);
  proto::PullMessageRequest* pull = request.header.mutable_pull_message();
  pull->set_consumer_group(group_);
  pull->set_topic(queue.topic);
  pull->set_queue_id(queue.queue_id);
  pull->set_queue_offset(pq->next_offset());
  pull->set_max_msg_nums(options_.pull_batch_size);
  pull->set_suspend_timeout_millis(
      absl::ToInt64Milliseconds(options_.suspend_timeout));
  pull->set_subscription(subscription->expression);
  pull->set_expression_type(ToProto(subscription->type));
  // Not for orderly queues: a pull held in the broker's queue could commit
  // an older offset after the final commit that precedes an unlock.
  pull->set_commit_offset(options_.model == MessageModel::kClustering &&
                                  options_.auto_commit && !options_.orderly
                              ? pq->CommittableOffset()
                              : -1);
  std::weak_ptr<ConsumerCore> weak = weak_from_this();
  instance_->remoting()->InvokeAsync(
      *addr, std::move(request), options_.pull_timeout,
      [weak, pq, addr = *addr](absl::StatusOr<remoting::Command> response) {
        auto self = weak.lock();
        if (self == nullptr) return;
        if (!response.ok()) self->instance_->routes()->MarkUnreachable(addr);
        self->OnPulled(pq, std::move(response));
      });
}

void ConsumerCore::OnPulled(const std::shared_ptr<ProcessQueue>& pq,
                            absl::StatusOr<remoting::Command> response) {
  if (pq->dropped() || stopped()) return;
  const MessageQueue& queue = pq->queue();
  if (!response.ok()) {
    spdlog::warn("consumer {}: pull of {} failed: {}", group_, queue.ToString(),
                 response.status().ToString());
    return PullLater(pq, options_.pull_error_delay);
  }
  const proto::PullMessageResponse& answer =
      response->header.pull_message_response();
  pq->set_suggested_broker_id(answer.suggest_which_broker_id());
  switch (response->header.status()) {
    case proto::SUCCESS: {
      absl::StatusOr<std::vector<MessageExt>> messages =
          DecodeMessages(response->body, queue.broker_name);
      if (!messages.ok()) {
        spdlog::error("consumer {}: pull of {} at {}: {}", group_,
                      queue.ToString(), pq->next_offset(),
                      messages.status().ToString());
        return PullLater(pq, options_.pull_error_delay);
      }
      std::optional<Subscription> subscription = SubscriptionFor(queue.topic);
      // Unsubscribed meanwhile: the queue is being given up, and moving it
      // past these undelivered messages would commit them as consumed.
      if (!subscription.has_value()) return;
      std::vector<MessageExt> matched;
      for (MessageExt& message : *messages) {
        if (subscription->Matches(message.tags)) {
          matched.push_back(std::move(message));
        }
      }
      pq->OnPulled(matched, answer.next_begin_offset());
      if (!matched.empty()) Deliver(pq, std::move(matched));
      return Pull(pq);
    }
    case proto::PULL_NOT_FOUND:
    case proto::PULL_RETRY_IMMEDIATELY:
      if (response->header.has_pull_message_response()) {
        pq->OnPulled({}, answer.next_begin_offset());
      }
      return Pull(pq);
    case proto::PULL_OFFSET_MOVED:
      spdlog::warn("consumer {}: offset {} of {} moved; continuing at {}",
                   group_, pq->next_offset(), queue.ToString(),
                   answer.next_begin_offset());
      pq->OnPulled({}, answer.next_begin_offset());
      if (options_.auto_commit) CommitOne(pq, /*sync=*/false);
      return Pull(pq);
    default:
      spdlog::warn("consumer {}: pull of {}: {}", group_, queue.ToString(),
                   ResponseStatus(*response).ToString());
      return PullLater(pq, options_.pull_error_delay);
  }
}

void ConsumerCore::Redeliver(const std::shared_ptr<ProcessQueue>& pq,
                             MessageExt message, absl::Duration delay) {
  std::weak_ptr<ConsumerCore> weak = weak_from_this();
  auto shared = std::make_shared<MessageExt>(std::move(message));
  instance_->deferred()->Schedule(delay, [weak, pq, shared] {
    auto self = weak.lock();
    if (!self || pq->dropped() || self->stopped()) return;
    std::vector<MessageExt> messages;
    messages.push_back(std::move(*shared));
    self->Deliver(pq, std::move(messages));
  });
}

void ConsumerCore::Redeliver(const std::shared_ptr<ProcessQueue>& pq,
                             std::vector<MessageExt> messages,
                             absl::Duration delay) {
  std::weak_ptr<ConsumerCore> weak = weak_from_this();
  auto shared = std::make_shared<std::vector<MessageExt>>(std::move(messages));
  instance_->deferred()->Schedule(delay, [weak, pq, shared] {
    auto self = weak.lock();
    if (!self || pq->dropped() || self->stopped()) return;
    self->Deliver(pq, std::move(*shared));
  });
}

void ConsumerCore::Deliver(const std::shared_ptr<ProcessQueue>& pq,
                           std::vector<MessageExt> messages) {
  // Under mu_, so once Shutdown() has set stopped_ no sink call is running
  // or starts: the sink's owner may then go away.
  absl::MutexLock lock(&mu_);
  if (stopped_ || pq->dropped()) return;
  sink_(pq, std::move(messages));
}

}  // namespace cometmq::client
