#ifndef COMETMQ_BROKER_BROKER_REGISTRAR_H_
#define COMETMQ_BROKER_BROKER_REGISTRAR_H_

#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "cpp/broker/broker_config.h"
#include "cpp/broker/topic_config_manager.h"
#include "cpp/remoting/remoting_client.h"

namespace cometmq::broker {

// Keeps this broker registered with every NameServer: once in Start()
// (synchronously, so routes exist when the broker reports ready), then on
// the "broker-register" thread every registerBrokerIntervalMillis and at
// once after Trigger() (a topic changed). Stop() joins the thread and
// unregisters from every NameServer; no registration reaches a NameServer
// after its unregistration (RegisterAll() does nothing once stopping, and
// one in progress finishes first). A NameServer that does not answer is
// logged and retried next round; it never blocks the others for longer
// than one request timeout (3 s). Stop() takes at most one timeout per
// NameServer for a registration in progress, then one for unregistering
// from all of them at once.
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
  mutable absl::Mutex master_mu_;
  std::string master_addr_ ABSL_GUARDED_BY(master_mu_);
  std::string master_ha_addr_ ABSL_GUARDED_BY(master_mu_);
};

}  // namespace cometmq::broker

#endif  // COMETMQ_BROKER_BROKER_REGISTRAR_H_
