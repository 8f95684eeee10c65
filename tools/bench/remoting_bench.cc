// Round-trip benchmark of the remoting layer: an in-process server answers
// small requests; N client connections keep M requests in flight each, or
// (--syncThreads=N) N threads share one client and each waits for its
// answer before the next request, the producer benchmark's shape with no
// broker work behind it. Prints requests/s and latency percentiles.
//
//   bazel run -c opt //tools/bench:remoting -- --connections=4 --inflight=64
//   --seconds=10 --bodySize=128
//   bazel run -c opt //tools/bench:remoting -- --syncThreads=16 --seconds=10
#include <atomic>
#include <cstdio>
#include <memory>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "cpp/common/config_binder.h"
#include "cpp/common/lock_checking.h"
#include "cpp/remoting/remoting_client.h"
#include "cpp/remoting/remoting_server.h"
#include "tools/bench/flags.h"
#include "tools/bench/latency_recorder.h"

namespace cometmq::bench {
namespace {

using remoting::Command;

struct Options {
  int32_t connections = 4;
  int32_t inflight = 64;
  int32_t seconds = 10;
  int32_t body_size = 128;
  int32_t server_threads = 1;
  int32_t sync_threads = 0;  // > 0: threads sending synchronous requests
};

Command MakeBenchRequest(const Options& options) {
  Command request = remoting::MakeRequest(proto::SEND_MESSAGE);
  request.body.assign(static_cast<size_t>(options.body_size), 'x');
  return request;
}

// One connection keeping `inflight` requests outstanding until `stop`.
class Driver {
 public:
  Driver(const std::string& address, const Options& options,
         std::atomic<bool>* stop)
      : address_(address), options_(options), stop_(stop) {}

  void Start() {
    for (int i = 0; i < options_.inflight; ++i) Issue();
  }
  void WaitDone() { done_.WaitForNotification(); }
  LatencyRecorder& latencies() { return latencies_; }
  int64_t errors() const { return errors_; }

 private:
  void Issue() {
    Command request = MakeBenchRequest(options_);
    absl::Time sent = absl::Now();
    outstanding_.fetch_add(1);
    client_.InvokeAsync(address_, std::move(request), absl::Seconds(10),
                        [this, sent](absl::StatusOr<Command> response) {
                          OnResponse(sent, response.ok());
                        });
  }

  void OnResponse(absl::Time sent, bool ok) {
    if (ok) {
      latencies_.Add(absl::ToInt64Nanoseconds(absl::Now() - sent));
    } else {
      ++errors_;
    }
    if (!stop_->load()) {
      Issue();
    }
    if (outstanding_.fetch_sub(1) == 1) done_.Notify();
  }

  const std::string address_;
  const Options options_;
  std::atomic<bool>* stop_;
  remoting::RemotingClient client_;
  LatencyRecorder latencies_;
  int64_t errors_ = 0;
  std::atomic<int64_t> outstanding_{0};
  absl::Notification done_;
};

// Threads sharing one client, each sending its next request once the last
// is answered, until `stop`.
class SyncDrivers {
 public:
  SyncDrivers(const std::string& address, const Options& options,
              std::atomic<bool>* stop)
      : address_(address), options_(options), stop_(stop) {}

  void Start() {
    latencies_.resize(static_cast<size_t>(options_.sync_threads));
    for (int i = 0; i < options_.sync_threads; ++i) {
      threads_.emplace_back([this, i] { Loop(&latencies_[i]); });
    }
  }
  void WaitDone() {
    for (auto& t : threads_) t.join();
  }
  void Collect(LatencyRecorder* all) const {
    for (const auto& l : latencies_) all->Merge(l);
  }
  int64_t errors() const { return errors_; }

 private:
  void Loop(LatencyRecorder* latencies) {
    while (!stop_->load()) {
      absl::Time sent = absl::Now();
      if (client_
              .InvokeSync(address_, MakeBenchRequest(options_),
                          absl::Seconds(10))
              .ok()) {
        latencies->Add(absl::ToInt64Nanoseconds(absl::Now() - sent));
      } else {
        errors_.fetch_add(1);
      }
    }
  }

  const std::string address_;
  const Options options_;
  std::atomic<bool>* stop_;
  remoting::RemotingClient client_;
  std::vector<LatencyRecorder> latencies_;
  std::vector<std::thread> threads_;
  std::atomic<int64_t> errors_{0};
};

int Run(const Options& options) {
  remoting::ServerOptions server_options;
  server_options.bind_address = "127.0.0.1";
  server_options.io_threads = options.server_threads;
  remoting::RemotingServer server(server_options);
  server.RegisterHandler(
      proto::SEND_MESSAGE, [](Command request, remoting::Responder responder) {
        responder.Respond(remoting::MakeResponse(request, proto::SUCCESS));
      });
  if (absl::Status s = server.Start(); !s.ok()) {
    std::fprintf(stderr, "%s\n", s.ToString().c_str());
    return 1;
  }
  std::string address = absl::StrCat("127.0.0.1:", server.port());
  std::atomic<bool> stop{false};
  std::vector<std::unique_ptr<Driver>> drivers;
  std::unique_ptr<SyncDrivers> sync_drivers;
  if (options.sync_threads > 0) {
    sync_drivers = std::make_unique<SyncDrivers>(address, options, &stop);
  } else {
    for (int i = 0; i < options.connections; ++i) {
      drivers.push_back(std::make_unique<Driver>(address, options, &stop));
    }
  }
  absl::Time start = absl::Now();
  for (auto& d : drivers) d->Start();
  if (sync_drivers) sync_drivers->Start();
  absl::SleepFor(absl::Seconds(options.seconds));
  stop.store(true);
  for (auto& d : drivers) d->WaitDone();
  if (sync_drivers) sync_drivers->WaitDone();
  double elapsed = absl::ToDoubleSeconds(absl::Now() - start);
  LatencyRecorder all;
  int64_t errors = 0;
  for (auto& d : drivers) {
    all.Merge(d->latencies());
    errors += d->errors();
  }
  if (sync_drivers) {
    sync_drivers->Collect(&all);
    errors += sync_drivers->errors();
  }
  if (sync_drivers) {
    std::printf(
        "remoting round trip: 1 connection, %d threads each waiting for its "
        "answer, %d B body, %d server io threads\n",
        options.sync_threads, options.body_size, options.server_threads);
  } else {
    std::printf(
        "remoting round trip: %d connections x %d in flight, %d B body, %d "
        "server io threads\n",
        options.connections, options.inflight, options.body_size,
        options.server_threads);
  }
  std::printf("  %.0f requests/s over %.1f s (%zu answered, %lld errors)\n",
              static_cast<double>(all.count()) / elapsed, elapsed, all.count(),
              static_cast<long long>(errors));
  std::printf("  latency %s\n", all.Summary().c_str());
  server.Stop();
  return errors == 0 ? 0 : 1;
}

}  // namespace
}  // namespace cometmq::bench

int main(int argc, char** argv) {
  cometmq::ConfigureLockOrderChecking();
  cometmq::bench::Options options;
  cometmq::ConfigBinder flags;
  flags.Bind("connections", &options.connections);
  flags.Bind("inflight", &options.inflight);
  flags.Bind("seconds", &options.seconds);
  flags.Bind("bodySize", &options.body_size);
  flags.Bind("serverThreads", &options.server_threads);
  flags.Bind("syncThreads", &options.sync_threads);
  if (!cometmq::bench::ParseFlags(argc, argv, flags)) return 2;
  return cometmq::bench::Run(options);
}
