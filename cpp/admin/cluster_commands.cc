// The cluster subcommands: clusterList and brokerStatus.

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cpp/admin/command.h"
#include "cpp/admin/stop_signal.h"
#include "proto/remoting.pb.h"

namespace cometmq::admin {
namespace {

// One broker process of the cluster list.
struct BrokerRow {
  std::string cluster;
  std::string name;
  int64_t id = 0;
  std::string addr;
};

// Sorted by cluster, broker name, broker id.
std::vector<BrokerRow> BrokerRows(const proto::ClusterInfo& info) {
  std::map<std::string, std::vector<std::string>> clusters;
  for (const auto& [cluster, names] : info.cluster_table()) {
    clusters[cluster].assign(names.names().begin(), names.names().end());
  }
  std::vector<BrokerRow> rows;
  for (auto& [cluster, names] : clusters) {
    std::sort(names.begin(), names.end());
    for (const std::string& name : names) {
      auto broker = info.broker_table().find(name);
      if (broker == info.broker_table().end()) continue;
      std::map<int64_t, std::string> addrs(
          broker->second.broker_addrs().begin(),
          broker->second.broker_addrs().end());
      for (const auto& [id, addr] : addrs) {
        rows.push_back({cluster, name, id, addr});
      }
    }
  }
  return rows;
}

// A broker's message counters at one moment, for -m's rates.
struct Sample {
  absl::Time at;
  int64_t put = 0;
  int64_t got = 0;
};

// The counters of clusterList -m, from GET_BROKER_RUNTIME_INFO; remembers
// each broker's last sample so later rounds of -i show rates.
class MoreStats {
 public:
  struct Figures {
    std::string role = "-";
    std::optional<int64_t> in_total, out_total;
    std::optional<double> in_tps, out_tps;
    std::string disk_ratio = "-";
    std::string error;  // the broker did not answer
  };

  Figures Of(client::Admin* admin, const std::string& addr) {
    Figures figures;
    absl::StatusOr<proto::BrokerRuntimeInfo> info =
        admin->BrokerRuntimeInfo(addr);
    if (!info.ok()) {
      figures.error = std::string(info.status().message());
      return figures;
    }
    const auto& table = info->table();
    auto text = [&](const char* key) -> std::string {
      auto it = table.find(key);
      return it == table.end() ? "-" : it->second;
    };
    auto number = [&](const char* key) -> std::optional<int64_t> {
      int64_t value = 0;
      auto it = table.find(key);
      if (it == table.end() || !absl::SimpleAtoi(it->second, &value)) {
        return std::nullopt;
      }
      return value;
    };
    figures.role = text("brokerRole");
    figures.disk_ratio = text("commitLogDiskRatio");
    figures.in_total = number("msgPutTotal");
    figures.out_total = number("msgGetTotal");
    if (figures.in_total && figures.out_total) {
      const Sample now{absl::Now(), *figures.in_total, *figures.out_total};
      auto last = samples_.find(addr);
      // Counters restart with the broker: no rate across a restart.
      if (last != samples_.end() && now.at > last->second.at &&
          now.put >= last->second.put && now.got >= last->second.got) {
        const double seconds = absl::ToDoubleSeconds(now.at - last->second.at);
        figures.in_tps = (now.put - last->second.put) / seconds;
        figures.out_tps = (now.got - last->second.got) / seconds;
      }
      samples_[addr] = now;
    }
    return figures;
  }

 private:
  std::map<std::string, Sample> samples_;
};

std::string Cell(const std::optional<int64_t>& value) {
  return value ? absl::StrCat(*value) : "-";
}

std::string Cell(const std::optional<double>& value) {
  return value ? absl::StrFormat("%.1f", *value) : "-";
}

JsonValue Json(const std::optional<int64_t>& value) {
  return value ? JsonValue::Int(*value) : JsonValue();
}

JsonValue Json(const std::optional<double>& value) {
  return value ? JsonValue::Double(*value) : JsonValue();
}

// NotFound when -c names a cluster the NameServer does not know: a typo
// would otherwise print an empty table and exit 0.
absl::Status CheckClusterKnown(const proto::ClusterInfo& info,
                               const std::string& cluster) {
  if (cluster.empty() || info.cluster_table().contains(cluster)) {
    return absl::OkStatus();
  }
  std::vector<std::string> known;
  for (const auto& [name, brokers] : info.cluster_table()) {
    known.push_back(name);
  }
  std::sort(known.begin(), known.end());
  return absl::NotFoundError(
      absl::StrCat("cluster [", cluster, "] does not exist; known: ",
                   known.empty() ? "none" : absl::StrJoin(known, ", ")));
}

absl::Status PrintClusterList(const CommandContext& ctx, MoreStats* more) {
  absl::StatusOr<proto::ClusterInfo> info = ctx.admin->ClusterList();
  if (!info.ok()) return info.status();
  const std::string only = ctx.args.Get('c');
  if (absl::Status s = CheckClusterKnown(*info, only); !s.ok()) return s;
  std::vector<std::string> headers = {"#Cluster Name", "#Broker Name", "#BID",
                                      "#Addr"};
  if (more != nullptr) {
    headers.insert(headers.end(), {"#Role", "#InTotal", "#OutTotal", "#InTPS",
                                   "#OutTPS", "#Disk Ratio"});
  }
  Table table(headers);
  JsonValue brokers = JsonValue::Array();
  for (const BrokerRow& row : BrokerRows(*info)) {
    if (!only.empty() && row.cluster != only) continue;
    std::vector<std::string> cells = {row.cluster, row.name,
                                      absl::StrCat(row.id), row.addr};
    JsonValue entry = JsonValue::Object();
    entry.Set("cluster", JsonValue::String(row.cluster))
        .Set("brokerName", JsonValue::String(row.name))
        .Set("brokerId", JsonValue::Int(row.id))
        .Set("addr", JsonValue::String(row.addr));
    if (more != nullptr) {
      const MoreStats::Figures f = more->Of(ctx.admin, row.addr);
      cells.insert(cells.end(),
                   {f.role, Cell(f.in_total), Cell(f.out_total), Cell(f.in_tps),
                    Cell(f.out_tps), f.disk_ratio});
      entry.Set("role", JsonValue::String(f.role))
          .Set("inTotal", Json(f.in_total))
          .Set("outTotal", Json(f.out_total))
          .Set("inTps", Json(f.in_tps))
          .Set("outTps", Json(f.out_tps))
          .Set("diskRatio", JsonValue::String(f.disk_ratio));
      if (!f.error.empty()) entry.Set("error", JsonValue::String(f.error));
    }
    table.AddRow(std::move(cells));
    brokers.Push(std::move(entry));
  }
  JsonValue json = JsonValue::Object();
  json.Set("brokers", std::move(brokers));
  ctx.Emit({table}, json);
  return absl::OkStatus();
}

absl::Status ClusterList(const CommandContext& ctx) {
  absl::StatusOr<int64_t> interval = ctx.args.GetInt('i', 0);
  if (!interval.ok()) return interval.status();
  if (ctx.args.Has('i') && (*interval < 1 || *interval > 86400)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "-i must be 1..86400 seconds, got '", ctx.args.Get('i'), "'"));
  }
  MoreStats more;
  MoreStats* more_stats = ctx.args.Has('m') ? &more : nullptr;
  if (!ctx.args.Has('i')) return PrintClusterList(ctx, more_stats);
  absl::StatusOr<std::unique_ptr<StopSignal>> stop = StopSignal::Install();
  if (!stop.ok()) return stop.status();
  // Rounds until SIGINT or SIGTERM, which end the command successfully.
  for (bool first = true;; first = false) {
    if (!first && !ctx.args.json()) ctx.out << "\n";
    if (absl::Status s = PrintClusterList(ctx, more_stats); !s.ok()) return s;
    ctx.out.flush();
    if ((*stop)->WaitFor(absl::Seconds(*interval))) return absl::OkStatus();
  }
}

absl::Status BrokerStatus(const CommandContext& ctx) {
  const std::string addr = ctx.args.Get('b');
  absl::StatusOr<proto::BrokerRuntimeInfo> info =
      ctx.admin->BrokerRuntimeInfo(addr);
  if (!info.ok()) return info.status();
  std::map<std::string, std::string> sorted(info->table().begin(),
                                            info->table().end());
  Table table({"#Key", "#Value"});
  JsonValue values = JsonValue::Object();
  for (const auto& [key, value] : sorted) {
    table.AddRow({key, value});
    values.Set(key, JsonValue::String(value));
  }
  JsonValue json = JsonValue::Object();
  json.Set("brokerAddr", JsonValue::String(addr))
      .Set("table", std::move(values));
  ctx.Emit({table}, json);
  return absl::OkStatus();
}

// The brokers -b or -c name: one address, or every broker (masters and
// slaves) of a cluster, in clusterList's order.
absl::StatusOr<std::vector<std::string>> NamedBrokers(
    const CommandContext& ctx) {
  const std::string broker = ctx.args.Get('b');
  const std::string cluster = ctx.args.Get('c');
  if (broker.empty() == cluster.empty()) {
    return absl::InvalidArgumentError(
        "give exactly one of -b BROKERADDR and -c CLUSTER");
  }
  if (!broker.empty()) return std::vector<std::string>{broker};
  absl::StatusOr<proto::ClusterInfo> info = ctx.admin->ClusterList();
  if (!info.ok()) return info.status();
  if (absl::Status s = CheckClusterKnown(*info, cluster); !s.ok()) return s;
  std::vector<std::string> addrs;
  for (const BrokerRow& row : BrokerRows(*info)) {
    if (row.cluster == cluster) addrs.push_back(row.addr);
  }
  return addrs;
}

// As RocketMQ's getBrokerConfig: each broker's address between rules, then
// its keys; --json: {"brokers": [{"brokerAddr", "config": {key: value}}]}.
absl::Status GetBrokerConfig(const CommandContext& ctx) {
  absl::StatusOr<std::vector<std::string>> addrs = NamedBrokers(ctx);
  if (!addrs.ok()) return addrs.status();
  std::string text;
  JsonValue brokers = JsonValue::Array();
  for (const std::string& addr : *addrs) {
    absl::StatusOr<std::map<std::string, std::string>> config =
        ctx.admin->BrokerConfig(addr);
    if (!config.ok()) return config.status();
    Table table({"#Key", "#Value"});
    JsonValue values = JsonValue::Object();
    for (const auto& [key, value] : *config) {
      table.AddRow({key, value});
      values.Set(key, JsonValue::String(value));
    }
    if (!text.empty()) text += "\n";
    absl::StrAppend(&text, "============", addr, "============\n",
                    table.Render());
    JsonValue entry = JsonValue::Object();
    entry.Set("brokerAddr", JsonValue::String(addr))
        .Set("config", std::move(values));
    brokers.Push(std::move(entry));
  }
  JsonValue json = JsonValue::Object();
  json.Set("brokers", std::move(brokers));
  ctx.Emit(text, json);
  return absl::OkStatus();
}

// As RocketMQ's updateBrokerConfig: "update broker config success, ADDR"
// per broker; stops at the first broker that refuses (a bad key or value
// is refused by the first, so no broker changes). --json: {"key", "value",
// "brokers": [ADDR]}.
absl::Status UpdateBrokerConfig(const CommandContext& ctx) {
  absl::StatusOr<std::vector<std::string>> addrs = NamedBrokers(ctx);
  if (!addrs.ok()) return addrs.status();
  const std::string key = ctx.args.Get('k');
  const std::string value = ctx.args.Get('v');
  std::string text;
  JsonValue brokers = JsonValue::Array();
  for (const std::string& addr : *addrs) {
    if (absl::Status s = ctx.admin->UpdateBrokerConfig(addr, key, value);
        !s.ok()) {
      ctx.out << text;  // the brokers already changed
      return s;
    }
    absl::StrAppend(&text, "update broker config success, ", addr, "\n");
    brokers.Push(JsonValue::String(addr));
  }
  JsonValue json = JsonValue::Object();
  json.Set("key", JsonValue::String(key))
      .Set("value", JsonValue::String(value))
      .Set("brokers", std::move(brokers));
  ctx.Emit(text, json);
  return absl::OkStatus();
}

// As RocketMQ's wipeWritePerm / addWritePerm: one line per NameServer of
// -n, "wipe write perm of broker[B] in name server[N] OK, COUNT" or
// "... Failed: WHY"; every NameServer is asked, and the command fails when
// one did. --json: {"brokerName", "namesrvs": [{"namesrvAddr",
// "topicCount" | "error"}]}.
absl::Status WritePerm(const CommandContext& ctx, bool wipe) {
  const std::string broker = ctx.args.Get('b');
  auto answers = ctx.admin->WritePermOfBroker(broker, wipe);
  if (!answers.ok()) return answers.status();
  const char* verb = wipe ? "wipe" : "add";
  std::string text;
  JsonValue results = JsonValue::Array();
  absl::Status first_failure;
  for (const auto& [namesrv, count] : *answers) {
    JsonValue entry = JsonValue::Object();
    entry.Set("namesrvAddr", JsonValue::String(namesrv));
    absl::StrAppend(&text, verb, " write perm of broker[", broker,
                    "] in name server[", namesrv, "] ");
    if (count.ok()) {
      absl::StrAppend(&text, "OK, ", *count, "\n");
      entry.Set("topicCount", JsonValue::Int(*count));
    } else {
      absl::StrAppend(&text, "Failed: ", count.status().message(), "\n");
      entry.Set("error",
                JsonValue::String(std::string(count.status().message())));
      if (first_failure.ok()) first_failure = count.status();
    }
    results.Push(std::move(entry));
  }
  JsonValue json = JsonValue::Object();
  json.Set("brokerName", JsonValue::String(broker))
      .Set("namesrvs", std::move(results));
  ctx.Emit(text, json);
  return first_failure;
}

}  // namespace

std::vector<CommandSpec> ClusterCommands() {
  return {
      {"clusterList",
       "Cluster",
       "List the brokers of every cluster",
       {NamesrvFlag(),
        {'c', "clusterName", "CLUSTER", false,
         "only the brokers of this cluster"},
        SwitchFlag('m', "moreStats",
                   "also each broker's role, messages put (In) and pulled "
                   "(Out) since it started, their rates per second since "
                   "the previous round of -i, and commit log disk ratio"),
        {'i', "interval", "SECONDS", false,
         "print again every SECONDS until interrupted (SIGINT or SIGTERM "
         "end it with exit status 0)"}},
       ClusterList},
      {"brokerStatus",
       "Cluster",
       "Show a broker's runtime statistics (GET_BROKER_RUNTIME_INFO)",
       {NamesrvFlag(),
        {'b', "brokerAddr", "BROKERADDR", true, "broker address host:port"}},
       BrokerStatus},
      {"getBrokerConfig",
       "Cluster",
       "Show the configuration a broker runs with: every broker.conf key, "
       "defaults included (GET_BROKER_CONFIG)",
       {NamesrvFlag(),
        {'b', "brokerAddr", "BROKERADDR", false, "this broker (or -c)"},
        {'c', "clusterName", "CLUSTER", false,
         "every broker of this cluster, masters and slaves"}},
       GetBrokerConfig},
      {"updateBrokerConfig",
       "Cluster",
       "Change a broker's configuration while it runs and in its config "
       "file (UPDATE_BROKER_CONFIG); keys that change at run time: "
       "brokerPermission",
       {NamesrvFlag(),
        {'b', "brokerAddr", "BROKERADDR", false, "this broker (or -c)"},
        {'c', "clusterName", "CLUSTER", false,
         "every broker of this cluster, masters and slaves"},
        {'k', "key", "KEY", true, "the broker.conf key"},
        {'v', "value", "VALUE", true, "its new value"}},
       UpdateBrokerConfig},
      {"wipeWritePerm",
       "Cluster",
       "Take write permission off a broker's topics on every NameServer of "
       "-n (WIPE_WRITE_PERM_OF_BROKER): producers stop sending to it, "
       "consumers still read it; lasts until addWritePerm or the broker "
       "restarts",
       {NamesrvFlag(), {'b', "brokerName", "BROKERNAME", true, "broker name"}},
       [](const CommandContext& ctx) { return WritePerm(ctx, true); }},
      {"addWritePerm",
       "Cluster",
       "Give a broker's topics back the write permission wipeWritePerm took, "
       "on every NameServer of -n (ADD_WRITE_PERM_OF_BROKER)",
       {NamesrvFlag(), {'b', "brokerName", "BROKERNAME", true, "broker name"}},
       [](const CommandContext& ctx) { return WritePerm(ctx, false); }},
  };
}

}  // namespace cometmq::admin
