// Consumer benchmark, like RocketMQ's benchmark/Consumer: a push consumer of
// the topic (from the last offset by default) that counts what it receives
// for a given time. Every 10 s it prints the window's receive TPS and the
// average and max end-to-end latency, born-to-consume (now - born
// timestamp) and store-to-consume (now - store timestamp), in milliseconds
// (the timestamps' resolution); at the end totals and B2C percentiles.
//
//   bazel run //tools/benchmark:consumer -- --namesrv=127.0.0.1:9876
//     --topic=BenchmarkTest --group=benchmark_consumer --threads=4
//     --seconds=60 [--consumeFrom=LAST_OFFSET]
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cpp/client/push_consumer.h"
#include "cpp/common/config_binder.h"
#include "cpp/common/lock_checking.h"
#include "tools/bench/flags.h"
#include "tools/bench/latency_recorder.h"
#include "tools/benchmark/bench_common.h"

namespace cometmq::benchmark {
namespace {

struct Options : CommonFlags {
  Options() : CommonFlags("benchmark_consumer", /*default_threads=*/4) {}

  std::string consume_from = "LAST_OFFSET";
};

// Receive counts and latencies of every consume thread: the current report
// window and the whole run. Thread-safe.
class ReceiveStats {
 public:
  struct Window {
    int64_t count = 0;
    int64_t b2c_sum_ms = 0;
    int64_t b2c_max_ms = 0;
    int64_t s2c_sum_ms = 0;
    int64_t s2c_max_ms = 0;
  };

  void Record(int64_t b2c_ms, int64_t s2c_ms) {
    absl::MutexLock lock(&mu_);
    ++window_.count;
    window_.b2c_sum_ms += b2c_ms;
    window_.b2c_max_ms = std::max(window_.b2c_max_ms, b2c_ms);
    window_.s2c_sum_ms += s2c_ms;
    window_.s2c_max_ms = std::max(window_.s2c_max_ms, s2c_ms);
    b2c_.Add(b2c_ms * 1'000'000);
    s2c_.Add(s2c_ms * 1'000'000);
  }

  Window TakeWindow() {
    absl::MutexLock lock(&mu_);
    Window taken = window_;
    window_ = Window();
    return taken;
  }

  // "p50 X ms, ..." of born-to-consume and store-to-consume latency.
  std::string Summary() {
    absl::MutexLock lock(&mu_);
    return absl::StrFormat("%zu received\nB2C latency: %s\nS2C latency: %s",
                           b2c_.count(), Percentiles(b2c_), Percentiles(s2c_));
  }
  int64_t count() {
    absl::MutexLock lock(&mu_);
    return static_cast<int64_t>(b2c_.count());
  }

 private:
  static std::string Percentiles(bench::LatencyRecorder& r) {
    return absl::StrFormat(
        "p50 %lld ms, p99 %lld ms, p999 %lld ms, max %lld ms",
        static_cast<long long>(r.Percentile(0.50) / 1'000'000),
        static_cast<long long>(r.Percentile(0.99) / 1'000'000),
        static_cast<long long>(r.Percentile(0.999) / 1'000'000),
        static_cast<long long>(r.Percentile(1.0) / 1'000'000));
  }

  absl::Mutex mu_;
  Window window_ ABSL_GUARDED_BY(mu_);
  bench::LatencyRecorder b2c_ ABSL_GUARDED_BY(mu_);
  bench::LatencyRecorder s2c_ ABSL_GUARDED_BY(mu_);
};

int Run(const Options& options) {
  if (options.threads < 1 || options.seconds < 1 ||
      options.report_interval < 1) {
    std::fprintf(stderr,
                 "threads, seconds and reportInterval must be at least 1\n");
    return 2;
  }
  // The topic must be routed before the consumer starts, or the first
  // rebalance finds no queues and waits for the next route refresh.
  std::optional<client::ClientConfig> config =
      ConfigWithTopic(options, "benchmark_consumer");
  if (!config.has_value()) return 1;

  client::ConsumerOptions consumer_options;
  consumer_options.client = *config;
  consumer_options.consume_threads = options.threads;
  consumer_options.consume_from = options.consume_from == "FIRST_OFFSET"
                                      ? client::ConsumeFrom::kFirstOffset
                                      : client::ConsumeFrom::kLastOffset;
  ReceiveStats stats;
  client::DefaultPushConsumer consumer(options.group, consumer_options);
  if (absl::Status s = consumer.Subscribe(options.topic, "*"); !s.ok()) {
    std::fprintf(stderr, "subscribing: %s\n", s.ToString().c_str());
    return 1;
  }
  consumer.RegisterListener([&stats](const client::MessageExt& message) {
    const int64_t now = NowMillis();
    stats.Record(now - message.born_timestamp, now - message.store_timestamp);
    return client::ConsumeResult::kSuccess;
  });
  if (absl::Status s = consumer.Start(); !s.ok()) {
    std::fprintf(stderr, "starting the consumer: %s\n", s.ToString().c_str());
    return 1;
  }
  std::printf(
      "consumer benchmark: topic %s, group %s, %d consume threads, from %s, "
      "%d s; owns %zu queues\n",
      options.topic.c_str(), options.group.c_str(), options.threads,
      options.consume_from.c_str(), options.seconds,
      consumer.OwnedQueues().size());
  std::fflush(stdout);

  const double own_cpu_start = ReadCpuSeconds(getpid());
  const absl::Time start = absl::Now();
  absl::Time window_start = start;
  for (int second = options.report_interval;;
       second += options.report_interval) {
    second = std::min(second, options.seconds);
    absl::SleepFor(start + absl::Seconds(second) - absl::Now());
    const absl::Time now = absl::Now();
    ReceiveStats::Window w = stats.TakeWindow();
    const double window_s = absl::ToDoubleSeconds(now - window_start);
    window_start = now;
    const double n = static_cast<double>(std::max<int64_t>(w.count, 1));
    std::printf(
        "[%3ds] Consume TPS: %8.0f | AVG(B2C) RT(ms): %7.1f | AVG(S2C) "
        "RT(ms): %7.1f | MAX(B2C) RT(ms): %5lld | MAX(S2C) RT(ms): %5lld\n",
        second, static_cast<double>(w.count) / window_s,
        static_cast<double>(w.b2c_sum_ms) / n,
        static_cast<double>(w.s2c_sum_ms) / n,
        static_cast<long long>(w.b2c_max_ms),
        static_cast<long long>(w.s2c_max_ms));
    std::fflush(stdout);
    if (second >= options.seconds) break;
  }
  const double elapsed = absl::ToDoubleSeconds(absl::Now() - start);
  const double own_cpu = ReadCpuSeconds(getpid()) - own_cpu_start;
  consumer.Shutdown();
  const int64_t received = stats.count();
  std::printf("total: %.0f TPS over %.1f s; %s\n",
              static_cast<double>(received) / elapsed, elapsed,
              stats.Summary().c_str());
  if (received > 0) {
    PrintCpuUse("consumer", own_cpu, elapsed, received, "received");
  }
  std::fflush(stdout);
  return 0;
}

}  // namespace
}  // namespace cometmq::benchmark

int main(int argc, char** argv) {
  cometmq::ConfigureLockOrderChecking();
  cometmq::benchmark::Options options;
  cometmq::ConfigBinder flags;
  cometmq::benchmark::BindCommonFlags(flags, &options);
  flags.BindEnum("consumeFrom", &options.consume_from,
                 {"LAST_OFFSET", "FIRST_OFFSET"});
  if (!cometmq::bench::ParseFlags(argc, argv, flags)) return 2;
  return cometmq::benchmark::Run(options);
}
