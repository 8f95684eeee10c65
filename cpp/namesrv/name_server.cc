#include "cpp/namesrv/name_server.h"

#include <pthread.h>

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "cpp/common/monotonic_clock.h"
#include "spdlog/spdlog.h"

namespace cometmq::namesrv {
namespace {

remoting::ServerOptions ServerOptionsFor(const NamesrvConfig& config) {
  remoting::ServerOptions options;
  options.name = "namesrv";
  options.bind_address = config.bindAddress;
  options.port = static_cast<uint16_t>(config.listenPort);
  options.io_threads = config.serverSelectorThreads;
  options.connection.idle_timeout =
      absl::Seconds(config.serverChannelMaxIdleTimeSeconds);
  return options;
}

}  // namespace

NameServer::NameServer(NamesrvConfig config)
    : config_(std::move(config)),
      processor_(&routes_),
      server_(std::make_unique<remoting::RemotingServer>(
          ServerOptionsFor(config_))) {}

NameServer::~NameServer() { Stop(); }

absl::Status NameServer::Start() {
  absl::MutexLock lock(&lifecycle_mu_);
  if (started_) {
    return absl::FailedPreconditionError("name server was already started");
  }
  if (absl::Status s = config_.Validate(); !s.ok()) return s;
  for (int32_t code : RequestProcessor::Codes()) {
    server_->RegisterHandler(
        code, [this](remoting::Command request, remoting::Responder responder) {
          // Liveness is on the monotonic clock: a step of the wall clock
          // must not expire every broker at once, or none for hours.
          responder.Respond(processor_.Process(
              request, responder.remote_address(), MonotonicNow()));
        });
  }
  server_->SetCloseListener([this](const std::string& remote) {
    if (closing_.load()) return;
    std::vector<std::string> gone = routes_.OnConnectionClosed(remote);
    if (!gone.empty()) {
      spdlog::info("connection {} closed; removed brokers {}", remote,
                   absl::StrJoin(gone, ", "));
    }
  });
  if (absl::Status s = server_->Start(); !s.ok()) return s;
  started_ = true;
  scan_thread_ = std::thread([this] { ScanLoop(); });
  return absl::OkStatus();
}

void NameServer::Stop() {
  absl::MutexLock lock(&lifecycle_mu_);
  if (!started_ || stopped_) return;
  stopped_ = true;
  // The network goes first so no registration arrives after the last scan.
  closing_.store(true);
  server_->Stop();
  {
    absl::MutexLock scan_lock(&scan_mu_);
    stopping_ = true;
    scan_cv_.Signal();
  }
  scan_thread_.join();
}

bool NameServer::WaitForNextScan() {
  absl::MutexLock lock(&scan_mu_);
  const absl::Time deadline = absl::Now() + config_.scan_interval();
  // WaitWithDeadline returns true on timeout; false also on spurious wakeups.
  while (!stopping_ && !scan_cv_.WaitWithDeadline(&scan_mu_, deadline)) {
  }
  return !stopping_;
}

void NameServer::ScanLoop() {
  pthread_setname_np(pthread_self(), "namesrv-scan");
  while (WaitForNextScan()) {
    std::vector<std::string> expired =
        routes_.ScanExpiredBrokers(MonotonicNow(), config_.broker_expiry());
    if (!expired.empty()) {
      spdlog::warn("brokers not heard from in {} ms removed: {}",
                   config_.brokerExpiredMillis, absl::StrJoin(expired, ", "));
    }
  }
}

}  // namespace cometmq::namesrv
