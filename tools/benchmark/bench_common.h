#ifndef COMETMQ_TOOLS_BENCHMARK_BENCH_COMMON_H_
#define COMETMQ_TOOLS_BENCHMARK_BENCH_COMMON_H_

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "cpp/client/client_instance.h"
#include "cpp/common/config_binder.h"

namespace cometmq::benchmark {

// The flags the producer and the consumer benchmark share; each program
// extends them and gives its own group and thread count.
struct CommonFlags {
  CommonFlags(std::string default_group, int32_t default_threads)
      : group(std::move(default_group)), threads(default_threads) {}

  std::string namesrv = "127.0.0.1:9876";
  std::string topic = "BenchmarkTest";
  std::string cluster = "DefaultCluster";
  std::string group;
  int32_t queues = 4;  // when the benchmark creates the topic
  int32_t threads;
  int32_t seconds = 60;
  int32_t report_interval = 10;  // seconds
};

// Binds `common` as --namesrv, --topic, --cluster, --group, --queues,
// --threads, --seconds and --reportInterval.
void BindCommonFlags(ConfigBinder& flags, CommonFlags* common);

// A client config of `instance_name` for the NameServers of `common`, once
// its topic exists (CreateTopicAndWaitForRoute, 10 s for the route); nullopt,
// the reason printed to stderr, when it does not.
std::optional<client::ClientConfig> ConfigWithTopic(
    const CommonFlags& common, const std::string& instance_name);

// Prints "<who> CPU: S s user+system (P% of one core), U us per message
// <per_what>" for `cpu_seconds` used in `elapsed_seconds` over `messages`.
void PrintCpuUse(absl::string_view who, double cpu_seconds,
                 double elapsed_seconds, int64_t messages,
                 absl::string_view per_what);

// Names the calling thread (at most 15 characters are kept).
void NameThisThread(absl::string_view name);

// RssAnon of `pid` in kB from /proc/<pid>/status; -1 when unreadable.
int64_t ReadRssAnonKb(pid_t pid);

// User plus system CPU time `pid` has used, in seconds, from
// /proc/<pid>/stat; -1 when unreadable.
double ReadCpuSeconds(pid_t pid);

// The pids of the processes whose /proc/<pid>/comm is `comm`.
std::vector<pid_t> FindProcessesByComm(absl::string_view comm);

// Creates `topic` with `queues` read and write queues on every master of
// `cluster`, then waits until the NameServers route it (the broker
// re-registers on a topic change). Error when either step fails.
absl::Status CreateTopicAndWaitForRoute(const client::ClientConfig& config,
                                        const std::string& topic,
                                        const std::string& cluster,
                                        int32_t queues,
                                        absl::Duration route_timeout);

// The broker's count of commit log flushes (`commitLogFlushes` of its
// runtime info), asked at `broker_addr`.
absl::StatusOr<int64_t> ReadCommitLogFlushes(const client::ClientConfig& config,
                                             const std::string& broker_addr);

// Wall-clock milliseconds, the unit of born and store timestamps.
int64_t NowMillis();

}  // namespace cometmq::benchmark

#endif  // COMETMQ_TOOLS_BENCHMARK_BENCH_COMMON_H_
