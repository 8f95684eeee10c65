// Producer benchmark, like RocketMQ's benchmark/Producer: creates the topic,
// then sends fixed-size messages from N threads (sync) or keeps up to
// maxInFlight sends outstanding (async) for a given time. Every 10 s it
// prints the window's send TPS, average and max RT and failures (and the
// broker's RssAnon when it knows the broker's pid); at the end totals and
// RT percentiles.
//
//   bazel run //tools/benchmark:producer -- --namesrv=127.0.0.1:9876
//     --topic=BenchmarkTest --threads=16 --messageSize=128 --mode=sync
//     --seconds=60 [--maxInFlight=256] [--delayMs=0] [--brokerPid=PID]
//     [--brokerAddr=HOST:PORT]
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cpp/client/producer.h"
#include "cpp/common/config_binder.h"
#include "cpp/common/lock_checking.h"
#include "tools/bench/flags.h"
#include "tools/bench/latency_recorder.h"
#include "tools/benchmark/bench_common.h"

namespace cometmq::benchmark {
namespace {

struct Options : CommonFlags {
  Options() : CommonFlags("benchmark_producer", /*default_threads=*/16) {}

  int32_t message_size = 128;
  std::string mode = "sync";
  int32_t max_in_flight = 256;
  int32_t delay_ms = 0;
  int32_t broker_pid = 0;   // 0: look for a process named mqbroker
  std::string broker_addr;  // empty: no commit log flush figures
};

// Send outcomes of every thread: the current report window and the whole
// run. Thread-safe. One shard per sending thread, so senders never wait for
// each other here (a shared sample vector growing under one lock stalled
// all of them for milliseconds while it was copied).
class SendStats {
 public:
  struct Window {
    int64_t ok = 0;
    int64_t failed = 0;
    int64_t rt_sum_nanos = 0;
    int64_t rt_max_nanos = 0;
    std::string first_error;

    void Merge(Window other) {
      ok += other.ok;
      failed += other.failed;
      rt_sum_nanos += other.rt_sum_nanos;
      rt_max_nanos = std::max(rt_max_nanos, other.rt_max_nanos);
      if (first_error.empty()) first_error = std::move(other.first_error);
    }
  };

  explicit SendStats(int shards) {
    for (int i = 0; i < shards; ++i)
      shards_.push_back(std::make_unique<Shard>());
  }

  void RecordOk(int shard, int64_t nanos) {
    Shard& s = *shards_[static_cast<size_t>(shard)];
    absl::MutexLock lock(&s.mu);
    ++s.window.ok;
    s.window.rt_sum_nanos += nanos;
    s.window.rt_max_nanos = std::max(s.window.rt_max_nanos, nanos);
    s.all.Add(nanos);
  }

  void RecordFailure(int shard, const absl::Status& status) {
    Shard& s = *shards_[static_cast<size_t>(shard)];
    absl::MutexLock lock(&s.mu);
    ++s.window.failed;
    ++s.total_failed;
    if (s.window.first_error.empty()) s.window.first_error = status.ToString();
    ++s.errors[std::string(absl::StatusCodeToString(status.code()))];
  }

  Window TakeWindow() {
    Window taken;
    for (auto& s : shards_) {
      absl::MutexLock lock(&s->mu);
      taken.Merge(std::move(s->window));
      s->window = Window();
    }
    return taken;
  }

  // Every sample of the run; call after every sender has finished.
  bench::LatencyRecorder All() {
    bench::LatencyRecorder all;
    for (auto& s : shards_) {
      absl::MutexLock lock(&s->mu);
      all.Merge(s->all);
    }
    return all;
  }
  int64_t total_failed() {
    int64_t total = 0;
    for (auto& s : shards_) {
      absl::MutexLock lock(&s->mu);
      total += s->total_failed;
    }
    return total;
  }
  std::string ErrorSummary() {
    std::map<std::string, int64_t> errors;
    for (auto& s : shards_) {
      absl::MutexLock lock(&s->mu);
      for (const auto& [code, count] : s->errors) errors[code] += count;
    }
    std::string out;
    for (const auto& [code, count] : errors) {
      absl::StrAppend(&out, out.empty() ? "" : ", ", code, " x", count);
    }
    return out;
  }

 private:
  struct Shard {
    absl::Mutex mu;
    Window window ABSL_GUARDED_BY(mu);
    bench::LatencyRecorder all ABSL_GUARDED_BY(mu);
    int64_t total_failed ABSL_GUARDED_BY(mu) = 0;
    absl::flat_hash_map<std::string, int64_t> errors ABSL_GUARDED_BY(mu);
  };
  std::vector<std::unique_ptr<Shard>> shards_;
};

// Bounds the number of outstanding async sends. Thread-safe.
class InFlightLimiter {
 public:
  explicit InFlightLimiter(int limit) : limit_(limit) {}

  // Blocks until a slot is free; false once `stop` is set.
  bool Acquire(const std::atomic<bool>& stop) {
    absl::MutexLock lock(&mu_);
    auto ready = [this, &stop]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return in_flight_ < limit_ || stop.load();
    };
    // Re-check `stop` now and then: it is not guarded by mu_.
    while (!mu_.AwaitWithTimeout(absl::Condition(&ready),
                                 absl::Milliseconds(100))) {
    }
    if (stop.load()) return false;
    ++in_flight_;
    return true;
  }
  void Release() {
    absl::MutexLock lock(&mu_);
    --in_flight_;
  }
  // True when every slot came back within `limit`.
  bool WaitIdle(absl::Duration limit) {
    absl::MutexLock lock(&mu_);
    auto idle = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return in_flight_ == 0;
    };
    return mu_.AwaitWithTimeout(absl::Condition(&idle), limit);
  }

 private:
  const int limit_;
  absl::Mutex mu_;
  int in_flight_ ABSL_GUARDED_BY(mu_) = 0;
};

std::string MakeBody(int size) {
  std::string body(static_cast<size_t>(size), 'a');
  for (int i = 0; i < size; ++i) body[i] = static_cast<char>('a' + i % 26);
  return body;
}

void SyncSender(int index, const Options& options,
                client::DefaultProducer* producer, SendStats* stats,
                const std::atomic<bool>* stop) {
  NameThisThread(absl::StrCat("bench-send-", index));
  client::Message message;
  message.topic = options.topic;
  message.body = MakeBody(options.message_size);
  while (!stop->load()) {
    const absl::Time start = absl::Now();
    absl::StatusOr<client::SendResult> result = producer->SendSync(message);
    const int64_t nanos = absl::ToInt64Nanoseconds(absl::Now() - start);
    if (result.ok()) {
      stats->RecordOk(index, nanos);
    } else {
      stats->RecordFailure(index, result.status());
    }
    if (options.delay_ms > 0) {
      absl::SleepFor(absl::Milliseconds(options.delay_ms));
    }
  }
}

void AsyncSender(int index, const Options& options,
                 client::DefaultProducer* producer, SendStats* stats,
                 InFlightLimiter* limiter, const std::atomic<bool>* stop) {
  NameThisThread(absl::StrCat("bench-async-", index));
  client::Message message;
  message.topic = options.topic;
  message.body = MakeBody(options.message_size);
  while (limiter->Acquire(*stop)) {
    const absl::Time start = absl::Now();
    producer->SendAsync(message, [stats, limiter, start,
                                  index](absl::StatusOr<client::SendResult> r) {
      const int64_t nanos = absl::ToInt64Nanoseconds(absl::Now() - start);
      if (r.ok()) {
        stats->RecordOk(index, nanos);
      } else {
        stats->RecordFailure(index, r.status());
      }
      limiter->Release();
    });
    if (options.delay_ms > 0) {
      absl::SleepFor(absl::Milliseconds(options.delay_ms));
    }
  }
}

std::string RssText(int64_t kb) {
  return kb < 0 ? "n/a" : absl::StrFormat("%.1f MiB", kb / 1024.0);
}

// The broker's commit log flush count, or -1 (with a warning) when there is
// no address or the broker does not answer.
int64_t CommitLogFlushes(const client::ClientConfig& config,
                         const std::string& broker_addr) {
  if (broker_addr.empty()) return -1;
  absl::StatusOr<int64_t> flushes = ReadCommitLogFlushes(config, broker_addr);
  if (!flushes.ok()) {
    std::fprintf(stderr, "no commit log flush count: %s\n",
                 flushes.status().ToString().c_str());
    return -1;
  }
  return *flushes;
}

int Run(Options options) {
  if (options.threads < 1 || options.message_size < 1 || options.seconds < 1 ||
      options.max_in_flight < 1 || options.report_interval < 1) {
    std::fprintf(stderr,
                 "threads, messageSize, seconds, maxInFlight and "
                 "reportInterval must be at least 1\n");
    return 2;
  }
  pid_t broker_pid = options.broker_pid;
  if (broker_pid <= 0) {
    std::vector<pid_t> found = FindProcessesByComm("mqbroker");
    if (found.size() == 1) {
      broker_pid = found.front();
    } else if (found.size() > 1) {
      std::fprintf(stderr,
                   "%zu processes named mqbroker; pass --brokerPid to see "
                   "broker memory\n",
                   found.size());
    }
  }

  std::optional<client::ClientConfig> config =
      ConfigWithTopic(options, "benchmark_producer");
  if (!config.has_value()) return 1;

  client::ProducerOptions producer_options;
  producer_options.client = *config;
  producer_options.create_topic_cluster = options.cluster;
  client::DefaultProducer producer(options.group, producer_options);
  if (absl::Status s = producer.Start(); !s.ok()) {
    std::fprintf(stderr, "starting the producer: %s\n", s.ToString().c_str());
    return 1;
  }

  const bool async = options.mode == "async";
  std::printf(
      "producer benchmark: topic %s (%d queues), %s, %d threads%s, %d B "
      "messages, %d s, delay %d ms, broker pid %s\n",
      options.topic.c_str(), options.queues, options.mode.c_str(),
      options.threads,
      async ? absl::StrCat(", ", options.max_in_flight, " in flight").c_str()
            : "",
      options.message_size, options.seconds, options.delay_ms,
      broker_pid > 0 ? absl::StrCat(broker_pid).c_str() : "unknown");
  std::fflush(stdout);

  const int64_t flushes_start = CommitLogFlushes(*config, options.broker_addr);
  const double broker_cpu_start =
      broker_pid > 0 ? ReadCpuSeconds(broker_pid) : -1;
  const double own_cpu_start = ReadCpuSeconds(getpid());
  SendStats stats(options.threads);
  InFlightLimiter limiter(options.max_in_flight);
  std::atomic<bool> stop{false};
  std::vector<std::thread> senders;
  const absl::Time start = absl::Now();
  for (int i = 0; i < options.threads; ++i) {
    if (async) {
      senders.emplace_back(AsyncSender, i, std::cref(options), &producer,
                           &stats, &limiter, &stop);
    } else {
      senders.emplace_back(SyncSender, i, std::cref(options), &producer, &stats,
                           &stop);
    }
  }

  // Samples broker memory every second, reports every report_interval.
  int64_t rss_peak_kb = -1;
  int64_t rss_kb = -1;
  absl::Time window_start = start;
  for (int second = 1; second <= options.seconds; ++second) {
    absl::SleepFor(start + absl::Seconds(second) - absl::Now());
    if (broker_pid > 0) {
      rss_kb = ReadRssAnonKb(broker_pid);
      rss_peak_kb = std::max(rss_peak_kb, rss_kb);
    }
    if (second % options.report_interval != 0 && second != options.seconds) {
      continue;
    }
    const absl::Time now = absl::Now();
    SendStats::Window w = stats.TakeWindow();
    const double window_s = absl::ToDoubleSeconds(now - window_start);
    window_start = now;
    std::printf(
        "[%3ds] Send TPS: %8.0f | Avg RT(ms): %7.3f | Max RT(ms): %8.3f | "
        "Send Failed: %lld | Broker RssAnon: %s\n",
        second, static_cast<double>(w.ok) / window_s,
        w.ok > 0 ? static_cast<double>(w.rt_sum_nanos) / w.ok / 1e6 : 0.0,
        w.rt_max_nanos / 1e6, static_cast<long long>(w.failed),
        RssText(rss_kb).c_str());
    if (!w.first_error.empty()) {
      std::printf("       first failure in window: %s\n",
                  w.first_error.c_str());
    }
    std::fflush(stdout);
  }
  stop.store(true);
  for (std::thread& t : senders) t.join();
  bool drained = true;
  if (async) {
    drained = limiter.WaitIdle(absl::Seconds(10));
  }
  const double elapsed = absl::ToDoubleSeconds(absl::Now() - start);
  const double broker_cpu = broker_cpu_start >= 0
                                ? ReadCpuSeconds(broker_pid) - broker_cpu_start
                                : -1;
  const double own_cpu = ReadCpuSeconds(getpid()) - own_cpu_start;
  producer.Shutdown();
  const int64_t flushes_end = CommitLogFlushes(*config, options.broker_addr);

  bench::LatencyRecorder all = stats.All();
  const int64_t failed = stats.total_failed();
  std::printf(
      "total: %zu sent OK, %lld failed in %.1f s: %.0f TPS; broker RssAnon "
      "peak %s\n",
      all.count(), static_cast<long long>(failed), elapsed,
      static_cast<double>(all.count()) / elapsed, RssText(rss_peak_kb).c_str());
  std::printf("send RT: %s\n", all.Summary().c_str());
  const auto sent = static_cast<int64_t>(all.count());
  if (broker_cpu >= 0 && sent > 0) {
    PrintCpuUse("broker", broker_cpu, elapsed, sent, "sent");
  }
  if (sent > 0) PrintCpuUse("producer", own_cpu, elapsed, sent, "sent");
  if (flushes_start >= 0 && flushes_end >= flushes_start) {
    const int64_t flushes = flushes_end - flushes_start;
    std::printf(
        "commit log flushes: %lld (%.0f per s), %.1f messages sent per "
        "flush\n",
        static_cast<long long>(flushes), static_cast<double>(flushes) / elapsed,
        flushes > 0 ? static_cast<double>(all.count()) / flushes : 0.0);
  }
  if (failed > 0) {
    std::printf("failures by status: %s\n", stats.ErrorSummary().c_str());
  }
  if (!drained) {
    std::printf("warning: async sends still outstanding 10 s after the end\n");
  }
  std::fflush(stdout);
  return all.count() > 0 ? 0 : 1;
}

}  // namespace
}  // namespace cometmq::benchmark

int main(int argc, char** argv) {
  cometmq::ConfigureLockOrderChecking();
  cometmq::benchmark::Options options;
  cometmq::ConfigBinder flags;
  cometmq::benchmark::BindCommonFlags(flags, &options);
  flags.Bind("messageSize", &options.message_size);
  flags.BindEnum("mode", &options.mode, {"sync", "async"});
  flags.Bind("maxInFlight", &options.max_in_flight);
  flags.Bind("delayMs", &options.delay_ms);
  flags.Bind("brokerPid", &options.broker_pid);
  flags.Bind("brokerAddr", &options.broker_addr);
  if (!cometmq::bench::ParseFlags(argc, argv, flags)) return 2;
  return cometmq::benchmark::Run(options);
}
