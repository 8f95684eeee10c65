// Offset changes an admin makes for a consumer group while it may run:
// resets (resetOffsetByTime, skipAccumulatedMessage) and clones
// (cloneGroupOffset). Both store the offsets and tell the group's online
// clients under the offset table's lock (CommitAndAnnounce), so no commit
// of theirs can silently replace the new offsets.

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "cpp/broker/admin_processor.h"
#include "cpp/common/offset_reset.h"
#include "spdlog/spdlog.h"

namespace cometmq::broker {

using remoting::Command;
using remoting::MakeResponse;

namespace {

// RESET_CONSUMER_CLIENT_OFFSET for `group`'s clients: `offsets` of `topic`
// on this broker.
Command NewOffsetsNotice(const std::string& broker_name,
                         const std::string& group, const std::string& topic,
                         const std::string& message_model, int64_t timestamp,
                         const std::map<int32_t, int64_t>& offsets) {
  Command notify = remoting::MakeRequest(proto::RESET_CONSUMER_CLIENT_OFFSET);
  notify.header.set_flags(proto::FLAG_ONEWAY);
  proto::ResetOffsetTable* table = notify.header.mutable_reset_offset_table();
  table->set_topic(topic);
  table->set_group(group);
  table->set_broker_name(broker_name);
  table->set_timestamp(timestamp);
  table->set_message_model(message_model);
  for (const auto& [queue_id, offset] : offsets) {
    proto::QueueResetOffset* entry = table->add_offsets();
    entry->set_queue_id(queue_id);
    entry->set_offset(offset);
  }
  return notify;
}

}  // namespace

int AdminProcessor::TellResetOffset(const Command& notify,
                                    const std::vector<ClientChannel>& members) {
  int notified = 0;
  for (const ClientChannel& member : members) {
    std::shared_ptr<remoting::Connection> connection = member.connection.lock();
    if (connection == nullptr) continue;
    Command copy = notify;
    if (absl::Status s = connection->Send(std::move(copy)); !s.ok()) {
      const proto::ResetOffsetTable& table = notify.header.reset_offset_table();
      spdlog::warn("new offsets of {} on {}: cannot tell {}: {}", table.group(),
                   table.topic(), member.client_id, s.ToString());
      continue;
    }
    ++notified;
  }
  return notified;
}

Command AdminProcessor::ResetOffset(const Command& request) {
  if (!request.header.has_reset_offset()) {
    return remoting::MissingPayloadResponse(request, "reset_offset");
  }
  const proto::ResetOffsetRequest& req = request.header.reset_offset();
  if (config_.slave()) {
    // A slave's offsets are replaced by its master's at the next sync.
    return MakeResponse(
        request, proto::NO_PERMISSION,
        absl::StrCat("the broker[", config_.brokerName,
                     "] is a slave: reset offsets on its master"));
  }
  std::optional<proto::TopicConfig> topic = topics_->Find(req.topic());
  if (!topic.has_value()) {
    return MakeResponse(
        request, proto::TOPIC_NOT_EXIST,
        absl::StrCat("topic[", req.topic(), "] not exist on broker ",
                     config_.brokerName));
  }
  // Checked first: a group with nobody to tell is reset by the admin's
  // direct write instead (as RocketMQ's resetOffsetByTimestampOld).
  std::optional<ConsumerConnection> group =
      clients_->ConsumerConnectionOf(req.group());
  if (!group.has_value()) {
    return MakeResponse(
        request, proto::CONSUMER_NOT_ONLINE,
        absl::StrCat("Consumer not online, so can not reset offset, Group: ",
                     req.group(), " Topic: ", req.topic(),
                     " Timestamp: ", req.timestamp()));
  }
  const bool broadcasting = group->message_model == "BROADCASTING";
  std::map<int32_t, int64_t> committed =
      offsets_->QueueOffsets(req.group(), req.topic());
  std::map<int32_t, int64_t> targets;
  for (int32_t q = 0; q < topic->read_queue_nums(); ++q) {
    const int64_t target =
        req.timestamp() == -1
            ? store_->MaxOffsetInQueue(req.topic(), q)
            : store_->OffsetByTime(req.topic(), q, req.timestamp());
    // A broadcasting group's offsets are its clients' own: the broker has
    // none to keep, so every queue takes the target.
    std::optional<int64_t> current;
    if (auto it = committed.find(q); it != committed.end() && !broadcasting) {
      current = it->second;
    }
    targets[q] = ResetOffsetFor(target, current, req.force());
  }
  const Command notify =
      NewOffsetsNotice(config_.brokerName, req.group(), req.topic(),
                       group->message_model, req.timestamp(), targets);
  const proto::ResetOffsetTable* table = &notify.header.reset_offset_table();
  const std::map<int32_t, int64_t> stored =
      broadcasting ? std::map<int32_t, int64_t>{} : targets;
  int notified = 0;
  offsets_->CommitAndAnnounce(req.group(), req.topic(), stored, [&] {
    notified = TellResetOffset(notify, group->members);
  });
  if (!stored.empty()) {
    // At once: a crash before the periodic write would bring the old
    // offsets back.
    if (absl::Status s = offsets_->Persist(); !s.ok()) {
      spdlog::warn("consumer offsets not written, retried later: {}",
                   s.ToString());
    }
  }
  spdlog::info(
      "reset offsets of group {} on topic {} (timestamp {}, force {}): {} "
      "queues, {} of {} clients told",
      req.group(), req.topic(), req.timestamp(), req.force(),
      table->offsets_size(), notified, group->members.size());
  Command response = MakeResponse(request, proto::SUCCESS);
  proto::ResetOffsetTable* answer =
      response.header.mutable_reset_offset_table();
  *answer = *table;
  answer->set_clients_notified(notified);
  return response;
}

Command AdminProcessor::CloneGroupOffset(const Command& request) {
  if (!request.header.has_clone_group_offset()) {
    return remoting::MissingPayloadResponse(request, "clone_group_offset");
  }
  const proto::CloneGroupOffsetRequest& req =
      request.header.clone_group_offset();
  if (req.src_group().empty() || req.dest_group().empty() ||
      req.src_group() == req.dest_group()) {
    return MakeResponse(request, proto::BAD_REQUEST,
                        "clone needs two different groups, src and dest");
  }
  if (config_.slave()) {
    return MakeResponse(
        request, proto::NO_PERMISSION,
        absl::StrCat("the broker[", config_.brokerName,
                     "] is a slave: clone offsets on its master"));
  }
  const std::vector<std::string> topics =
      req.topic().empty() ? offsets_->TopicsOf(req.src_group())
                          : std::vector<std::string>{req.topic()};
  const std::optional<ConsumerConnection> src =
      clients_->ConsumerConnectionOf(req.src_group());
  const std::optional<ConsumerConnection> dest =
      clients_->ConsumerConnectionOf(req.dest_group());
  Command response = MakeResponse(request, proto::SUCCESS);
  proto::CloneGroupOffsetResponse* answer =
      response.header.mutable_clone_group_offset_response();
  for (const std::string& topic : topics) {
    if (!topics_->Find(topic).has_value()) {
      spdlog::warn("clone offsets of {} to {}: no topic {} here",
                   req.src_group(), req.dest_group(), topic);
      continue;
    }
    if (!req.offline() && src.has_value() &&
        !src->subscriptions.contains(topic)) {
      spdlog::warn(
          "clone offsets of {} to {}: its online members do not "
          "subscribe to {}",
          req.src_group(), req.dest_group(), topic);
      continue;
    }
    const std::map<int32_t, int64_t> offsets =
        offsets_->QueueOffsets(req.src_group(), topic);
    if (offsets.empty()) continue;
    const Command notify =
        NewOffsetsNotice(config_.brokerName, req.dest_group(), topic,
                         dest.has_value() ? dest->message_model : "CLUSTERING",
                         /*timestamp=*/0, offsets);
    offsets_->CommitAndAnnounce(req.dest_group(), topic, offsets, [&] {
      if (dest.has_value()) {
        answer->set_clients_notified(answer->clients_notified() +
                                     TellResetOffset(notify, dest->members));
      }
    });
    answer->add_topics(topic);
  }
  if (answer->topics_size() > 0) {
    if (absl::Status s = offsets_->Persist(); !s.ok()) {
      spdlog::warn("consumer offsets not written, retried later: {}",
                   s.ToString());
    }
  }
  spdlog::info("cloned the offsets of {} to {} on {} topics ({} clients told)",
               req.src_group(), req.dest_group(), answer->topics_size(),
               answer->clients_notified());
  return response;
}

}  // namespace cometmq::broker
