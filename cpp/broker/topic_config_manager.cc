#include "cpp/broker/topic_config_manager.h"

#include <algorithm>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "cpp/broker/config_file.h"
#include "cpp/broker/table_file.h"
#include "cpp/common/properties.h"
#include "cpp/common/resource_name.h"

namespace cometmq::broker {
namespace {

proto::TopicConfig MakeTopic(absl::string_view name, int32_t queues,
                             int32_t perm) {
  proto::TopicConfig topic;
  topic.set_topic_name(std::string(name));
  topic.set_read_queue_nums(queues);
  topic.set_write_queue_nums(queues);
  topic.set_perm(perm);
  return topic;
}

absl::StatusOr<proto::TopicConfig> ParseLine(const PropertyEntry& entry) {
  std::vector<absl::string_view> parts = absl::StrSplit(entry.value, ',');
  int32_t read = 0, write = 0, perm = 0, order = 0;
  if (parts.size() != 4 || !absl::SimpleAtoi(parts[0], &read) ||
      !absl::SimpleAtoi(parts[1], &write) ||
      !absl::SimpleAtoi(parts[2], &perm) ||
      !absl::SimpleAtoi(parts[3], &order) ||
      !ValidateTopicName(entry.key).ok()) {
    return absl::DataLossError(absl::StrCat(entry.source, ":", entry.line,
                                            ": bad topic entry '", entry.key,
                                            "=", entry.value, "'"));
  }
  proto::TopicConfig topic = MakeTopic(entry.key, read, perm);
  topic.set_write_queue_nums(write);
  topic.set_order(order != 0);
  return topic;
}

absl::Status ValidateConfig(const proto::TopicConfig& config) {
  if (absl::Status s = ValidateTopicName(config.topic_name()); !s.ok()) {
    return s;
  }
  if (config.read_queue_nums() < 1 || config.write_queue_nums() < 1 ||
      config.read_queue_nums() > 1024 || config.write_queue_nums() > 1024) {
    return absl::InvalidArgumentError(
        "read and write queue nums must be 1..1024");
  }
  if (config.perm() < 0 || config.perm() > 7) {
    return absl::InvalidArgumentError("perm must be 0..7 (READ 4 | WRITE 2)");
  }
  return absl::OkStatus();
}

bool SameConfig(const proto::TopicConfig& a, const proto::TopicConfig& b) {
  return a.topic_name() == b.topic_name() &&
         a.read_queue_nums() == b.read_queue_nums() &&
         a.write_queue_nums() == b.write_queue_nums() && a.perm() == b.perm() &&
         a.order() == b.order();
}

}  // namespace

absl::Status ValidateTopicName(absl::string_view topic) {
  return ValidateResourceName("the topic", topic);
}

TopicConfigManager::TopicConfigManager(std::string path,
                                       int32_t default_queue_nums)
    : path_(std::move(path)), default_queue_nums_(default_queue_nums) {}

absl::Status TopicConfigManager::Load() {
  // A truncated file is refused: loading what is left would rewrite the
  // file without the lost topics and register that table, which drops their
  // routes and makes this broker's slaves delete them.
  absl::StatusOr<std::optional<std::string>> text =
      ReadTableFile(path_, "no topics");
  if (!text.ok()) return text.status();
  absl::MutexLock lock(&mu_);
  if (text->has_value()) {
    for (const PropertyEntry& entry : ParseProperties(**text, path_)) {
      absl::StatusOr<proto::TopicConfig> topic = ParseLine(entry);
      if (!topic.ok()) return topic.status();
      topics_[topic->topic_name()] = *std::move(topic);
    }
  }
  if (!topics_.contains(kScheduleTopic)) {
    topics_[std::string(kScheduleTopic)] =
        MakeTopic(kScheduleTopic, kScheduleTopicQueueNums, kPermReadWrite);
    return PersistLocked();
  }
  return absl::OkStatus();
}

void TopicConfigManager::SetChangeListener(std::function<void()> listener) {
  listener_ = std::move(listener);
}

std::optional<proto::TopicConfig> TopicConfigManager::Find(
    absl::string_view topic) const {
  absl::ReaderMutexLock lock(&mu_);
  auto it = topics_.find(topic);
  if (it == topics_.end()) return std::nullopt;
  return it->second;
}

std::optional<TopicConfigManager::WriteInfo> TopicConfigManager::FindForWrite(
    absl::string_view topic) const {
  absl::ReaderMutexLock lock(&mu_);
  auto it = topics_.find(topic);
  if (it == topics_.end()) return std::nullopt;
  return WriteInfo{it->second.perm(), it->second.write_queue_nums()};
}

absl::StatusOr<proto::TopicConfig> TopicConfigManager::CreateOnSend(
    absl::string_view topic, int32_t requested_queue_nums) {
  if (absl::Status s = ValidateTopicName(topic); !s.ok()) return s;
  proto::TopicConfig created;
  {
    absl::MutexLock lock(&mu_);
    if (auto it = topics_.find(topic); it != topics_.end()) return it->second;
    const int32_t queues =
        requested_queue_nums > 0
            ? std::min(requested_queue_nums, default_queue_nums_)
            : default_queue_nums_;
    created = MakeTopic(topic, queues, kPermReadWrite);
    topics_[created.topic_name()] = created;
    ++data_version_;
    if (absl::Status s = PersistLocked(); !s.ok()) {
      // Not persisted means not created: a restart would lose it.
      topics_.erase(created.topic_name());
      return s;
    }
  }
  NotifyChanged();
  return created;
}

absl::Status TopicConfigManager::Update(const proto::TopicConfig& config) {
  if (absl::Status s = ValidateConfig(config); !s.ok()) return s;
  {
    absl::MutexLock lock(&mu_);
    std::optional<proto::TopicConfig> previous;
    if (auto it = topics_.find(config.topic_name()); it != topics_.end()) {
      previous = it->second;
    }
    proto::TopicConfig& stored = topics_[config.topic_name()];
    stored = config;
    stored.clear_cluster();
    ++data_version_;
    if (absl::Status s = PersistLocked(); !s.ok()) {
      if (previous.has_value()) {
        stored = *previous;
      } else {
        topics_.erase(config.topic_name());
      }
      return s;
    }
  }
  NotifyChanged();
  return absl::OkStatus();
}

absl::StatusOr<int> TopicConfigManager::UpdateMany(
    const std::vector<proto::TopicConfig>& configs) {
  for (const proto::TopicConfig& config : configs) {
    if (absl::Status s = ValidateConfig(config); !s.ok()) return s;
  }
  int changed = 0;
  {
    absl::MutexLock lock(&mu_);
    // What the changed topics were before (nullopt: absent), to undo.
    std::vector<std::pair<std::string, std::optional<proto::TopicConfig>>>
        previous;
    for (const proto::TopicConfig& config : configs) {
      auto it = topics_.find(config.topic_name());
      proto::TopicConfig stored = config;
      stored.clear_cluster();
      if (it != topics_.end() && SameConfig(it->second, stored)) continue;
      if (it == topics_.end()) {
        previous.emplace_back(config.topic_name(), std::nullopt);
        topics_.emplace(config.topic_name(), std::move(stored));
      } else {
        previous.emplace_back(config.topic_name(), it->second);
        it->second = std::move(stored);
      }
    }
    if (previous.empty()) return 0;
    ++data_version_;
    if (absl::Status s = PersistLocked(); !s.ok()) {
      // Undone last to first: a topic listed twice gets its first state.
      for (auto it = previous.rbegin(); it != previous.rend(); ++it) {
        if (it->second.has_value()) {
          topics_[it->first] = *it->second;
        } else {
          topics_.erase(it->first);
        }
      }
      return s;
    }
    changed = static_cast<int>(previous.size());
  }
  NotifyChanged();
  return changed;
}

absl::Status TopicConfigManager::Delete(absl::string_view topic) {
  {
    absl::MutexLock lock(&mu_);
    auto it = topics_.find(topic);
    if (it == topics_.end()) {
      return absl::NotFoundError(absl::StrCat("topic[", topic, "] not exist"));
    }
    proto::TopicConfig previous = it->second;
    topics_.erase(it);
    ++data_version_;
    if (absl::Status s = PersistLocked(); !s.ok()) {
      topics_[previous.topic_name()] = previous;
      return s;
    }
  }
  NotifyChanged();
  return absl::OkStatus();
}

absl::StatusOr<int> TopicConfigManager::DeleteMany(
    const std::vector<std::string>& topics) {
  int deleted = 0;
  {
    absl::MutexLock lock(&mu_);
    std::vector<proto::TopicConfig> previous;
    for (const std::string& topic : topics) {
      auto it = topics_.find(topic);
      if (it == topics_.end()) continue;
      previous.push_back(std::move(it->second));
      topics_.erase(it);
    }
    if (previous.empty()) return 0;
    ++data_version_;
    if (absl::Status s = PersistLocked(); !s.ok()) {
      for (proto::TopicConfig& topic : previous) {
        std::string name = topic.topic_name();
        topics_[std::move(name)] = std::move(topic);
      }
      return s;
    }
    deleted = static_cast<int>(previous.size());
  }
  NotifyChanged();
  return deleted;
}

std::vector<proto::TopicConfig> TopicConfigManager::All() const {
  return Snapshot().topics;
}

std::vector<proto::TopicConfig> TopicConfigManager::Page(
    absl::string_view after, size_t max_bytes, PageEnd* end) const {
  std::vector<proto::TopicConfig> page;
  // Shared: sends look topics up meanwhile (the sort takes milliseconds
  // with 100,000s of topics).
  absl::ReaderMutexLock lock(&mu_);
  const std::vector<const std::string*> names = SortedKeysAfter(topics_, after);
  size_t bytes = 0;
  size_t i = 0;
  for (; i < names.size() && (i == 0 || bytes < max_bytes); ++i) {
    const proto::TopicConfig& topic = topics_.at(*names[i]);
    bytes += topic.ByteSizeLong() + 4;  // with its tag and length
    page.push_back(topic);
  }
  end->more = i < names.size();
  end->last = i > 0 ? *names[i - 1] : "";
  return page;
}

TopicConfigManager::Table TopicConfigManager::Snapshot() const {
  Table table;
  {
    absl::MutexLock lock(&mu_);
    table.data_version = data_version_;
    table.topics.reserve(topics_.size());
    for (const auto& [name, topic] : topics_) table.topics.push_back(topic);
  }
  std::sort(table.topics.begin(), table.topics.end(),
            [](const auto& a, const auto& b) {
              return a.topic_name() < b.topic_name();
            });
  return table;
}

int64_t TopicConfigManager::data_version() const {
  absl::MutexLock lock(&mu_);
  return data_version_;
}

absl::Status TopicConfigManager::PersistLocked() {
  std::vector<std::string> names;
  for (const auto& [name, topic] : topics_) names.push_back(name);
  std::sort(names.begin(), names.end());
  std::string text =
      "# CometMQ topics: topic=readQueueNums,writeQueueNums,perm,order\n";
  for (const std::string& name : names) {
    const proto::TopicConfig& t = topics_.at(name);
    absl::StrAppend(&text, name, "=", t.read_queue_nums(), ",",
                    t.write_queue_nums(), ",", t.perm(), ",", t.order() ? 1 : 0,
                    "\n");
  }
  return WriteFileAtomically(path_, text);
}

void TopicConfigManager::NotifyChanged() {
  if (listener_) listener_();
}

}  // namespace cometmq::broker
