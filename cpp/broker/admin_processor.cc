#include "cpp/broker/admin_processor.h"

#include <sys/statvfs.h>

#include <algorithm>
#include <fstream>
#include <memory>
#include <set>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "cpp/broker/transactional_message.h"
#include "spdlog/spdlog.h"

namespace cometmq::broker {
namespace {

using remoting::Command;
using remoting::MakeResponse;

constexpr int kDefaultQueryMax = 64;
constexpr int kQueryMaxLimit = 1024;

// Used fraction of the file system holding `path`, or -1 if unknown.
double DiskRatio(const std::string& path) {
  struct statvfs fs {};
  if (statvfs(path.c_str(), &fs) != 0 || fs.f_blocks == 0) return -1;
  const double total = static_cast<double>(fs.f_blocks);
  return (total - static_cast<double>(fs.f_bavail)) / total;
}

// A line of /proc/self/status such as "RssAnon:  1234 kB", or "".
std::string ProcStatus(absl::string_view field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (absl::StartsWith(line, absl::StrCat(field, ":"))) {
      std::string value = line.substr(field.size() + 1);
      value.erase(0, value.find_first_not_of(" \t"));
      return value;
    }
  }
  return "";
}

}  // namespace

AdminProcessor::AdminProcessor(
    const BrokerConfig& config, store::MessageStore* store,
    TopicConfigManager* topics, ConsumerOffsetManager* offsets,
    SubscriptionGroupManager* groups, const ScheduleService* schedule,
    ClientManager* clients, ThreadPool* pool, RuntimeFigures figures,
    std::function<void()> register_now, UpdateConfig update_config)
    : config_(config),
      store_(store),
      topics_(topics),
      offsets_(offsets),
      groups_(groups),
      schedule_(schedule),
      clients_(clients),
      pool_(pool),
      figures_(std::move(figures)),
      register_now_(std::move(register_now)),
      update_config_(std::move(update_config)) {}

std::vector<int32_t> AdminProcessor::Codes() {
  return {proto::GET_MIN_OFFSET,
          proto::GET_MAX_OFFSET,
          proto::SEARCH_OFFSET_BY_TIMESTAMP,
          proto::UPDATE_AND_CREATE_TOPIC,
          proto::DELETE_TOPIC_IN_BROKER,
          proto::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP,
          proto::DELETE_SUBSCRIPTIONGROUP,
          proto::GET_ALL_TOPIC_CONFIG,
          proto::GET_ALL_CONSUMER_OFFSET,
          proto::GET_ALL_SUBSCRIPTIONGROUP_CONFIG,
          proto::GET_ALL_DELAY_OFFSET,
          proto::GET_TOPIC_STATS_INFO,
          proto::GET_CONSUME_STATS,
          proto::VIEW_MESSAGE_BY_ID,
          proto::QUERY_MESSAGE,
          proto::GET_BROKER_RUNTIME_INFO,
          proto::GET_BROKER_CONFIG,
          proto::UPDATE_BROKER_CONFIG,
          proto::QUERY_TOPIC_CONSUME_BY_WHO,
          proto::INVOKE_BROKER_TO_RESET_OFFSET,
          proto::CLONE_GROUP_OFFSET};
}

namespace {

// Codes whose answers are read from what the dispatcher builds.
bool ReadsDispatchedState(int32_t code) {
  switch (code) {
    case proto::GET_MAX_OFFSET:
    case proto::SEARCH_OFFSET_BY_TIMESTAMP:
    case proto::GET_TOPIC_STATS_INFO:
    case proto::GET_CONSUME_STATS:
    case proto::QUERY_MESSAGE:
    // skipAccumulatedMessage skips every message sent before it.
    case proto::INVOKE_BROKER_TO_RESET_OFFSET:
      return true;
    default:
      return false;
  }
}

}  // namespace

void AdminProcessor::Handle(Command request, remoting::Responder responder) {
  auto shared = std::make_shared<const Command>(std::move(request));
  auto queue = [this, shared, responder] {
    if (!pool_->TrySubmit([this, shared, responder] {
          responder.Respond(Process(*shared));
        })) {
      responder.Respond(MakeResponse(*shared, proto::SYSTEM_BUSY,
                                     "the broker's admin queue is full"));
    }
  };
  if (!ReadsDispatchedState(shared->header.code())) {
    queue();
    return;
  }
  // Acknowledged messages reach their consume queues a moment later, longer
  // for a new queue, whose files are created first (several ms each). No
  // thread waits: the dispatcher queues the request once it is there. When
  // dispatching is stalled (a queue that cannot be written) the answer is
  // what the queues hold; the stall is logged by the store.
  store_->WhenAcknowledgedDispatched(
      [queue = std::move(queue)](bool) { queue(); });
}

Command AdminProcessor::Process(const Command& request) {
  switch (request.header.code()) {
    case proto::GET_MIN_OFFSET:
    case proto::GET_MAX_OFFSET:
    case proto::SEARCH_OFFSET_BY_TIMESTAMP:
      return QueueOffset(request);
    case proto::UPDATE_AND_CREATE_TOPIC:
      return UpdateTopic(request);
    case proto::DELETE_TOPIC_IN_BROKER:
      return DeleteTopic(request);
    case proto::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP:
      return UpdateGroup(request);
    case proto::DELETE_SUBSCRIPTIONGROUP:
      return DeleteGroup(request);
    case proto::GET_ALL_TOPIC_CONFIG:
      return AllTopics(request);
    case proto::GET_ALL_CONSUMER_OFFSET:
    case proto::GET_ALL_SUBSCRIPTIONGROUP_CONFIG:
      return TextTable(request);
    case proto::GET_ALL_DELAY_OFFSET: {
      Command response = MakeResponse(request, proto::SUCCESS);
      int64_t copies_end = 0;
      response.body = schedule_->Encode(&copies_end);
      response.header.mutable_delay_offset_table_response()->set_copies_end(
          copies_end);
      return response;
    }
    case proto::GET_TOPIC_STATS_INFO:
      return TopicStats(request);
    case proto::GET_CONSUME_STATS:
      return ConsumeStats(request);
    case proto::VIEW_MESSAGE_BY_ID:
      return ViewMessage(request);
    case proto::QUERY_MESSAGE:
      return QueryMessage(request);
    case proto::GET_BROKER_RUNTIME_INFO:
      return RuntimeInfo(request);
    case proto::GET_BROKER_CONFIG: {
      Command response = MakeResponse(request, proto::SUCCESS);
      auto* table =
          response.header.mutable_broker_config_response()->mutable_table();
      for (auto& [key, value] : config_.Values()) {
        (*table)[key] = std::move(value);
      }
      return response;
    }
    case proto::UPDATE_BROKER_CONFIG:
      return UpdateBrokerConfig(request);
    case proto::QUERY_TOPIC_CONSUME_BY_WHO:
      return TopicConsumeByWho(request);
    case proto::INVOKE_BROKER_TO_RESET_OFFSET:
      return ResetOffset(request);
    case proto::CLONE_GROUP_OFFSET:
      return CloneGroupOffset(request);
    default:
      return MakeResponse(request, proto::REQUEST_CODE_NOT_SUPPORTED,
                          absl::StrCat("request code ", request.header.code(),
                                       " is not an admin request"));
  }
}

Command AdminProcessor::QueueOffset(const Command& request) {
  if (!request.header.has_queue_offset()) {
    return remoting::MissingPayloadResponse(request, "queue_offset");
  }
  const proto::QueueOffsetRequest& q = request.header.queue_offset();
  int64_t offset = 0;
  switch (request.header.code()) {
    case proto::GET_MIN_OFFSET:
      offset = store_->MinOffsetInQueue(q.topic(), q.queue_id());
      break;
    case proto::GET_MAX_OFFSET:
      offset = store_->MaxOffsetInQueue(q.topic(), q.queue_id());
      break;
    default:
      offset = store_->OffsetByTime(q.topic(), q.queue_id(), q.timestamp());
  }
  Command response = MakeResponse(request, proto::SUCCESS);
  response.header.mutable_queue_offset_response()->set_offset(offset);
  return response;
}

Command AdminProcessor::UpdateBrokerConfig(const Command& request) {
  if (!request.header.has_update_broker_config()) {
    return remoting::MissingPayloadResponse(request, "update_broker_config");
  }
  if (!update_config_) {
    return MakeResponse(request, proto::REQUEST_CODE_NOT_SUPPORTED,
                        "this broker cannot change its configuration");
  }
  const proto::UpdateBrokerConfigRequest& update =
      request.header.update_broker_config();
  absl::Status status = update_config_(update.key(), update.value());
  if (!status.ok()) {
    return MakeResponse(request,
                        absl::IsInvalidArgument(status) ? proto::BAD_REQUEST
                                                        : proto::SYSTEM_ERROR,
                        status.message());
  }
  return MakeResponse(request, proto::SUCCESS);
}

Command AdminProcessor::UpdateTopic(const Command& request) {
  if (!request.header.has_topic_config()) {
    return remoting::MissingPayloadResponse(request, "topic_config");
  }
  const proto::TopicConfig& topic = request.header.topic_config();
  if (topic.topic_name() == kScheduleTopic ||
      IsTransactionTopic(topic.topic_name())) {
    return MakeResponse(request, proto::NO_PERMISSION,
                        absl::StrCat("the system topic[", topic.topic_name(),
                                     "] cannot be changed"));
  }
  const std::optional<proto::TopicConfig> before =
      topics_->Find(topic.topic_name());
  if (absl::Status s = topics_->Update(topic); !s.ok()) {
    return MakeResponse(
        request,
        absl::IsInvalidArgument(s) ? proto::BAD_REQUEST : proto::SYSTEM_ERROR,
        s.message());
  }
  spdlog::info("topic {} created or updated: read {} write {} perm {}",
               topic.topic_name(), topic.read_queue_nums(),
               topic.write_queue_nums(), topic.perm());
  if (before.has_value()) StartAddedQueues(*before, topic);
  if (register_now_) register_now_();
  return MakeResponse(request, proto::SUCCESS);
}

void AdminProcessor::StartAddedQueues(const proto::TopicConfig& before,
                                      const proto::TopicConfig& after) {
  const int32_t old_count =
      std::max(before.read_queue_nums(), before.write_queue_nums());
  const int32_t new_count =
      std::max(after.read_queue_nums(), after.write_queue_nums());
  std::map<int32_t, int64_t> starts;
  for (int32_t queue_id = old_count; queue_id < new_count; ++queue_id) {
    // Usually 0; a queue that held messages before the topic shrank keeps
    // them, and a group new to it starts with them.
    starts[queue_id] = store_->MinOffsetInQueue(after.topic_name(), queue_id);
  }
  if (starts.empty()) return;
  std::vector<std::string> groups =
      offsets_->StartAddedQueues(after.topic_name(), starts);
  if (groups.empty()) return;
  spdlog::info(
      "topic {} grew from {} to {} queues: groups {} start them at "
      "their first message",
      after.topic_name(), old_count, new_count, absl::StrJoin(groups, ", "));
  // At once rather than with the next periodic write: a crash before it
  // would send these groups to their consume-from point after all.
  if (absl::Status s = offsets_->Persist(); !s.ok()) {
    spdlog::warn("consumer offsets not written, retried later: {}",
                 s.ToString());
  }
}

Command AdminProcessor::UpdateGroup(const Command& request) {
  if (!request.header.has_subscription_group()) {
    return remoting::MissingPayloadResponse(request, "subscription_group");
  }
  const proto::SubscriptionGroupConfig& config =
      request.header.subscription_group();
  if (absl::Status s = ValidateGroupName(config.group_name()); !s.ok()) {
    return MakeResponse(request, proto::BAD_REQUEST, s.message());
  }
  if (config.retry_max_times() < 0 || config.retry_queue_nums() < 0) {
    return MakeResponse(request, proto::BAD_REQUEST,
                        "retry_max_times and retry_queue_nums must be >= 0");
  }
  SubscriptionGroup group;
  group.name = config.group_name();
  group.consume_enable = config.consume_enable();
  group.retry_max_times = config.retry_max_times();
  group.retry_queue_nums = config.retry_queue_nums();
  groups_->Update(group);
  if (absl::Status s = groups_->Persist(); !s.ok()) {
    return MakeResponse(
        request, proto::SYSTEM_ERROR,
        absl::StrCat("group updated but not persisted: ", s.message()));
  }
  spdlog::info(
      "subscription group {} created or updated: consumeEnable {} "
      "retryMaxTimes {} retryQueueNums {}",
      group.name, group.consume_enable, group.retry_max_times,
      group.retry_queue_nums);
  return MakeResponse(request, proto::SUCCESS);
}

Command AdminProcessor::DeleteGroup(const Command& request) {
  if (!request.header.has_delete_subscription_group()) {
    return remoting::MissingPayloadResponse(request,
                                            "delete_subscription_group");
  }
  const proto::DeleteSubscriptionGroupRequest& req =
      request.header.delete_subscription_group();
  if (absl::Status s = ValidateGroupName(req.group_name()); !s.ok()) {
    return MakeResponse(request, proto::BAD_REQUEST, s.message());
  }
  // As RocketMQ: deleting a group the broker does not know succeeds (the
  // answer says it did not exist).
  const bool existed = groups_->Delete(req.group_name());
  if (absl::Status s = groups_->Persist(); !s.ok()) {
    return MakeResponse(
        request, proto::SYSTEM_ERROR,
        absl::StrCat("group deleted but not persisted: ", s.message()));
  }
  int removed = 0;
  if (req.clean_offset()) {
    removed = offsets_->RemoveGroup(req.group_name());
    if (absl::Status s = offsets_->Persist(); !s.ok()) {
      return MakeResponse(
          request, proto::SYSTEM_ERROR,
          absl::StrCat("offsets removed but not persisted: ", s.message()));
    }
  }
  if (existed) {
    spdlog::info("subscription group {} deleted ({} offset entries removed)",
                 req.group_name(), removed);
  } else {
    spdlog::warn(
        "delete subscription group {}: no such group ({} offset entries "
        "removed)",
        req.group_name(), removed);
  }
  Command response = MakeResponse(request, proto::SUCCESS);
  proto::DeleteSubscriptionGroupResponse* out =
      response.header.mutable_delete_subscription_group_response();
  out->set_existed(existed);
  out->set_offsets_removed(removed);
  return response;
}

Command AdminProcessor::DeleteTopic(const Command& request) {
  if (!request.header.has_delete_topic()) {
    return remoting::MissingPayloadResponse(request, "delete_topic");
  }
  const std::string& topic = request.header.delete_topic().topic();
  if (topic == kScheduleTopic || IsTransactionTopic(topic)) {
    return MakeResponse(
        request, proto::NO_PERMISSION,
        absl::StrCat("the system topic[", topic, "] cannot be deleted"));
  }
  absl::Status deleted = topics_->Delete(topic);
  if (!deleted.ok() && !absl::IsNotFound(deleted)) {
    return MakeResponse(request, proto::SYSTEM_ERROR, deleted.message());
  }
  // Even an unknown topic may have leftover queues and offsets: clean them.
  store_->DeleteTopics({topic});
  offsets_->RemoveTopic(topic);
  spdlog::info("topic {} deleted", topic);
  if (register_now_) register_now_();
  return MakeResponse(request, proto::SUCCESS);
}

Command AdminProcessor::AllTopics(const Command& request) {
  Command response = MakeResponse(request, proto::SUCCESS);
  proto::TopicList* out = response.header.mutable_topic_list_response();
  if (!request.header.has_page()) {
    // A slave older than paging: the whole table, names repeated, as it
    // expects (a table over the frame limit is refused by the send).
    for (proto::TopicConfig& topic : topics_->All()) {
      out->add_topics(topic.topic_name());
      *out->add_configs() = std::move(topic);
    }
    return response;
  }
  PageEnd end;
  for (proto::TopicConfig& topic :
       topics_->Page(request.header.page().after(),
                     PageBytes(request.header.page().max_bytes()), &end)) {
    *out->add_configs() = std::move(topic);
  }
  out->mutable_page()->set_more(end.more);
  out->mutable_page()->set_last(std::move(end.last));
  return response;
}

Command AdminProcessor::TextTable(const Command& request) {
  const bool offsets = request.header.code() == proto::GET_ALL_CONSUMER_OFFSET;
  Command response = MakeResponse(request, proto::SUCCESS);
  if (!request.header.has_page()) {
    response.body = offsets ? offsets_->Encode() : groups_->Encode();
    return response;
  }
  const std::string& after = request.header.page().after();
  const size_t max_bytes = PageBytes(request.header.page().max_bytes());
  PageEnd end;
  response.body = offsets ? offsets_->EncodePage(after, max_bytes, &end)
                          : groups_->EncodePage(after, max_bytes, &end);
  response.header.mutable_page_response()->set_more(end.more);
  response.header.mutable_page_response()->set_last(std::move(end.last));
  return response;
}

Command AdminProcessor::TopicStats(const Command& request) {
  if (!request.header.has_topic_stats()) {
    return remoting::MissingPayloadResponse(request, "topic_stats");
  }
  const std::string& name = request.header.topic_stats().topic();
  std::optional<proto::TopicConfig> topic = topics_->Find(name);
  if (!topic.has_value()) {
    return MakeResponse(
        request, proto::TOPIC_NOT_EXIST,
        absl::StrCat("topic[", name, "] not exist, apply first please!"));
  }
  Command response = MakeResponse(request, proto::SUCCESS);
  proto::TopicStats* out = response.header.mutable_topic_stats_response();
  const int32_t queues =
      std::max(topic->read_queue_nums(), topic->write_queue_nums());
  for (int32_t q = 0; q < queues; ++q) {
    proto::QueueStats* stats = out->add_queues();
    stats->set_broker_name(config_.brokerName);
    stats->set_queue_id(q);
    stats->set_min_offset(store_->MinOffsetInQueue(name, q));
    stats->set_max_offset(store_->MaxOffsetInQueue(name, q));
    if (stats->max_offset() > 0) {
      stats->set_last_update_timestamp(
          store_->StoreTimeAt(name, q, stats->max_offset() - 1));
    }
  }
  return response;
}

Command AdminProcessor::ConsumeStats(const Command& request) {
  if (!request.header.has_consume_stats()) {
    return remoting::MissingPayloadResponse(request, "consume_stats");
  }
  const proto::ConsumeStatsRequest& req = request.header.consume_stats();
  std::set<std::string> names;
  if (!req.topic().empty()) {
    names.insert(req.topic());
  } else {
    for (std::string& t : offsets_->TopicsOf(req.consumer_group())) {
      names.insert(std::move(t));
    }
    for (std::string& t : clients_->SubscribedTopics(req.consumer_group())) {
      names.insert(std::move(t));
    }
  }
  Command response = MakeResponse(request, proto::SUCCESS);
  proto::ConsumeStats* out = response.header.mutable_consume_stats_response();
  for (const std::string& name : names) {
    std::optional<proto::TopicConfig> topic = topics_->Find(name);
    if (!topic.has_value()) continue;
    std::map<int32_t, int64_t> committed =
        offsets_->QueueOffsets(req.consumer_group(), name);
    for (int32_t q = 0; q < topic->read_queue_nums(); ++q) {
      proto::QueueConsumeStats* stats = out->add_queues();
      stats->set_topic(name);
      stats->set_broker_name(config_.brokerName);
      stats->set_queue_id(q);
      stats->set_broker_offset(store_->MaxOffsetInQueue(name, q));
      // As RocketMQ: a queue the group never committed counts from 0.
      auto it = committed.find(q);
      stats->set_consumer_offset(it == committed.end() ? 0 : it->second);
    }
  }
  return response;
}

Command AdminProcessor::ViewMessage(const Command& request) {
  if (!request.header.has_view_message()) {
    return remoting::MissingPayloadResponse(request, "view_message");
  }
  const int64_t offset = request.header.view_message().commit_log_offset();
  store::RecordSlice slice;
  if (offset < 0 || !store_->ReadRecord(offset, &slice)) {
    return MakeResponse(
        request, proto::QUERY_NOT_FOUND,
        absl::StrCat("no message at commit log offset ", offset));
  }
  Command response = MakeResponse(request, proto::SUCCESS);
  response.body.assign(slice.bytes().data(), slice.bytes().size());
  return response;
}

Command AdminProcessor::QueryMessage(const Command& request) {
  if (!request.header.has_query_message()) {
    return remoting::MissingPayloadResponse(request, "query_message");
  }
  const proto::QueryMessageRequest& q = request.header.query_message();
  const int max = q.max_num() <= 0 ? kDefaultQueryMax
                                   : std::min(q.max_num(), kQueryMaxLimit);
  const int64_t end = q.end_timestamp() > 0 ? q.end_timestamp()
                                            : absl::ToUnixMillis(absl::Now());
  std::vector<int64_t> offsets = store_->QueryByKey(
      q.topic(), q.key(), static_cast<size_t>(max), q.begin_timestamp(), end);
  Command response = MakeResponse(request, proto::SUCCESS);
  for (int64_t offset : offsets) {
    store::RecordSlice slice;
    if (store_->ReadRecord(offset, &slice)) {
      response.body.append(slice.bytes().data(), slice.bytes().size());
    }
  }
  if (response.body.empty()) {
    return MakeResponse(
        request, proto::QUERY_NOT_FOUND,
        absl::StrCat("no message with key ", q.key(), " in topic ", q.topic()));
  }
  return response;
}

Command AdminProcessor::RuntimeInfo(const Command& request) {
  Command response = MakeResponse(request, proto::SUCCESS);
  auto* table =
      response.header.mutable_broker_runtime_info_response()->mutable_table();
  const int64_t max = store_->MaxPhysicalOffset();
  const int64_t dispatched = store_->DispatchedOffset();
  (*table)["commitLogMinOffset"] = absl::StrCat(store_->MinPhysicalOffset());
  (*table)["commitLogMaxOffset"] = absl::StrCat(max);
  (*table)["dispatchOffset"] = absl::StrCat(dispatched);
  (*table)["dispatchBehindBytes"] = absl::StrCat(max - dispatched);
  (*table)["dispatchStalled"] = store_->DispatchStalled() ? "true" : "false";
  (*table)["flushedOffset"] = absl::StrCat(store_->FlushedOffset());
  (*table)["commitLogFlushes"] = absl::StrCat(store_->CommitLogFlushes());
  const absl::Status flush_failure = store_->FlushFailure();
  (*table)["commitLogFlushError"] =
      flush_failure.ok() ? "none" : std::string(flush_failure.message());
  (*table)["commitLogDiskRatio"] =
      absl::StrFormat("%.4f", DiskRatio(config_.store.storePathRootDir));
  (*table)["diskFull"] = store_->disk_full() ? "true" : "false";
  (*table)["RssAnon"] = ProcStatus("RssAnon");
  (*table)["VmRSS"] = ProcStatus("VmRSS");
  (*table)["brokerName"] = config_.brokerName;
  (*table)["brokerId"] = absl::StrCat(config_.brokerId);
  (*table)["brokerRole"] = config_.store.brokerRole;
  (*table)["flushDiskType"] = config_.store.flushDiskType;
  if (figures_) {
    for (auto& [key, value] : figures_()) (*table)[key] = value;
  }
  return response;
}

Command AdminProcessor::TopicConsumeByWho(const Command& request) {
  if (!request.header.has_query_topic_consume_by_who()) {
    return remoting::MissingPayloadResponse(request,
                                            "query_topic_consume_by_who");
  }
  const std::string& topic =
      request.header.query_topic_consume_by_who().topic();
  std::set<std::string> groups;
  for (std::string& group : clients_->GroupsSubscribedTo(topic)) {
    groups.insert(std::move(group));
  }
  for (std::string& group : offsets_->GroupsOf(topic)) {
    groups.insert(std::move(group));
  }
  Command response = MakeResponse(request, proto::SUCCESS);
  proto::GroupList* list = response.header.mutable_group_list_response();
  for (const std::string& group : groups) list->add_groups(group);
  return response;
}

}  // namespace cometmq::broker
