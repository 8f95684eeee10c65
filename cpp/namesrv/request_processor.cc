#include "cpp/namesrv/request_processor.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "cpp/common/table_page.h"
#include "spdlog/spdlog.h"

namespace cometmq::namesrv {
namespace {

using remoting::Command;
using remoting::MakeResponse;

}  // namespace

std::vector<int32_t> RequestProcessor::Codes() {
  return {proto::REGISTER_BROKER,
          proto::UNREGISTER_BROKER,
          proto::GET_ROUTEINFO_BY_TOPIC,
          proto::GET_BROKER_CLUSTER_INFO,
          proto::GET_ALL_TOPIC_LIST_FROM_NAMESERVER,
          proto::DELETE_TOPIC_IN_NAMESRV,
          proto::WIPE_WRITE_PERM_OF_BROKER,
          proto::ADD_WRITE_PERM_OF_BROKER};
}

Command RequestProcessor::Process(const Command& request,
                                  absl::string_view remote_address,
                                  absl::Time now) {
  switch (request.header.code()) {
    case proto::REGISTER_BROKER:
      return RegisterBroker(request, remote_address, now);
    case proto::UNREGISTER_BROKER:
      return UnregisterBroker(request);
    case proto::GET_ROUTEINFO_BY_TOPIC:
      return GetRoute(request);
    case proto::GET_BROKER_CLUSTER_INFO:
      return GetClusterInfo(request);
    case proto::GET_ALL_TOPIC_LIST_FROM_NAMESERVER:
      return GetAllTopics(request);
    case proto::DELETE_TOPIC_IN_NAMESRV:
      return DeleteTopic(request);
    case proto::WIPE_WRITE_PERM_OF_BROKER:
    case proto::ADD_WRITE_PERM_OF_BROKER:
      return WritePerm(request);
    default:
      return MakeResponse(request, proto::REQUEST_CODE_NOT_SUPPORTED,
                          absl::StrCat("the name server does not handle "
                                       "request code ",
                                       request.header.code()));
  }
}

Command RequestProcessor::RegisterBroker(const Command& request,
                                         absl::string_view remote_address,
                                         absl::Time now) {
  if (!request.header.has_register_broker()) {
    return remoting::MissingPayloadResponse(request, "register_broker");
  }
  const proto::RegisterBrokerRequest& broker = request.header.register_broker();
  absl::StatusOr<RegisterResult> result =
      routes_->RegisterBroker(broker, remote_address, now);
  if (!result.ok()) {
    spdlog::warn("rejected registration from {}: {}",
                 std::string(remote_address), result.status().ToString());
    return MakeResponse(request, proto::BAD_REQUEST, result.status().message());
  }
  spdlog::debug("registered broker {}[{}] {} of cluster {} with {} topics{}",
                broker.broker_name(), broker.broker_id(), broker.broker_addr(),
                broker.cluster(), broker.topic_configs_size(),
                broker.part_count() > 1
                    ? absl::StrCat(" (part ", broker.part_index() + 1, " of ",
                                   broker.part_count(), ")")
                    : "");
  Command response = MakeResponse(request, proto::SUCCESS);
  proto::RegisterBrokerResponse* out =
      response.header.mutable_register_broker_response();
  out->set_master_addr(std::move(result->master_addr));
  out->set_ha_server_addr(std::move(result->ha_server_addr));
  return response;
}

Command RequestProcessor::UnregisterBroker(const Command& request) {
  if (!request.header.has_unregister_broker()) {
    return remoting::MissingPayloadResponse(request, "unregister_broker");
  }
  const proto::UnregisterBrokerRequest& broker =
      request.header.unregister_broker();
  absl::Status status = routes_->UnregisterBroker(broker);
  if (status.ok()) {
    spdlog::info("unregistered broker {}[{}] {}", broker.broker_name(),
                 broker.broker_id(), broker.broker_addr());
    return MakeResponse(request, proto::SUCCESS);
  }
  // Unregistering is idempotent: a broker that expired or was replaced
  // before its goodbye arrived is gone either way.
  return MakeResponse(request, proto::SUCCESS, status.message());
}

Command RequestProcessor::GetRoute(const Command& request) {
  if (!request.header.has_topic_route()) {
    return remoting::MissingPayloadResponse(request, "topic_route");
  }
  absl::StatusOr<proto::TopicRouteData> route =
      routes_->GetTopicRoute(request.header.topic_route().topic());
  if (!route.ok()) {
    return MakeResponse(request, proto::TOPIC_NOT_EXIST,
                        route.status().message());
  }
  Command response = MakeResponse(request, proto::SUCCESS);
  *response.header.mutable_topic_route_response() = *std::move(route);
  return response;
}

Command RequestProcessor::GetClusterInfo(const Command& request) {
  Command response = MakeResponse(request, proto::SUCCESS);
  *response.header.mutable_cluster_info_response() = routes_->GetClusterInfo();
  return response;
}

Command RequestProcessor::GetAllTopics(const Command& request) {
  Command response = MakeResponse(request, proto::SUCCESS);
  if (!request.header.has_page()) {
    // A client older than paging: the whole list (a list over the frame
    // limit is refused by the send, with the reason as its answer).
    *response.header.mutable_topic_list_response() = routes_->GetAllTopics();
    return response;
  }
  *response.header.mutable_topic_list_response() =
      routes_->GetTopicsPage(request.header.page().after(),
                             PageBytes(request.header.page().max_bytes()));
  return response;
}

Command RequestProcessor::DeleteTopic(const Command& request) {
  if (!request.header.has_delete_topic()) {
    return remoting::MissingPayloadResponse(request, "delete_topic");
  }
  const proto::DeleteTopicRequest& del = request.header.delete_topic();
  absl::Status status = routes_->DeleteTopic(del.topic(), del.cluster());
  if (!status.ok()) {
    return MakeResponse(request, proto::TOPIC_NOT_EXIST, status.message());
  }
  spdlog::info("deleted topic {}{}", del.topic(),
               del.cluster().empty() ? "" : " on cluster " + del.cluster());
  return MakeResponse(request, proto::SUCCESS);
}

Command RequestProcessor::WritePerm(const Command& request) {
  if (!request.header.has_write_perm()) {
    return remoting::MissingPayloadResponse(request, "write_perm");
  }
  const std::string& name = request.header.write_perm().broker_name();
  if (name.empty()) {
    return MakeResponse(request, proto::BAD_REQUEST, "no broker name given");
  }
  const bool wipe = request.header.code() == proto::WIPE_WRITE_PERM_OF_BROKER;
  const int count =
      wipe ? routes_->WipeWritePerm(name) : routes_->AddWritePerm(name);
  spdlog::info("{} write perm of broker {}: {} topics",
               wipe ? "wiped" : "added", name, count);
  Command response = MakeResponse(request, proto::SUCCESS);
  response.header.mutable_write_perm_response()->set_topic_count(count);
  return response;
}

}  // namespace cometmq::namesrv
