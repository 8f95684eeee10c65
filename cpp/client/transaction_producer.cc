#include "cpp/client/transaction_producer.h"

#include <exception>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "cpp/client/client_error.h"
#include "cpp/client/send_request.h"
#include "cpp/client/thread_pool.h"
#include "cpp/common/message_record.h"
#include "spdlog/spdlog.h"

namespace cometmq::client {
namespace {

constexpr absl::string_view kPropertyProducerGroup = "PGROUP";

int32_t TransactionType(TransactionState state) {
  switch (state) {
    case TransactionState::kCommit:
      return kTransactionCommitType;
    case TransactionState::kRollback:
      return kTransactionRollbackType;
    case TransactionState::kUnknown:
      break;
  }
  return kTransactionNotType;
}

// The half of a check as the user sent it: real topic and queue, without
// the broker's bookkeeping properties.
absl::StatusOr<MessageExt> CheckedMessage(const remoting::Command& request) {
  absl::StatusOr<std::vector<MessageExt>> decoded =
      DecodeMessages(request.body, "");
  if (!decoded.ok()) return decoded.status();
  if (decoded->size() != 1) {
    return absl::DataLossError(absl::StrCat(
        "a transaction check carries ", decoded->size(), " records, not 1"));
  }
  MessageExt message = std::move(decoded->front());
  auto take = [&message](absl::string_view name) {
    auto it = message.properties.find(std::string(name));
    if (it == message.properties.end()) return std::string();
    std::string value = std::move(it->second);
    message.properties.erase(it);
    return value;
  };
  const std::string topic = take(kPropertyRealTopic);
  const std::string queue = take(kPropertyRealQueueId);
  if (!topic.empty()) message.topic = topic;
  if (!queue.empty() && !absl::SimpleAtoi(queue, &message.queue_id)) {
    message.queue_id = 0;
  }
  take(kPropertyTransactionPrepared);
  take(kCrcProperty);
  return message;
}

}  // namespace

const char* TransactionStateName(TransactionState state) {
  switch (state) {
    case TransactionState::kCommit:
      return "COMMIT";
    case TransactionState::kRollback:
      return "ROLLBACK";
    case TransactionState::kUnknown:
      break;
  }
  return "UNKNOWN";
}

remoting::Command MakeEndTransaction(const std::string& group,
                                     int64_t half_queue_offset,
                                     int64_t half_commit_log_offset,
                                     const std::string& transaction_id,
                                     TransactionState state, bool from_check) {
  remoting::Command request = remoting::MakeRequest(proto::END_TRANSACTION);
  proto::EndTransactionRequest* end = request.header.mutable_end_transaction();
  end->set_producer_group(group);
  end->set_tran_state_table_offset(half_queue_offset);
  end->set_commit_log_offset(half_commit_log_offset);
  end->set_commit_or_rollback(TransactionType(state));
  end->set_from_transaction_check(from_check);
  end->set_msg_id(transaction_id);
  end->set_transaction_id(transaction_id);
  return request;
}

// Runs check listeners off the I/O thread and answers the broker. Shared
// with the client instance's handler, which holds it weakly.
class TransactionProducer::Checker {
 public:
  Checker(std::string group, TransactionCheckListener listener,
          std::shared_ptr<ClientInstance> instance, absl::Duration timeout)
      : group_(std::move(group)),
        listener_(std::move(listener)),
        instance_(std::move(instance)),
        timeout_(timeout),
        pool_("client-txchk", 1) {}

  void Enqueue(const std::string& broker_addr, remoting::Command request) {
    auto shared = std::make_shared<remoting::Command>(std::move(request));
    if (!pool_.Submit(
            [this, broker_addr, shared] { Check(broker_addr, *shared); })) {
      spdlog::info("producer {} is shutting down; transaction check dropped",
                   group_);
    }
  }

  // Runs the checks already queued, then stops.
  void Shutdown() { pool_.Shutdown(); }
  bool InCheckThread() const { return pool_.InWorkerThread(); }

 private:
  void Check(const std::string& broker_addr, const remoting::Command& request) {
    const proto::CheckTransactionStateRequest& check =
        request.header.check_transaction_state();
    absl::StatusOr<MessageExt> message = CheckedMessage(request);
    if (!message.ok()) {
      spdlog::error("transaction check from {} unreadable: {}", broker_addr,
                    message.status().ToString());
      return;
    }
    TransactionState state = TransactionState::kUnknown;
    try {
      if (listener_) state = listener_(*message);
    } catch (const std::exception& e) {
      // This is the producer's own thread: an escaping exception would end
      // the process.
      spdlog::warn("producer {}: check listener threw on transaction {}: {}",
                   group_, message->msg_id, e.what());
      state = TransactionState::kUnknown;
    }
    std::string id = check.transaction_id();
    if (id.empty()) id = message->msg_id;
    absl::StatusOr<remoting::Command> response =
        instance_->remoting()->InvokeSync(
            broker_addr,
            MakeEndTransaction(group_, check.tran_state_table_offset(),
                               check.commit_log_offset(), id, state,
                               /*from_check=*/true),
            timeout_);
    absl::Status status =
        response.ok() ? ResponseStatus(*response) : response.status();
    if (!status.ok()) {
      spdlog::warn("transaction {} ({} after a check) not recorded by {}: {}",
                   id, TransactionStateName(state), broker_addr,
                   status.ToString());
    }
  }

  const std::string group_;
  const TransactionCheckListener listener_;
  const std::shared_ptr<ClientInstance> instance_;
  const absl::Duration timeout_;
  ThreadPool pool_;
};

TransactionProducer::TransactionProducer(std::string group,
                                         ProducerOptions options,
                                         TransactionCheckListener listener)
    : options_(options),
      listener_(std::move(listener)),
      producer_(std::move(group), std::move(options)) {}

TransactionProducer::~TransactionProducer() { Shutdown(); }

absl::Status TransactionProducer::Start() {
  absl::ReleasableMutexLock lock(&mu_);
  if (checker_ != nullptr) {
    return absl::FailedPreconditionError("producer already started");
  }
  if (absl::Status s = producer_.Start(); !s.ok()) return s;
  absl::StatusOr<std::shared_ptr<ClientInstance>> instance =
      ClientInstance::Get(options_.client);
  if (!instance.ok()) {
    producer_.Shutdown();
    return instance.status();
  }
  auto checker = std::make_shared<Checker>(group(), listener_, *instance,
                                           options_.send_timeout);
  std::weak_ptr<Checker> weak = checker;
  if (absl::Status s = (*instance)->RegisterTransactionCheck(
          group(),
          [weak](const std::string& addr, remoting::Command request) {
            if (std::shared_ptr<Checker> live = weak.lock()) {
              live->Enqueue(addr, std::move(request));
            }
          });
      !s.ok()) {
    producer_.Shutdown();
    return s;
  }
  instance_ = *instance;
  checker_ = std::move(checker);
  announced_to_.clear();
  lock.Release();
  // Reachable for checks at once: the halves an earlier producer of this
  // group left open wait for an answer from this one.
  (*instance)->SendHeartbeats();
  return absl::OkStatus();
}

void TransactionProducer::Shutdown() {
  std::shared_ptr<ClientInstance> instance;
  std::shared_ptr<Checker> checker;
  {
    absl::MutexLock lock(&mu_);
    if (checker_ != nullptr && checker_->InCheckThread()) {
      // Stopping the checker joins its thread, this one.
      spdlog::error(
          "producer {}: Shutdown() called from the check listener is "
          "ignored; call it from another thread",
          group());
      return;
    }
    instance = std::move(instance_);
    checker = std::move(checker_);
  }
  if (checker == nullptr) return;
  instance->UnregisterTransactionCheck(group());
  checker->Shutdown();
  producer_.Shutdown();
}

absl::StatusOr<TransactionSendResult> TransactionProducer::SendInTransaction(
    const Message& message, const LocalTransactionExecutor& executor) {
  std::shared_ptr<ClientInstance> instance;
  {
    absl::MutexLock lock(&mu_);
    instance = instance_;
  }
  if (instance == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat("producer ", group(), " is not started"));
  }
  if (message.delay_level != 0) {
    return absl::InvalidArgumentError(
        "transactional messages cannot have a delay level");
  }
  if (absl::Status s = ValidateUserProperties(message.properties); !s.ok()) {
    return s;
  }
  Message half = message;
  half.properties[std::string(kPropertyTransactionPrepared)] = "true";
  half.properties[std::string(kPropertyProducerGroup)] = group();
  absl::StatusOr<SendResult> sent = producer_.SendSyncSetBy(
      half, PropertiesSetBy::kClient, options_.send_timeout);
  if (!sent.ok()) return sent.status();

  bool first_to_broker = false;
  {
    absl::MutexLock lock(&mu_);
    first_to_broker = announced_to_.insert(sent->broker_name).second;
  }
  // A broker only asks back producers it heard from: keep heartbeating the
  // brokers holding our halves, starting now rather than at the next round.
  if (first_to_broker) {
    instance->AddHeartbeatTarget(sent->broker_name);
    instance->SendHeartbeats();
  }

  TransactionSendResult result;
  result.send = *std::move(sent);
  result.transaction_id = result.send.msg_id;
  if (result.send.status != "SEND_OK") {
    // The broker stored the half but could not flush or replicate it in
    // time, so it may not survive the broker: as in RocketMQ, the local
    // transaction does not run and the half is rolled back, rather than
    // committing locally a transaction whose message could be lost.
    result.local_state = TransactionState::kRollback;
  } else {
    MessageExt local;
    static_cast<Message&>(local) = message;
    local.msg_id = result.send.msg_id;
    local.offset_msg_id = result.send.offset_msg_id;
    local.broker_name = result.send.broker_name;
    local.queue_id = result.send.queue_id;
    try {
      result.local_state =
          executor ? executor(local) : TransactionState::kUnknown;
    } catch (const std::exception& e) {
      // The half is stored: the broker still hears UNKNOWN and asks later.
      spdlog::warn("producer {}: local transaction executor threw on {}: {}",
                   group(), local.msg_id, e.what());
      result.local_state = TransactionState::kUnknown;
    }
  }

  int64_t commit_log_offset = 0;
  if (!ParseOffsetMessageId(result.send.offset_msg_id, &commit_log_offset)) {
    result.end_error = absl::StrCat("the broker answered the bad message id ",
                                    result.send.offset_msg_id);
    return result;
  }
  absl::StatusOr<remoting::Command> response = instance->CallBroker(
      result.send.broker_name,
      MakeEndTransaction(group(), result.send.queue_offset, commit_log_offset,
                         result.transaction_id, result.local_state,
                         /*from_check=*/false),
      options_.send_timeout);
  absl::Status status =
      response.ok() ? ResponseStatus(*response) : response.status();
  if (!status.ok()) {
    // The broker asks the check listener later, as in RocketMQ.
    result.end_error = status.ToString();
    spdlog::warn("transaction {} ({}) not recorded by broker {}: {}",
                 result.transaction_id,
                 TransactionStateName(result.local_state),
                 result.send.broker_name, result.end_error);
  }
  return result;
}

}  // namespace cometmq::client
