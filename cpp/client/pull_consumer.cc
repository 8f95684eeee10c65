#include "cpp/client/pull_consumer.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "cpp/client/subscription.h"

namespace cometmq::client {

DefaultLitePullConsumer::DefaultLitePullConsumer(std::string group,
                                                 ConsumerOptions options)
    : group_(std::move(group)), options_(std::move(options)) {
  core_ = std::make_shared<ConsumerCore>(
      group_, options_, "CONSUME_ACTIVELY",
      [this](const std::shared_ptr<ProcessQueue>& pq,
             std::vector<MessageExt> messages) {
        Buffer(pq, std::move(messages));
      });
}

DefaultLitePullConsumer::~DefaultLitePullConsumer() { Shutdown(); }

absl::Status DefaultLitePullConsumer::Subscribe(const std::string& topic,
                                                const std::string& expression) {
  return core_->Subscribe(topic, expression);
}

absl::Status DefaultLitePullConsumer::Subscribe(
    const std::string& topic, const MessageSelector& selector) {
  return core_->Subscribe(topic, selector);
}

absl::Status DefaultLitePullConsumer::Unsubscribe(const std::string& topic) {
  // Buffered messages of its queues are skipped by Poll: they are dropped.
  return core_->Unsubscribe(topic);
}

void DefaultLitePullConsumer::Assign(std::vector<MessageQueue> queues) {
  core_->Assign(std::move(queues));
}

absl::Status DefaultLitePullConsumer::Start() {
  if (absl::Status s = ValidateConsumerGroup(group_); !s.ok()) return s;
  {
    absl::MutexLock lock(&mu_);
    if (running_ || starting_) {
      return absl::FailedPreconditionError("consumer already started");
    }
    starting_ = true;
  }
  absl::StatusOr<std::shared_ptr<ClientInstance>> instance =
      ClientInstance::Get(options_.client);
  // Not under mu_: starting may deliver messages at once, and delivery
  // (Buffer) takes mu_ from the consumer core's threads.
  absl::Status status = instance.status();
  if (status.ok()) status = core_->Start(instance->get());
  if (!status.ok()) core_->Shutdown();
  absl::MutexLock lock(&mu_);
  starting_ = false;
  if (!status.ok()) return status;
  instance_ = *std::move(instance);
  running_ = true;
  return absl::OkStatus();
}

void DefaultLitePullConsumer::Shutdown() {
  std::shared_ptr<ClientInstance> instance;
  {
    absl::MutexLock lock(&mu_);
    // A Shutdown() while Start() is under way stops what it started.
    mu_.Await(absl::Condition(
        +[](bool* starting) { return !*starting; }, &starting_));
    if (!running_) return;
    running_ = false;
    instance = std::move(instance_);
    buffer_.clear();
  }
  core_->Shutdown();
}

void DefaultLitePullConsumer::Buffer(const std::shared_ptr<ProcessQueue>& pq,
                                     std::vector<MessageExt> messages) {
  absl::MutexLock lock(&mu_);
  for (MessageExt& message : messages) {
    buffer_.emplace_back(pq, std::move(message));
  }
}

absl::Status DefaultLitePullConsumer::NotRunning() const {
  return absl::FailedPreconditionError(
      absl::StrCat("consumer ", group_, " is not running"));
}

absl::StatusOr<std::vector<MessageExt>> DefaultLitePullConsumer::Poll(
    absl::Duration timeout) {
  std::vector<MessageExt> polled;
  absl::MutexLock lock(&mu_);
  if (!running_ && !starting_) return NotRunning();
  auto ready = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
    return !running_ || !buffer_.empty();
  };
  mu_.AwaitWithTimeout(absl::Condition(&ready), timeout);
  while (!buffer_.empty() &&
         polled.size() < static_cast<size_t>(options_.pull_batch_size)) {
    auto [pq, message] = std::move(buffer_.front());
    buffer_.pop_front();
    if (pq->dropped()) continue;  // rebalanced away or sought
    pq->Remove(message.queue_offset);
    polled.push_back(std::move(message));
  }
  return polled;
}

absl::Status DefaultLitePullConsumer::Commit() {
  {
    absl::MutexLock lock(&mu_);
    if (!running_) return NotRunning();
  }
  core_->CommitOffsets(/*sync=*/true);
  return absl::OkStatus();
}

absl::Status DefaultLitePullConsumer::Seek(const MessageQueue& queue,
                                           int64_t offset) {
  return core_->Seek(queue, offset);
}

std::vector<MessageQueue> DefaultLitePullConsumer::OwnedQueues() const {
  return core_->OwnedQueues();
}

}  // namespace cometmq::client
