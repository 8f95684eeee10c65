#include "cpp/broker/subscription_group_manager.h"

#include <algorithm>
#include <limits>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "cpp/broker/table_file.h"
#include "cpp/common/properties.h"
#include "cpp/common/resource_name.h"
#include "spdlog/spdlog.h"

namespace cometmq::broker {

absl::Status ValidateGroupName(absl::string_view group) {
  return ValidateResourceName("consumer group", group);
}

SubscriptionGroupManager::SubscriptionGroupManager(std::string path,
                                                   bool auto_create)
    : file_(std::move(path)), auto_create_(auto_create) {}

absl::Status SubscriptionGroupManager::Load() {
  absl::StatusOr<std::optional<std::string>> text =
      ReadTableFile(file_.path(), "default group settings");
  if (!text.ok()) return text.status();
  if (!text->has_value()) return absl::OkStatus();
  absl::StatusOr<Table> table = Parse(**text, file_.path());
  if (!table.ok()) return table.status();
  spdlog::info("loaded {} subscription groups from {}", table->size(),
               file_.path());
  absl::MutexLock lock(&mu_);
  groups_ = *std::move(table);
  return absl::OkStatus();
}

absl::Status SubscriptionGroupManager::Replace(absl::string_view encoded) {
  return ReplaceRange(KeyRange{}, encoded);
}

absl::Status SubscriptionGroupManager::ReplaceRange(const KeyRange& range,
                                                    absl::string_view encoded) {
  absl::StatusOr<Table> table = Parse(encoded, "master's groups");
  if (!table.ok()) return table.status();
  absl::MutexLock lock(&mu_);
  if (ReplaceKeyRange(range, *std::move(table), &groups_)) file_.MarkChanged();
  return absl::OkStatus();
}

absl::StatusOr<SubscriptionGroupManager::Table> SubscriptionGroupManager::Parse(
    absl::string_view text, absl::string_view source) {
  Table groups;
  for (const PropertyEntry& entry : ParseProperties(text, source)) {
    std::vector<absl::string_view> parts = absl::StrSplit(entry.value, ',');
    SubscriptionGroup group;
    group.name = entry.key;
    int32_t enable = 0;
    if (parts.size() != 3 || !absl::SimpleAtoi(parts[0], &enable) ||
        !absl::SimpleAtoi(parts[1], &group.retry_max_times) ||
        !absl::SimpleAtoi(parts[2], &group.retry_queue_nums)) {
      return absl::DataLossError(absl::StrCat(source, ":", entry.line,
                                              ": bad group entry '", entry.key,
                                              "=", entry.value, "'"));
    }
    group.consume_enable = enable != 0;
    groups[group.name] = std::move(group);
  }
  return groups;
}

std::optional<SubscriptionGroup> SubscriptionGroupManager::FindOrCreate(
    absl::string_view group) {
  absl::MutexLock lock(&mu_);
  if (auto it = groups_.find(group); it != groups_.end()) return it->second;
  // A name outside the resource name rule could hold a line break, '=' or
  // ',' and make the file unreadable at the next start.
  if ((!auto_create_ && group != kToolsConsumerGroup) ||
      !ValidateGroupName(group).ok()) {
    return std::nullopt;
  }
  SubscriptionGroup created;
  created.name = std::string(group);
  groups_[created.name] = created;
  file_.MarkChanged();
  return created;
}

std::optional<SubscriptionGroup> SubscriptionGroupManager::Find(
    absl::string_view group) const {
  absl::MutexLock lock(&mu_);
  if (auto it = groups_.find(group); it != groups_.end()) return it->second;
  return std::nullopt;
}

void SubscriptionGroupManager::Update(const SubscriptionGroup& group) {
  absl::MutexLock lock(&mu_);
  groups_[group.name] = group;
  file_.MarkChanged();
}

bool SubscriptionGroupManager::Delete(absl::string_view group) {
  absl::MutexLock lock(&mu_);
  if (groups_.erase(group) == 0) return false;
  file_.MarkChanged();
  return true;
}

std::vector<std::string> SubscriptionGroupManager::Names() const {
  absl::MutexLock lock(&mu_);
  std::vector<std::string> names;
  for (const auto& [name, group] : groups_) names.push_back(name);
  std::sort(names.begin(), names.end());
  return names;
}

std::string SubscriptionGroupManager::Encode() const {
  PageEnd end;
  return EncodePage("", std::numeric_limits<size_t>::max(), &end);
}

std::string SubscriptionGroupManager::EncodePage(absl::string_view after,
                                                 size_t max_bytes,
                                                 PageEnd* end) const {
  absl::MutexLock lock(&mu_);
  std::string text =
      "# CometMQ consumer groups: group=consumeEnable,retryMaxTimes,"
      "retryQueueNums\n";
  const std::vector<const std::string*> names = SortedKeysAfter(groups_, after);
  size_t i = 0;
  for (; i < names.size() && (i == 0 || text.size() < max_bytes); ++i) {
    const SubscriptionGroup& g = groups_.at(*names[i]);
    absl::StrAppend(&text, g.name, "=", g.consume_enable ? 1 : 0, ",",
                    g.retry_max_times, ",", g.retry_queue_nums, "\n");
  }
  end->more = i < names.size();
  end->last = i > 0 ? *names[i - 1] : "";
  return text;
}

absl::Status SubscriptionGroupManager::Persist() {
  return file_.Persist([this] { return Encode(); });
}

}  // namespace cometmq::broker
