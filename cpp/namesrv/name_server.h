#ifndef COMETMQ_NAMESRV_NAME_SERVER_H_
#define COMETMQ_NAMESRV_NAME_SERVER_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "cpp/namesrv/namesrv_config.h"
#include "cpp/namesrv/request_processor.h"
#include "cpp/namesrv/route_table.h"
#include "cpp/remoting/remoting_server.h"

namespace cometmq::namesrv {

// The NameServer service: answers route requests over the remoting server,
// drops brokers whose connection closes, and runs one thread
// ("namesrv-scan") that expires brokers not heard from in
// brokerExpiredMillis. Start() once; Stop() is graceful (requests being
// handled are answered), idempotent, and leaves no thread behind.
class NameServer {
 public:
  explicit NameServer(NamesrvConfig config);
  ~NameServer();

  NameServer(const NameServer&) = delete;
  NameServer& operator=(const NameServer&) = delete;

  absl::Status Start();
  void Stop();

  // The port listened on (the chosen one when listenPort is 0).
  uint16_t port() const { return server_->port(); }
  const NamesrvConfig& config() const { return config_; }

 private:
  void ScanLoop();
  // Waits one scan interval; false when Stop() was called meanwhile.
  bool WaitForNextScan();

  const NamesrvConfig config_;
  RouteTable routes_;
  RequestProcessor processor_;
  std::unique_ptr<remoting::RemotingServer> server_;
  std::thread scan_thread_;
  // Set by Stop() before it closes the connections: the brokers on them are
  // not leaving, so their routes are not dropped one by one (nor logged).
  std::atomic<bool> closing_{false};

  // Serializes Start() and Stop() so a Stop() racing another returns only
  // once everything has stopped.
  absl::Mutex lifecycle_mu_;
  bool started_ ABSL_GUARDED_BY(lifecycle_mu_) = false;
  bool stopped_ ABSL_GUARDED_BY(lifecycle_mu_) = false;

  absl::Mutex scan_mu_;
  absl::CondVar scan_cv_;
  bool stopping_ ABSL_GUARDED_BY(scan_mu_) = false;
};

}  // namespace cometmq::namesrv

#endif  // COMETMQ_NAMESRV_NAME_SERVER_H_
