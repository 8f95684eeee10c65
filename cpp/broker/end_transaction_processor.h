#ifndef COMETMQ_BROKER_END_TRANSACTION_PROCESSOR_H_
#define COMETMQ_BROKER_END_TRANSACTION_PROCESSOR_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "cpp/broker/broker_config.h"
#include "cpp/broker/thread_pool.h"
#include "cpp/remoting/remoting_server.h"
#include "cpp/store/message_store.h"

namespace cometmq::broker {

// END_TRANSACTION (RocketMQ's EndTransactionProcessor). Handle() queues the
// work on the send pool. The request names a half by its commit log offset
// and half-queue offset; the broker checks both and the producer group
// against the stored half, then:
//   COMMIT   re-puts the real message to its real topic and queue
//            (RestoreFromHalf) and, once stored, appends the op record;
//   ROLLBACK appends the op record only;
//   UNKNOWN  (no transaction type) changes nothing: the check service asks
//            the producer group again later.
// The answer is SUCCESS only after everything was stored, so a producer that
// gets it knows the outcome is durable (under SYNC_FLUSH) and will never be
// asked about this half again. A transaction ended again with the same
// outcome is answered SUCCESS without a second re-put (while this process
// remembers it: the last kRememberedTransactions ids); with the other
// outcome it is refused.
class EndTransactionProcessor {
 public:
  EndTransactionProcessor(const BrokerConfig& config,
                          store::MessageStore* store, ThreadPool* pool);

  void Handle(remoting::Command request, remoting::Responder responder);

  int64_t committed() const { return committed_.load(); }
  int64_t rolled_back() const { return rolled_back_.load(); }

 private:
  static constexpr size_t kRememberedTransactions = 65536;
  // ended_ value while a request is storing the outcome.
  static constexpr int32_t kInFlight = -1;

  void Process(const remoting::Command& request,
               const remoting::Responder& responder);
  // The outcome of `id` is stored (type) or was not (kInFlight is dropped).
  void Finish(const std::string& id, int32_t type, bool stored);

  const BrokerConfig& config_;
  store::MessageStore* const store_;
  ThreadPool* const pool_;
  std::atomic<int64_t> committed_{0};
  std::atomic<int64_t> rolled_back_{0};

  absl::Mutex mu_;
  // Transaction id -> transaction type it was ended with, or kInFlight.
  absl::flat_hash_map<std::string, int32_t> ended_ ABSL_GUARDED_BY(mu_);
  std::deque<std::string> ended_order_ ABSL_GUARDED_BY(mu_);
};

}  // namespace cometmq::broker

#endif  // COMETMQ_BROKER_END_TRANSACTION_PROCESSOR_H_
