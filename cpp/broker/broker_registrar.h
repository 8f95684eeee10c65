#ifndef COMETMQ_BROKER_BROKER_REGISTRAR_H_
#define COMETMQ_BROKER_BROKER_REGISTRAR_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/blocking_counter.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "cpp/broker/broker_config.h"
#include "cpp/broker/topic_config_manager.h"
#include "cpp/remoting/remoting_client.h"

namespace cometmq::broker {

// The requests of one registration round: `base` (addresses, data
// version) with `topics`, all in one request when there are at most
// `split_size`, else in parts of `split_size` topics in order, each marked
// with `round_id` and its place (RocketMQ 5's split registration), so the
// NameServer merges them before it drops topics the table no longer has.
std::vector<proto::RegisterBrokerRequest> SplitRegistration(
    const proto::RegisterBrokerRequest& base,
    std::vector<proto::TopicConfig> topics, int32_t split_size,
    uint64_t round_id);

// Keeps this broker registered with every NameServer: once in Start()
// (synchronously, so routes exist when the broker reports ready), then on
// the "broker-register" thread every registerBrokerIntervalMillis and at
// once after Trigger() (a topic changed). Stop() joins the thread and
// unregisters from every NameServer; no registration reaches a NameServer
// after its unregistration (RegisterAll() does nothing once stopping, and
// one in progress finishes first). Each round asks every NameServer at
// once, as RocketMQ's registerBrokerAll does, so a NameServer that does not
// answer costs the round one request timeout (3 s) and does not delay the
// others' answers; it is logged and retried next round. Rounds are
// serialized, so a round that starts meanwhile (a topic changed) still
// waits for that timeout, as in RocketMQ. A topic table
// over splitRegistrationSize goes to each NameServer as parts of one round,
// one after another; a failed part ends that NameServer's round (which
// then removes nothing there). Stop() waits for a registration in progress
// (it sends no further part) and for unregistering from all NameServers at
// once: at most about one timeout each. For a slave, the master address is
// the answer of the last NameServer in namesrvAddr order that answered.
class BrokerRegistrar {
 public:
  BrokerRegistrar(const BrokerConfig& config, std::string broker_addr,
                  std::string ha_addr, const TopicConfigManager* topics);
  ~BrokerRegistrar();

  BrokerRegistrar(const BrokerRegistrar&) = delete;
  BrokerRegistrar& operator=(const BrokerRegistrar&) = delete;

  void Start();
  // Registers on the registration thread soon.
  void Trigger();
  // Registers with every NameServer now, on the calling thread; nothing
  // once Stop() began.
  void RegisterAll();
  void Stop();

  const std::vector<std::string>& namesrv_addrs() const { return addrs_; }
  // For a slave: its master's broker and HA addresses as the NameServers
  // last answered ("" while no master is registered).
  std::string master_addr() const;
  std::string master_ha_addr() const;

 private:
  void Loop();
  bool stopping() const;
  void UnregisterAll() ABSL_EXCLUSIVE_LOCKS_REQUIRED(register_mu_);
  void RememberMaster(const proto::RegisterBrokerResponse& answer);
  // This round's requests, built from one snapshot of the topic table.
  std::vector<remoting::Command> BuildRound()
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(register_mu_);
  // Sends part `index` of `parts` to `addr`, then (from its callback) the
  // parts after it; stores the last answer in `answer` and counts
  // `outstanding` down once, when the last part was answered or a part
  // failed.
  void SendParts(const std::string& addr,
                 std::shared_ptr<const std::vector<remoting::Command>> parts,
                 size_t index,
                 std::optional<proto::RegisterBrokerResponse>* answer,
                 absl::BlockingCounter* outstanding);

  const BrokerConfig& config_;
  const std::string broker_addr_;
  const std::string ha_addr_;
  const TopicConfigManager* const topics_;
  std::vector<std::string> addrs_;
  remoting::RemotingClient client_;
  std::thread thread_;

  // Held across a whole RegisterAll: the NameServer takes a master's
  // registration as its whole topic table, so an older snapshot must never
  // reach it after a newer one (the registration thread and an admin's
  // topic update both register).
  absl::Mutex register_mu_;
  mutable absl::Mutex mu_;
  absl::CondVar cv_;
  bool triggered_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool started_ = false;
  // Distinguishes the rounds of this process from each other and (being
  // random at start) from those of an earlier process at this address.
  uint64_t next_round_id_ ABSL_GUARDED_BY(register_mu_);
  mutable absl::Mutex master_mu_;
  std::string master_addr_ ABSL_GUARDED_BY(master_mu_);
  std::string master_ha_addr_ ABSL_GUARDED_BY(master_mu_);
};

}  // namespace cometmq::broker

#endif  // COMETMQ_BROKER_BROKER_REGISTRAR_H_
