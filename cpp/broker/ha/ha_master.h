#ifndef COMETMQ_BROKER_HA_HA_MASTER_H_
#define COMETMQ_BROKER_HA_HA_MASTER_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "cpp/remoting/remoting_server.h"
#include "cpp/store/message_store.h"
#include "cpp/store/put_result.h"

namespace cometmq::broker {

struct HaMasterOptions {
  std::string bind_address = "0.0.0.0";
  uint16_t port = 0;
  // A SYNC_MASTER send not on a slave within this is FLUSH_SLAVE_TIMEOUT
  // (slaveTimeout).
  absl::Duration slave_ack_timeout = absl::Seconds(2);
  // A slave further behind than this does not count as in sync: sends get
  // SLAVE_NOT_AVAILABLE at once instead of waiting for it (haMaxGapNotInSync).
  int64_t max_gap_not_in_sync = int64_t{256} << 20;
  // A slave not heard from for this long is dropped (haHousekeepingInterval).
  absl::Duration slave_expiry = absl::Seconds(20);
  int64_t segment_size = 0;  // mapedFileSizeCommitLog; slaves must match
};

// Status of one connected slave, for brokerStatus.
struct SlaveStatus {
  std::string remote;      // connection's ip:port
  std::string slave_addr;  // the slave broker's own address
  int64_t broker_id = 0;
  int64_t acked_offset = 0;  // the slave's commit log end
  absl::Time last_seen;
};

// The master side of replication. Serves HA_TRANSFER on its own port: each
// request carries the slave's commit log end (its acknowledgement) and is
// answered with whole records from there, or held until records arrive.
//
// Guarantees: a slave only ever receives bytes that are in the master's log
// at the offsets they occupy there; a slave whose log is ahead of the
// master's, differs in its last bytes, or uses another segment size is
// refused with an error saying so. WaitForSlave() completes exactly once,
// never blocks the caller, and reports kOk only once a slave acknowledged
// the offset.
class HaMaster {
 public:
  using Done = std::function<void(store::PutStatus)>;

  HaMaster(HaMasterOptions options, store::MessageStore* store);
  ~HaMaster();
  HaMaster(const HaMaster&) = delete;
  HaMaster& operator=(const HaMaster&) = delete;

  absl::Status Start();
  // Answers held requests, fails waiting sends, stops the port.
  void Stop();
  uint16_t port() const;

  // The store appended up to `end_offset` (called on the appending thread).
  void OnAppended(int64_t end_offset);
  // SYNC_MASTER: `done` runs once a slave has everything below `end_offset`
  // (kOk), at once when no slave is in sync (kSlaveNotAvailable), or after
  // slave_ack_timeout (kFlushSlaveTimeout).
  void WaitForSlave(int64_t end_offset, Done done);

  std::vector<SlaveStatus> Slaves() const;
  // Waits up to `limit` until every connected slave has acknowledged
  // `end_offset` (at shutdown, after the last write); false on timeout.
  bool WaitForSlavesAt(int64_t end_offset, absl::Duration limit);

 private:
  struct Held {
    remoting::Command request;  // header only
    remoting::Responder responder;
    int64_t offset;
    int64_t max_bytes;
    absl::Time deadline;
  };
  struct Waiter {
    absl::Time deadline;
    Done done;
  };

  void HandleTransfer(remoting::Command request, remoting::Responder responder);
  // Error text when the slave's log cannot continue from `offset`.
  std::string CheckSlaveLog(const proto::HaTransferRequest& req) const;
  bool TryAnswer(const remoting::Command& request,
                 const remoting::Responder& responder, int64_t offset,
                 int64_t max_bytes) const;
  void Answer(const remoting::Command& request,
              const remoting::Responder& responder, int64_t offset,
              const store::RecordSlice& slice) const;
  void AnswerEmpty(const Held& held) const;
  // Waiters no slave can satisfy any more (none in sync), removed.
  std::vector<Done> TakeWaitersWithoutSlave()
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void LogRefusal(const std::string& remote, const std::string& slave_addr,
                  const std::string& error);
  void Acknowledge(const std::string& remote,
                   const proto::HaTransferRequest& req);
  void OnConnectionClosed(const std::string& remote);
  bool AnySlaveInSync(int64_t end_offset) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void TimerLoop();

  const HaMasterOptions options_;
  store::MessageStore* const store_;
  std::unique_ptr<remoting::RemotingServer> server_;
  std::thread timer_;  // "ha-master": expires held requests and waits

  mutable absl::Mutex mu_;
  absl::CondVar timer_cv_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  absl::flat_hash_map<std::string, SlaveStatus> slaves_ ABSL_GUARDED_BY(mu_);
  int64_t max_acked_ ABSL_GUARDED_BY(mu_) = 0;
  // Last refusal per connection, so a retrying slave is logged once.
  absl::flat_hash_map<std::string, std::string> refused_ ABSL_GUARDED_BY(mu_);
  std::vector<Held> held_ ABSL_GUARDED_BY(mu_);
  std::multimap<int64_t, Waiter> waiters_ ABSL_GUARDED_BY(mu_);
};

}  // namespace cometmq::broker

#endif  // COMETMQ_BROKER_HA_HA_MASTER_H_
