#ifndef COMETMQ_CLIENT_TRANSACTION_PRODUCER_H_
#define COMETMQ_CLIENT_TRANSACTION_PRODUCER_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "cpp/client/message.h"
#include "cpp/client/producer.h"

namespace cometmq::client {

enum class TransactionState { kCommit, kRollback, kUnknown };

const char* TransactionStateName(TransactionState state);

// Runs the local transaction of a message whose half is stored.
using LocalTransactionExecutor =
    std::function<TransactionState(const MessageExt& message)>;
// Tells a broker asking back what became of a transaction. The message is
// the half as stored, with its real topic and queue, msg_id = transaction id.
using TransactionCheckListener =
    std::function<TransactionState(const MessageExt& message)>;

struct TransactionSendResult {
  SendResult send;             // of the half; msg_id is the transaction id
  std::string transaction_id;  // = send.msg_id (the UNIQ_KEY), as RocketMQ
  TransactionState local_state = TransactionState::kUnknown;
  // Empty when the broker recorded the outcome; else why not (the broker
  // then asks the check listener later).
  std::string end_error;
};

// Sends transactional messages (RocketMQ's TransactionMQProducer):
// SendInTransaction stores the message as a half (TRAN_MSG=true,
// PGROUP=group) that no consumer sees, runs the local executor, and sends
// END_TRANSACTION with its answer as a request the broker acknowledges once
// the outcome is stored: COMMIT delivers the message, ROLLBACK discards it,
// UNKNOWN leaves it to the broker's check-back. Checks arrive as
// CHECK_TRANSACTION_STATE on the client's connection; they run the check
// listener on this producer's own thread ("client-txchk") and answer with
// END_TRANSACTION. A broker only asks producers it has heard from, so from
// Start() on every broker the NameServers list gets heartbeats (halves left
// open by an earlier producer of the group are asked of this one), and the
// brokers holding this producer's halves from the first half on (see
// ClientInstance::AddHeartbeatTarget).
//
// An exception (std::exception) out of the executor or the listener counts
// as UNKNOWN, as in RocketMQ.
//
// Guarantees: the executor runs only after the half was stored with
// SEND_OK, on the caller's thread (a half answered FLUSH_DISK_TIMEOUT,
// FLUSH_SLAVE_TIMEOUT or SLAVE_NOT_AVAILABLE is rolled back instead, as in
// RocketMQ); the listener never runs on an I/O thread; after
// Shutdown() returns, no check is running or will run. Shutdown from the
// check listener is refused with an error log (it would join its own
// thread).
class TransactionProducer {
 public:
  TransactionProducer(std::string group, ProducerOptions options,
                      TransactionCheckListener listener);
  ~TransactionProducer();

  TransactionProducer(const TransactionProducer&) = delete;
  TransactionProducer& operator=(const TransactionProducer&) = delete;

  absl::Status Start();
  void Shutdown();

  // InvalidArgument for a message with a delay level; send errors as
  // DefaultProducer::SendSync (the executor does not run then).
  absl::StatusOr<TransactionSendResult> SendInTransaction(
      const Message& message, const LocalTransactionExecutor& executor);

  const std::string& group() const { return producer_.group(); }

 private:
  class Checker;

  const ProducerOptions options_;
  const TransactionCheckListener listener_;
  DefaultProducer producer_;

  absl::Mutex mu_;
  std::shared_ptr<ClientInstance> instance_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<Checker> checker_ ABSL_GUARDED_BY(mu_);
  // Brokers sent a heartbeat since Start(), by name.
  absl::flat_hash_set<std::string> announced_to_ ABSL_GUARDED_BY(mu_);
};

// The END_TRANSACTION request for a half (transaction type from `state`).
remoting::Command MakeEndTransaction(const std::string& group,
                                     int64_t half_queue_offset,
                                     int64_t half_commit_log_offset,
                                     const std::string& transaction_id,
                                     TransactionState state, bool from_check);

}  // namespace cometmq::client

#endif  // COMETMQ_CLIENT_TRANSACTION_PRODUCER_H_
