#include "tools/benchmark/bench_common.h"

#include <dirent.h>
#include <pthread.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <memory>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "cpp/client/admin.h"

namespace cometmq::benchmark {

void NameThisThread(absl::string_view name) {
  std::string truncated(name.substr(0, 15));
  pthread_setname_np(pthread_self(), truncated.c_str());
}

int64_t ReadRssAnonKb(pid_t pid) {
  std::ifstream status(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(status, line)) {
    absl::string_view rest = line;
    if (!absl::ConsumePrefix(&rest, "RssAnon:")) continue;
    rest = absl::StripAsciiWhitespace(rest);
    absl::ConsumeSuffix(&rest, "kB");
    int64_t kb = 0;
    if (absl::SimpleAtoi(absl::StripAsciiWhitespace(rest), &kb)) return kb;
    return -1;
  }
  return -1;
}

double ReadCpuSeconds(pid_t pid) {
  std::ifstream file(absl::StrCat("/proc/", pid, "/stat"));
  std::string line;
  if (!std::getline(file, line)) return -1;
  // The command name may hold spaces and parentheses: fields count from the
  // last ')'. After it come state (field 3) ... utime (14) and stime (15).
  const size_t paren = line.rfind(')');
  if (paren == std::string::npos) return -1;
  std::vector<absl::string_view> fields = absl::StrSplit(
      absl::string_view(line).substr(paren + 1), ' ', absl::SkipEmpty());
  int64_t utime = 0;
  int64_t stime = 0;
  if (fields.size() < 13 || !absl::SimpleAtoi(fields[11], &utime) ||
      !absl::SimpleAtoi(fields[12], &stime)) {
    return -1;
  }
  return static_cast<double>(utime + stime) /
         static_cast<double>(sysconf(_SC_CLK_TCK));
}

std::vector<pid_t> FindProcessesByComm(absl::string_view comm) {
  std::vector<pid_t> pids;
  std::unique_ptr<DIR, int (*)(DIR*)> proc(opendir("/proc"), &closedir);
  if (proc == nullptr) return pids;
  while (const dirent* entry = readdir(proc.get())) {
    int pid = 0;
    if (!absl::SimpleAtoi(entry->d_name, &pid)) continue;
    std::ifstream file(absl::StrCat("/proc/", pid, "/comm"));
    std::string name;
    if (std::getline(file, name) && name == comm) pids.push_back(pid);
  }
  return pids;
}

absl::StatusOr<int64_t> ReadCommitLogFlushes(const client::ClientConfig& config,
                                             const std::string& broker_addr) {
  client::Admin admin(config);
  if (absl::Status s = admin.Start(); !s.ok()) return s;
  absl::StatusOr<proto::BrokerRuntimeInfo> info =
      admin.BrokerRuntimeInfo(broker_addr);
  admin.Shutdown();
  if (!info.ok()) return info.status();
  auto it = info->table().find("commitLogFlushes");
  int64_t flushes = 0;
  if (it == info->table().end() || !absl::SimpleAtoi(it->second, &flushes)) {
    return absl::NotFoundError(
        absl::StrCat("broker ", broker_addr, " reports no commitLogFlushes"));
  }
  return flushes;
}

absl::Status CreateTopicAndWaitForRoute(const client::ClientConfig& config,
                                        const std::string& topic,
                                        const std::string& cluster,
                                        int32_t queues,
                                        absl::Duration route_timeout) {
  client::Admin admin(config);
  if (absl::Status s = admin.Start(); !s.ok()) return s;
  absl::Status status = admin.CreateTopic(topic, cluster, queues, queues);
  if (status.ok()) {
    const absl::Time deadline = absl::Now() + route_timeout;
    while (true) {
      auto route = admin.TopicRoute(topic);
      if (route.ok() && route->queue_datas_size() > 0) break;
      if (absl::Now() >= deadline) {
        status = absl::DeadlineExceededError(
            absl::StrCat("no route for ", topic, " after ",
                         absl::FormatDuration(route_timeout), ": ",
                         route.ok() ? "no queues" : route.status().ToString()));
        break;
      }
      absl::SleepFor(absl::Milliseconds(100));
    }
  }
  admin.Shutdown();
  return status;
}

void BindCommonFlags(ConfigBinder& flags, CommonFlags* common) {
  flags.Bind("namesrv", &common->namesrv);
  flags.Bind("topic", &common->topic);
  flags.Bind("cluster", &common->cluster);
  flags.Bind("group", &common->group);
  flags.Bind("queues", &common->queues);
  flags.Bind("threads", &common->threads);
  flags.Bind("seconds", &common->seconds);
  flags.Bind("reportInterval", &common->report_interval);
}

std::optional<client::ClientConfig> ConfigWithTopic(
    const CommonFlags& common, const std::string& instance_name) {
  client::ClientConfig config;
  config.namesrv_addr = common.namesrv;
  config.instance_name = instance_name;
  if (absl::Status s =
          CreateTopicAndWaitForRoute(config, common.topic, common.cluster,
                                     common.queues, absl::Seconds(10));
      !s.ok()) {
    std::fprintf(stderr, "creating topic %s on %s: %s\n", common.topic.c_str(),
                 common.cluster.c_str(), s.ToString().c_str());
    return std::nullopt;
  }
  return config;
}

void PrintCpuUse(absl::string_view who, double cpu_seconds,
                 double elapsed_seconds, int64_t messages,
                 absl::string_view per_what) {
  std::printf(
      "%s CPU: %.1f s user+system (%.0f%% of one core), %.1f us per "
      "message %s\n",
      std::string(who).c_str(), cpu_seconds,
      100 * cpu_seconds / elapsed_seconds,
      cpu_seconds * 1e6 / static_cast<double>(messages),
      std::string(per_what).c_str());
}

int64_t NowMillis() { return absl::ToUnixMillis(absl::Now()); }

}  // namespace cometmq::benchmark
