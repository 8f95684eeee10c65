#include "cpp/client/producer.h"

#include <functional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "cpp/client/callback_executor.h"
#include "cpp/client/client_error.h"
#include "cpp/common/message_record.h"
#include "spdlog/spdlog.h"

namespace cometmq::client {
namespace {

const char* SendStatusName(int32_t status) {
  switch (status) {
    case proto::FLUSH_DISK_TIMEOUT:
      return "FLUSH_DISK_TIMEOUT";
    case proto::FLUSH_SLAVE_TIMEOUT:
      return "FLUSH_SLAVE_TIMEOUT";
    case proto::SLAVE_NOT_AVAILABLE:
      return "SLAVE_NOT_AVAILABLE";
    default:
      return "SEND_OK";
  }
}

}  // namespace

absl::Status NoWritableQueueError(const std::string& topic,
                                  const proto::TopicRouteData& route) {
  for (const proto::QueueData& queue : route.queue_datas()) {
    if (queue.perm() & proto::PERM_WRITE) {
      return absl::UnavailableError(absl::StrCat(
          "topic ", topic, " has no writable queue: no broker writing it ",
          "has a master registered"));
    }
  }
  // What the broker answers a send to such a topic, so callers see the
  // same code whether the route or the broker refused it.
  return BrokerError(proto::NO_PERMISSION,
                     absl::StrCat("the topic[", topic,
                                  "] sending message is forbidden (its perm "
                                  "allows no writes on any broker)"));
}

bool IsRetriableSendError(const absl::Status& status) {
  std::optional<int32_t> code = BrokerStatusCode(status);
  if (!code.has_value()) {
    // Transport failures: the request may not have reached the broker.
    return status.code() == absl::StatusCode::kUnavailable;
  }
  switch (*code) {
    case proto::SYSTEM_ERROR:
    case proto::SYSTEM_BUSY:
    case proto::SERVICE_NOT_AVAILABLE:
    case proto::NO_PERMISSION:
    case proto::TOPIC_NOT_EXIST:
      return true;
    default:
      return false;
  }
}

// One SendAsync in progress. Only the attempt chain touches it, one attempt
// at a time, so it needs no lock.
struct DefaultProducer::AsyncSend {
  PreparedSend prepared;
  SendCallback callback;
  ClientInstance* instance = nullptr;
  std::shared_ptr<const TopicRoute> route;
  absl::Time deadline;
  int attempts_left = 0;
  std::string avoid_broker;
  absl::Status last_error;
};

DefaultProducer::DefaultProducer(std::string group, ProducerOptions options)
    : group_(std::move(group)),
      options_(std::move(options)),
      faults_(options_.slow_broker_latency, options_.broker_isolation),
      selector_(&faults_) {}

DefaultProducer::~DefaultProducer() {
  if (CallbackExecutor::InCallbackThread()) {
    absl::MutexLock lock(&mu_);
    if (async_in_flight_ > 0) {
      // Shutdown cannot wait here: the callbacks run on this thread.
      spdlog::error(
          "producer {}: destroyed on the client's callback thread with {} "
          "async sends outstanding, whose callbacks will use it; a callback "
          "must not destroy its producer",
          group_, async_in_flight_);
    }
  }
  Shutdown();
}

absl::Status DefaultProducer::Start() {
  if (group_.empty()) {
    return absl::InvalidArgumentError("producer group is empty");
  }
  absl::MutexLock lock(&mu_);
  if (running_)
    return absl::FailedPreconditionError("producer already started");
  if (instance_ != nullptr) {
    // Shut down from a callback; the callbacks have not all run yet.
    return absl::FailedPreconditionError(
        "producer is still shutting down: call Shutdown() outside the send "
        "callbacks before starting it again");
  }
  absl::StatusOr<std::shared_ptr<ClientInstance>> instance =
      ClientInstance::Get(options_.client);
  if (!instance.ok()) return instance.status();
  if (absl::Status status = (*instance)->RegisterProducer(group_);
      !status.ok()) {
    return status;
  }
  instance_ = *std::move(instance);
  running_ = true;
  return absl::OkStatus();
}

void DefaultProducer::Shutdown() {
  std::shared_ptr<ClientInstance> instance;
  bool unregister = false;
  {
    absl::MutexLock lock(&mu_);
    if (instance_ == nullptr) return;
    instance = instance_;
    unregister = running_;
    running_ = false;
    // On a callback thread (this producer's callback or another's) the
    // callbacks still to run, this one among them, run on this thread after
    // it returns: waiting would never end. Sends stop now; a later
    // Shutdown() from another thread, or the destructor, waits for the
    // callbacks and lets the instance go.
    if (!CallbackExecutor::InCallbackThread()) {
      auto drained = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
        return async_in_flight_ == 0;
      };
      // Async sends end within their timeout, so this wait is bounded.
      mu_.Await(absl::Condition(&drained));
      instance_.reset();
    }
  }
  if (unregister) instance->UnregisterProducer(group_);
}

absl::Status DefaultProducer::NotStarted() const {
  return absl::FailedPreconditionError(
      absl::StrCat("producer ", group_, " is not started"));
}

absl::StatusOr<std::shared_ptr<ClientInstance>>
DefaultProducer::RunningInstance() const {
  absl::MutexLock lock(&mu_);
  if (!running_) return NotStarted();
  return instance_;
}

absl::StatusOr<std::shared_ptr<const TopicRoute>> DefaultProducer::PublishRoute(
    ClientInstance* instance, const std::string& topic, absl::Time deadline) {
  const bool first_route = instance->routes()->Cached(topic) == nullptr;
  absl::StatusOr<std::shared_ptr<const TopicRoute>> route =
      instance->routes()->Get(topic, deadline);
  // A topic new to this client may name brokers it never heartbeated: they
  // learn of its producer group now rather than in up to 30 s.
  if (first_route && route.ok()) instance->RequestHeartbeat();
  if (route.ok() && (*route)->write_queues.empty()) {
    // The cached route may predate the topic's opening for writes, as
    // RocketMQ's producer refreshes a route with no usable queue.
    route = instance->routes()->Refresh(topic, deadline);
  }
  if (route.ok()) {
    if ((*route)->write_queues.empty()) {
      return NoWritableQueueError(topic, (*route)->data);
    }
    return route;
  }
  if (options_.auto_create_topic &&
      BrokerStatusCode(route.status()) == proto::TOPIC_NOT_EXIST) {
    return DefaultRoute(instance, topic, deadline);
  }
  return route.status();
}

absl::StatusOr<std::shared_ptr<const TopicRoute>> DefaultProducer::DefaultRoute(
    ClientInstance* instance, const std::string& topic, absl::Time deadline) {
  {
    absl::MutexLock lock(&mu_);
    auto it = default_routes_.find(topic);
    // Rebuilt once per route refresh interval, so a topic the broker has
    // created meanwhile moves to its real route.
    if (it != default_routes_.end() &&
        absl::Now() - it->second.second <
            options_.client.route_refresh_interval) {
      return it->second.first;
    }
  }
  absl::StatusOr<proto::ClusterInfo> cluster =
      instance->routes()->FetchClusterInfo(deadline);
  if (!cluster.ok()) return cluster.status();
  proto::TopicRouteData data;
  for (const auto& [name, broker] : cluster->broker_table()) {
    if (!options_.create_topic_cluster.empty() &&
        broker.cluster() != options_.create_topic_cluster) {
      continue;
    }
    if (!broker.broker_addrs().contains(0)) continue;
    *data.add_broker_datas() = broker;
    proto::QueueData* queue = data.add_queue_datas();
    queue->set_broker_name(name);
    queue->set_read_queue_nums(options_.default_topic_queue_nums);
    queue->set_write_queue_nums(options_.default_topic_queue_nums);
    queue->set_perm(proto::PERM_READ | proto::PERM_WRITE);
  }
  if (data.queue_datas().empty()) {
    return absl::UnavailableError(absl::StrCat(
        "topic ", topic, " has no route and no broker",
        options_.create_topic_cluster.empty()
            ? std::string()
            : absl::StrCat(" of cluster ", options_.create_topic_cluster),
        " is registered to create it on"));
  }
  std::shared_ptr<const TopicRoute> route =
      MakeTopicRoute(topic, std::move(data));
  absl::MutexLock lock(&mu_);
  default_routes_[topic] = {route, absl::Now()};
  return route;
}

absl::StatusOr<SendResult> DefaultProducer::ToSendResult(
    const PreparedSend& prepared, const MessageQueue& queue,
    const remoting::Command& response) {
  if (!IsStored(response.header.status())) return ResponseStatus(response);
  const proto::SendMessageResponse& answer =
      response.header.send_message_response();
  SendResult result;
  result.status = SendStatusName(response.header.status());
  result.msg_id = prepared.msg_id;
  result.offset_msg_id = answer.msg_id();
  result.broker_name = queue.broker_name;
  result.queue_id = answer.queue_id();
  result.queue_offset = answer.queue_offset();
  return result;
}

void DefaultProducer::RecordAttempt(ClientInstance* instance,
                                    const std::string& broker, absl::Time start,
                                    const absl::Status& status,
                                    const std::string& topic) {
  bool failed = !status.ok() && (IsRetriableSendError(status) ||
                                 !BrokerStatusCode(status).has_value());
  const absl::Time now = absl::Now();
  faults_.Record(broker, now - start, failed, now);
  if (failed) instance->RequestRouteRefresh(topic);
}

absl::StatusOr<SendResult> DefaultProducer::SendOnce(
    ClientInstance* instance, const PreparedSend& prepared,
    const MessageQueue& queue, absl::Time start, absl::Duration timeout) {
  absl::StatusOr<std::string> addr =
      instance->routes()->MasterAddress(queue.broker_name);
  if (!addr.ok()) {
    // The master left (another topic's route showed it first) while this
    // topic's cached route still lists its queues: another broker may take
    // the message, and the route is refreshed.
    absl::Status status = absl::UnavailableError(addr.status().message());
    RecordAttempt(instance, queue.broker_name, start, status, queue.topic);
    return status;
  }
  absl::StatusOr<remoting::Command> response = instance->remoting()->InvokeSync(
      *addr,
      MakeSendCommand(prepared, queue.queue_id,
                      options_.default_topic_queue_nums),
      timeout);
  absl::StatusOr<SendResult> result =
      response.ok() ? ToSendResult(prepared, queue, *response)
                    : absl::StatusOr<SendResult>(response.status());
  RecordAttempt(instance, queue.broker_name, start, result.status(),
                queue.topic);
  if (!result.ok()) {
    return Annotate(result.status(),
                    absl::StrCat("send to ", queue.ToString(), " at ", *addr));
  }
  return result;
}

absl::StatusOr<SendResult> DefaultProducer::SendWithRetry(
    ClientInstance* instance, const PreparedSend& prepared,
    absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  const std::string& topic = prepared.header.topic();
  std::string avoid_broker;
  absl::Status last_error;
  for (int attempt = 0; attempt <= options_.retry_times_when_send_failed;
       ++attempt) {
    absl::StatusOr<std::shared_ptr<const TopicRoute>> route =
        PublishRoute(instance, topic, deadline);
    if (!route.ok()) return route.status();
    const absl::Time now = absl::Now();
    const absl::Duration remaining = deadline - now;
    if (remaining <= absl::ZeroDuration()) break;
    const MessageQueue queue =
        selector_.Select((*route)->write_queues, avoid_broker, now);
    absl::StatusOr<SendResult> result =
        SendOnce(instance, prepared, queue, now, remaining);
    if (result.ok()) return result;
    last_error = result.status();
    if (last_error.code() == absl::StatusCode::kDeadlineExceeded ||
        !IsRetriableSendError(last_error)) {
      return last_error;
    }
    avoid_broker = queue.broker_name;
  }
  if (last_error.ok()) {
    return absl::DeadlineExceededError(absl::StrCat(
        "send to ", topic, " timed out after ", absl::FormatDuration(timeout)));
  }
  return last_error;
}

absl::StatusOr<SendResult> DefaultProducer::SendSync(const Message& message) {
  return SendSync(message, options_.send_timeout);
}

absl::StatusOr<SendResult> DefaultProducer::SendSync(const Message& message,
                                                     absl::Duration timeout) {
  return SendSyncSetBy(message, PropertiesSetBy::kUser, timeout);
}

absl::StatusOr<SendResult> DefaultProducer::SendSyncSetBy(
    const Message& message, PropertiesSetBy set_by, absl::Duration timeout) {
  absl::StatusOr<std::shared_ptr<ClientInstance>> instance = RunningInstance();
  if (!instance.ok()) return instance.status();
  absl::StatusOr<PreparedSend> prepared =
      PrepareSend(message, group_, options_.limits, set_by);
  if (!prepared.ok()) return prepared.status();
  return SendWithRetry(instance->get(), *prepared, timeout);
}

absl::StatusOr<SendResult> DefaultProducer::SendBatch(
    const std::vector<Message>& messages) {
  absl::StatusOr<std::shared_ptr<ClientInstance>> instance = RunningInstance();
  if (!instance.ok()) return instance.status();
  absl::StatusOr<PreparedSend> prepared =
      PrepareBatch(messages, group_, options_.limits);
  if (!prepared.ok()) return prepared.status();
  return SendWithRetry(instance->get(), *prepared, options_.send_timeout);
}

absl::StatusOr<SendResult> DefaultProducer::SendToQueue(
    const Message& message, const MessageQueue& queue) {
  absl::StatusOr<std::shared_ptr<ClientInstance>> instance = RunningInstance();
  if (!instance.ok()) return instance.status();
  if (queue.topic != message.topic) {
    return absl::InvalidArgumentError(absl::StrCat(
        "queue ", queue.ToString(), " is not of topic ", message.topic));
  }
  return SendToQueueBefore(instance->get(), message, queue,
                           absl::Now() + options_.send_timeout);
}

absl::StatusOr<SendResult> DefaultProducer::SendToQueueBefore(
    ClientInstance* instance, const Message& message, const MessageQueue& queue,
    absl::Time deadline) {
  absl::StatusOr<PreparedSend> prepared =
      PrepareSend(message, group_, options_.limits, PropertiesSetBy::kUser);
  if (!prepared.ok()) return prepared.status();
  // Resolves the broker's address when the route is not cached yet.
  if (auto route = PublishRoute(instance, queue.topic, deadline); !route.ok()) {
    return route.status();
  }
  const absl::Time now = absl::Now();
  if (now >= deadline) {
    return absl::DeadlineExceededError(
        absl::StrCat("send to ", queue.ToString(), " timed out"));
  }
  return SendOnce(instance, *prepared, queue, now, deadline - now);
}

absl::StatusOr<SendResult> DefaultProducer::SendOrderly(
    const Message& message, const std::string& sharding_key) {
  absl::StatusOr<std::shared_ptr<ClientInstance>> instance = RunningInstance();
  if (!instance.ok()) return instance.status();
  const absl::Time deadline = absl::Now() + options_.send_timeout;
  absl::StatusOr<std::shared_ptr<const TopicRoute>> route =
      PublishRoute(instance->get(), message.topic, deadline);
  if (!route.ok()) return route.status();
  const std::vector<MessageQueue>& queues = (*route)->write_queues;
  const int32_t index =
      ShardingIndex(sharding_key, static_cast<int32_t>(queues.size()));
  return SendToQueueBefore(instance->get(), message,
                           queues[static_cast<size_t>(index)], deadline);
}

absl::StatusOr<std::vector<MessageQueue>> DefaultProducer::WriteQueues(
    const std::string& topic) {
  absl::StatusOr<std::shared_ptr<ClientInstance>> instance = RunningInstance();
  if (!instance.ok()) return instance.status();
  absl::StatusOr<std::shared_ptr<const TopicRoute>> route =
      PublishRoute(instance->get(), topic, absl::Now() + options_.send_timeout);
  if (!route.ok()) return route.status();
  return (*route)->write_queues;
}

absl::Status DefaultProducer::SendOneway(const Message& message) {
  absl::StatusOr<PreparedSend> prepared =
      PrepareSend(message, group_, options_.limits, PropertiesSetBy::kUser);
  if (!prepared.ok()) return prepared.status();
  absl::StatusOr<std::shared_ptr<ClientInstance>> running = RunningInstance();
  if (!running.ok()) return running.status();
  ClientInstance* instance = running->get();
  absl::StatusOr<std::shared_ptr<const TopicRoute>> route = PublishRoute(
      instance, message.topic, absl::Now() + options_.send_timeout);
  if (!route.ok()) return route.status();
  const MessageQueue queue =
      selector_.Select((*route)->write_queues, "", absl::Now());
  absl::StatusOr<std::string> addr =
      instance->routes()->MasterAddress(queue.broker_name);
  if (!addr.ok()) return addr.status();
  return instance->remoting()->InvokeOneway(
      *addr, MakeSendCommand(*prepared, queue.queue_id,
                             options_.default_topic_queue_nums));
}

void DefaultProducer::SendAsync(const Message& message, SendCallback callback) {
  SendAsync(message, std::move(callback), options_.send_timeout);
}

void DefaultProducer::SendAsync(const Message& message, SendCallback callback,
                                absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  absl::StatusOr<PreparedSend> prepared =
      PrepareSend(message, group_, options_.limits, PropertiesSetBy::kUser);
  if (!prepared.ok()) return callback(prepared.status());
  absl::StatusOr<std::shared_ptr<ClientInstance>> instance = RunningInstance();
  if (!instance.ok()) return callback(instance.status());
  absl::StatusOr<std::shared_ptr<const TopicRoute>> route =
      PublishRoute(instance->get(), message.topic, deadline);
  if (!route.ok()) return callback(route.status());
  auto send = std::make_shared<AsyncSend>();
  bool running;
  {
    absl::MutexLock lock(&mu_);
    running = running_;
    if (running) {
      ++async_in_flight_;
      send->instance = instance_.get();
    }
  }
  // Outside the lock: the callback may call into this producer.
  if (!running) return callback(NotStarted());
  send->prepared = *std::move(prepared);
  send->callback = std::move(callback);
  send->route = *std::move(route);
  send->deadline = deadline;
  send->attempts_left = 1 + options_.retry_times_when_send_failed;
  StartAsyncAttempt(std::move(send));
}

void DefaultProducer::StartAsyncAttempt(std::shared_ptr<AsyncSend> send) {
  const absl::Duration remaining = send->deadline - absl::Now();
  if (send->attempts_left-- <= 0 || remaining <= absl::ZeroDuration()) {
    absl::Status error = send->last_error;
    if (error.ok() || remaining <= absl::ZeroDuration()) {
      error = absl::DeadlineExceededError(absl::StrCat(
          "send to ", send->prepared.header.topic(),
          " timed out; last error: ", send->last_error.ToString()));
    }
    return FinishAsync(send, error);
  }
  const MessageQueue queue = selector_.Select(send->route->write_queues,
                                              send->avoid_broker, absl::Now());
  const absl::Time start = absl::Now();
  absl::StatusOr<std::string> addr =
      send->instance->routes()->MasterAddress(queue.broker_name);
  if (!addr.ok()) {
    // As SendOnce: the master left, another broker may take it.
    send->last_error = absl::UnavailableError(addr.status().message());
    RecordAttempt(send->instance, queue.broker_name, start, send->last_error,
                  queue.topic);
    send->avoid_broker = queue.broker_name;
    return StartAsyncAttempt(std::move(send));
  }
  remoting::Command request = MakeSendCommand(
      send->prepared, queue.queue_id, options_.default_topic_queue_nums);
  const std::string address = *addr;
  send->instance->remoting()->InvokeAsync(
      address, std::move(request), remaining,
      [this, send, queue, start,
       address](absl::StatusOr<remoting::Command> response) {
        absl::StatusOr<SendResult> result =
            response.ok() ? ToSendResult(send->prepared, queue, *response)
                          : absl::StatusOr<SendResult>(response.status());
        RecordAttempt(send->instance, queue.broker_name, start, result.status(),
                      queue.topic);
        if (result.ok()) return FinishAsync(send, std::move(result));
        send->last_error = Annotate(
            result.status(),
            absl::StrCat("send to ", queue.ToString(), " at ", address));
        if (send->last_error.code() == absl::StatusCode::kDeadlineExceeded ||
            !IsRetriableSendError(send->last_error)) {
          return FinishAsync(send, send->last_error);
        }
        send->avoid_broker = queue.broker_name;
        StartAsyncAttempt(send);
      });
}

void DefaultProducer::FinishAsync(const std::shared_ptr<AsyncSend>& send,
                                  absl::StatusOr<SendResult> result) {
  // Usually on the I/O thread: the user's callback runs on the client's
  // callback thread instead, where it may block and send synchronously.
  std::function<void()> run = [this, send,
                               result = std::move(result)]() mutable {
    {
      SendCallback callback = std::move(send->callback);
      callback(std::move(result));
      // The callback is destroyed here, before Shutdown() may return: what
      // it holds (a Python callable) must not outlive the producer's
      // shutdown.
    }
    absl::MutexLock lock(&mu_);
    --async_in_flight_;
  };
  // The executor only stops when the instance is destroyed, which waits for
  // this producer's sends (it holds the instance until they drained).
  if (!send->instance->callbacks()->Post(std::move(run))) run();
}

}  // namespace cometmq::client
