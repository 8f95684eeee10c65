// The cluster subcommands: clusterList and brokerStatus.

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "cpp/admin/command.h"
#include "proto/remoting.pb.h"

namespace cometmq::admin {
namespace {

absl::Status ClusterList(const CommandContext& ctx) {
  absl::StatusOr<proto::ClusterInfo> info = ctx.admin->ClusterList();
  if (!info.ok()) return info.status();
  Table table({"#Cluster Name", "#Broker Name", "#BID", "#Addr"});
  JsonValue brokers = JsonValue::Array();
  // Sorted by cluster, broker name, broker id.
  std::map<std::string, std::vector<std::string>> clusters;
  for (const auto& [cluster, names] : info->cluster_table()) {
    clusters[cluster].assign(names.names().begin(), names.names().end());
  }
  for (auto& [cluster, names] : clusters) {
    std::sort(names.begin(), names.end());
    for (const std::string& name : names) {
      auto broker = info->broker_table().find(name);
      if (broker == info->broker_table().end()) continue;
      std::map<int64_t, std::string> addrs(
          broker->second.broker_addrs().begin(),
          broker->second.broker_addrs().end());
      for (const auto& [id, addr] : addrs) {
        table.AddRow({cluster, name, absl::StrCat(id), addr});
        JsonValue entry = JsonValue::Object();
        entry.Set("cluster", JsonValue::String(cluster))
            .Set("brokerName", JsonValue::String(name))
            .Set("brokerId", JsonValue::Int(id))
            .Set("addr", JsonValue::String(addr));
        brokers.Push(std::move(entry));
      }
    }
  }
  JsonValue json = JsonValue::Object();
  json.Set("brokers", std::move(brokers));
  ctx.Emit({table}, json);
  return absl::OkStatus();
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

}  // namespace

std::vector<CommandSpec> ClusterCommands() {
  return {
      {"clusterList",
       "Cluster",
       "List the brokers of every cluster",
       {NamesrvFlag()},
       ClusterList},
      {"brokerStatus",
       "Cluster",
       "Show a broker's runtime statistics (GET_BROKER_RUNTIME_INFO)",
       {NamesrvFlag(),
        {'b', "brokerAddr", "BROKERADDR", true, "broker address host:port"}},
       BrokerStatus},
  };
}

}  // namespace cometmq::admin
