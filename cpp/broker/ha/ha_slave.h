#ifndef COMETMQ_BROKER_HA_HA_SLAVE_H_
#define COMETMQ_BROKER_HA_HA_SLAVE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "cpp/remoting/remoting_client.h"
#include "cpp/store/message_store.h"

namespace cometmq::broker {

struct HaSlaveOptions {
  std::string broker_name;
  int64_t broker_id = 1;
  std::string slave_addr;  // this broker's address, for the master's status
  int64_t batch_bytes = 1 << 20;
  // How long the master may hold a request when nothing is new; also how
  // often an idle slave tells the master it is alive.
  absl::Duration idle_wait = absl::Seconds(1);
  absl::Duration retry_interval = absl::Seconds(1);
  // The master's HA address ("" while unknown: haMasterAddress, or what the
  // NameServers answered to the last registration).
  std::function<std::string()> master_ha_addr;
  // Called while the master's address is unknown (re-register to learn it).
  std::function<void()> on_no_master;
};

struct ReplicationStatus {
  std::string master_ha_addr;
  bool connected = false;
  int64_t offset = 0;             // this slave's commit log end
  int64_t master_max_offset = 0;  // as of the last answer
  std::string last_error;
};

// The slave side of replication, on one thread ("ha-slave"): asks the master
// for its commit log from this store's end, appends exactly the bytes it gets
// (the store checks each record) and asks again, which acknowledges them.
// Guarantee: nothing is appended that does not continue this store's log at
// its end; a refusal by the master (diverged log) is logged and retried,
// never worked around. Stop() ends the in-flight request and joins.
class HaSlave {
 public:
  HaSlave(HaSlaveOptions options, store::MessageStore* store);
  ~HaSlave();
  HaSlave(const HaSlave&) = delete;
  HaSlave& operator=(const HaSlave&) = delete;

  void Start();
  void Stop();
  ReplicationStatus Status() const;

 private:
  void Loop();
  // One request/answer/append round; false when the loop should pause.
  bool TransferOnce(const std::string& master);
  proto::HaTransferRequest MakeRequest() const;
  void SetError(std::string error);
  // Waits `d` unless stopping; false once stopping.
  bool Pause(absl::Duration d);

  const HaSlaveOptions options_;
  store::MessageStore* const store_;
  remoting::RemotingClient client_;
  std::thread thread_;

  mutable absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  ReplicationStatus status_ ABSL_GUARDED_BY(mu_);
};

}  // namespace cometmq::broker

#endif  // COMETMQ_BROKER_HA_HA_SLAVE_H_
