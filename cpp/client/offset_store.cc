#include "cpp/client/offset_store.h"

#include <cstdlib>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "cpp/client/client_error.h"
#include "cpp/client/local_offset_file.h"
#include "cpp/client/message_id.h"
#include "cpp/client/retry_copy.h"
#include "spdlog/spdlog.h"

namespace cometmq::client {

const char* ConsumeFromName(ConsumeFrom from) {
  switch (from) {
    case ConsumeFrom::kFirstOffset:
      return "CONSUME_FROM_FIRST_OFFSET";
    case ConsumeFrom::kTimestamp:
      return "CONSUME_FROM_TIMESTAMP";
    case ConsumeFrom::kLastOffset:
      break;
  }
  return "CONSUME_FROM_LAST_OFFSET";
}

const char* MessageModelName(MessageModel model) {
  return model == MessageModel::kBroadcasting ? "BROADCASTING" : "CLUSTERING";
}

std::string LocalOffsetPath(const ConsumerOptions& options,
                            const std::string& group) {
  std::string dir = options.local_offset_dir;
  if (dir.empty()) {
    const char* env = std::getenv("COMETMQ_OFFSET_DIR");
    const char* home = std::getenv("HOME");
    if (env != nullptr && *env != '\0') {
      dir = env;
    } else {
      dir = absl::StrCat(home != nullptr && *home != '\0' ? home : ".",
                         "/.cometmq_offsets");
    }
  }
  return absl::StrCat(dir, "/", Ipv4ToString(LocalIpv4()), "@",
                      options.client.instance_name, "/", group, "/offsets");
}

OffsetStore::OffsetStore(ClientInstance* instance, std::string group,
                         const ConsumerOptions& options)
    : instance_(instance),
      group_(std::move(group)),
      options_(options),
      local_path_(options_.model == MessageModel::kBroadcasting
                      ? LocalOffsetPath(options_, group_)
                      : "") {}

absl::Status OffsetStore::Load() {
  if (options_.model != MessageModel::kBroadcasting) return absl::OkStatus();
  absl::MutexLock persist_lock(&persist_mu_);
  absl::StatusOr<std::unique_ptr<OffsetFileLock>> file_lock =
      OffsetFileLock::Acquire(local_path_);
  if (!file_lock.ok()) return file_lock.status();
  absl::StatusOr<OffsetTable> table = ReadOffsetFile(local_path_);
  if (!table.ok()) return table.status();
  file_lock_ = *std::move(file_lock);
  absl::MutexLock lock(&mu_);
  local_ = *std::move(table);
  dirty_ = false;
  return absl::OkStatus();
}

void OffsetStore::Close() {
  absl::MutexLock persist_lock(&persist_mu_);
  file_lock_.reset();
}

absl::Status OffsetStore::Persist() {
  if (options_.model != MessageModel::kBroadcasting) return absl::OkStatus();
  absl::MutexLock persist_lock(&persist_mu_);
  OffsetTable table;
  {
    absl::MutexLock lock(&mu_);
    if (!dirty_) return absl::OkStatus();
    // Not claimed (Load failed) or given up (Close): another consumer may
    // own the file now.
    if (file_lock_ == nullptr) {
      return absl::FailedPreconditionError(
          absl::StrCat("offset file ", local_path_, " is not held"));
    }
    table = local_;
    dirty_ = false;
  }
  absl::Status status = WriteOffsetFile(local_path_, table);
  if (!status.ok()) {
    absl::MutexLock lock(&mu_);
    dirty_ = true;  // the next Persist() tries again
  }
  return status;
}

absl::StatusOr<int64_t> OffsetStore::QueueOffset(int32_t code,
                                                 const MessageQueue& queue,
                                                 int64_t timestamp) {
  remoting::Command request = remoting::MakeRequest(code);
  proto::QueueOffsetRequest* body = request.header.mutable_queue_offset();
  body->set_topic(queue.topic);
  body->set_queue_id(queue.queue_id);
  body->set_timestamp(timestamp);
  absl::StatusOr<remoting::Command> response =
      instance_->CallBrokerForRead(queue.broker_name, std::move(request),
                                   instance_->config().request_timeout);
  if (!response.ok()) return response.status();
  if (absl::Status status = ResponseStatus(*response); !status.ok()) {
    return Annotate(status, queue.ToString());
  }
  return response->header.queue_offset_response().offset();
}

absl::StatusOr<int64_t> OffsetStore::ConsumeFromOffset(
    const MessageQueue& queue) {
  // Everything in a group's retry queue is the group's own failed messages,
  // so where a new group starts reading its topics does not apply: a retry
  // that arrived before the group committed there (a copy sent through
  // another broker, a consumer killed before its commit) is still consumed.
  if (options_.model == MessageModel::kClustering &&
      queue.topic == RetryTopic(group_)) {
    return QueueOffset(proto::GET_MIN_OFFSET, queue, 0);
  }
  switch (options_.consume_from) {
    case ConsumeFrom::kFirstOffset:
      return QueueOffset(proto::GET_MIN_OFFSET, queue, 0);
    case ConsumeFrom::kLastOffset:
      return QueueOffset(proto::GET_MAX_OFFSET, queue, 0);
    case ConsumeFrom::kTimestamp: {
      int64_t timestamp = options_.consume_timestamp_millis;
      if (timestamp == 0) {
        timestamp = absl::ToUnixMillis(absl::Now() - absl::Minutes(30));
      }
      return QueueOffset(proto::SEARCH_OFFSET_BY_TIMESTAMP, queue, timestamp);
    }
  }
  return absl::InternalError("unknown consume_from");
}

absl::StatusOr<int64_t> OffsetStore::StartOffset(const MessageQueue& queue) {
  if (options_.model == MessageModel::kBroadcasting) {
    {
      absl::MutexLock lock(&mu_);
      auto it = local_.find(queue);
      if (it != local_.end()) return it->second;
    }
    return ConsumeFromOffset(queue);
  }
  remoting::Command request =
      remoting::MakeRequest(proto::QUERY_CONSUMER_OFFSET);
  proto::ConsumerOffsetRequest* body = request.header.mutable_consumer_offset();
  body->set_consumer_group(group_);
  body->set_topic(queue.topic);
  body->set_queue_id(queue.queue_id);
  std::string asked;
  absl::StatusOr<remoting::Command> response =
      instance_->CallBrokerForRead(queue.broker_name, std::move(request),
                                   instance_->config().request_timeout, &asked);
  if (!response.ok()) return response.status();
  if (response->header.status() == proto::QUERY_NOT_FOUND) {
    absl::StatusOr<std::string> master =
        instance_->routes()->MasterAddress(queue.broker_name);
    if (master.ok() && *master == asked) return ConsumeFromOffset(queue);
    // Only the master knows the group never committed here: a slave copies
    // offsets every slaveSyncIntervalMillis, and one whose master died
    // before it copied a group's first commits knows none of them. Starting
    // where a new group would (the end of the queue, for LAST_OFFSET) could
    // skip what was sent after those commits; the queue's first message
    // redelivers instead of skipping.
    spdlog::warn(
        "consumer {}: slave {} knows no offset of {}; starting at the "
        "queue's first message rather than risk skipping any",
        group_, asked, queue.ToString());
    return QueueOffset(proto::GET_MIN_OFFSET, queue, 0);
  }
  if (absl::Status status = ResponseStatus(*response); !status.ok()) {
    return Annotate(status, queue.ToString());
  }
  return response->header.consumer_offset_response().offset();
}

remoting::Command OffsetStore::UpdateRequest(const MessageQueue& queue,
                                             int64_t offset) const {
  remoting::Command request =
      remoting::MakeRequest(proto::UPDATE_CONSUMER_OFFSET);
  proto::ConsumerOffsetRequest* body = request.header.mutable_consumer_offset();
  body->set_consumer_group(group_);
  body->set_topic(queue.topic);
  body->set_queue_id(queue.queue_id);
  body->set_commit_offset(offset);
  return request;
}

absl::Status OffsetStore::CommitSync(const MessageQueue& queue,
                                     int64_t offset) {
  if (options_.model == MessageModel::kBroadcasting) {
    {
      absl::MutexLock lock(&mu_);
      local_[queue] = offset;
      dirty_ = true;
    }
    return Persist();
  }
  absl::StatusOr<remoting::Command> response = instance_->CallBrokerForRead(
      queue.broker_name, UpdateRequest(queue, offset),
      instance_->config().request_timeout);
  if (!response.ok()) return response.status();
  return Annotate(ResponseStatus(*response), queue.ToString());
}

bool OffsetStore::CommitAsync(const MessageQueue& queue, int64_t offset) {
  if (options_.model == MessageModel::kBroadcasting) {
    // Written to the file by the next Persist().
    absl::MutexLock lock(&mu_);
    local_[queue] = offset;
    dirty_ = true;
    return true;
  }
  absl::StatusOr<std::string> addr =
      instance_->routes()->ReadAddress(queue.broker_name);
  if (!addr.ok()) return false;  // the next periodic commit tries again
  const bool sent = instance_->remoting()
                        ->InvokeOneway(*addr, UpdateRequest(queue, offset))
                        .ok();
  absl::StatusOr<std::string> master =
      instance_->routes()->MasterAddress(queue.broker_name);
  return sent && master.ok() && *master == *addr;
}

}  // namespace cometmq::client
