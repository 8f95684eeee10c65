#include "cpp/broker/consumer_offset_manager.h"

#include <algorithm>
#include <limits>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "cpp/broker/table_file.h"
#include "cpp/common/properties.h"
#include "spdlog/spdlog.h"

namespace cometmq::broker {
namespace {

std::string Key(absl::string_view group, absl::string_view topic) {
  return absl::StrCat(group, "@", topic);
}

}  // namespace

ConsumerOffsetManager::ConsumerOffsetManager(std::string path)
    : file_(std::move(path)) {}

absl::Status ConsumerOffsetManager::Load() {
  // A truncated file is refused: loading what is left would silently send
  // the groups it lost back to their consume_from.
  absl::StatusOr<std::optional<std::string>> text =
      ReadTableFile(file_.path(), "no committed offsets");
  if (!text.ok()) return text.status();
  if (!text->has_value()) return absl::OkStatus();
  absl::StatusOr<Table> table = Parse(**text, file_.path());
  if (!table.ok()) return table.status();
  size_t queues = 0;
  for (const auto& [key, offsets] : *table) queues += offsets.size();
  spdlog::info("loaded {} committed offsets of {} group@topic pairs from {}",
               queues, table->size(), file_.path());
  absl::MutexLock lock(&mu_);
  offsets_ = *std::move(table);
  return absl::OkStatus();
}

absl::StatusOr<ConsumerOffsetManager::Table> ConsumerOffsetManager::Parse(
    absl::string_view text, const std::string& origin) {
  Table table;
  for (const PropertyEntry& entry : ParseProperties(text, origin)) {
    auto bad = [&] {
      return absl::DataLossError(absl::StrCat(origin, ":", entry.line,
                                              ": bad offset entry '", entry.key,
                                              "=", entry.value, "'"));
    };
    if (entry.key.find('@') == std::string::npos) return bad();
    std::map<int32_t, int64_t>& queues = table[entry.key];
    for (absl::string_view pair :
         absl::StrSplit(entry.value, ',', absl::SkipEmpty())) {
      std::pair<absl::string_view, absl::string_view> qo =
          absl::StrSplit(pair, absl::MaxSplits(':', 1));
      int32_t queue = 0;
      int64_t offset = 0;
      if (!absl::SimpleAtoi(qo.first, &queue) ||
          !absl::SimpleAtoi(qo.second, &offset)) {
        return bad();
      }
      queues[queue] = offset;
    }
  }
  return table;
}

std::string ConsumerOffsetManager::Encode() const {
  PageEnd end;
  return EncodePage("", std::numeric_limits<size_t>::max(), &end);
}

std::string ConsumerOffsetManager::EncodePage(absl::string_view after,
                                              size_t max_bytes,
                                              PageEnd* end) const {
  absl::MutexLock lock(&mu_);
  std::string text =
      "# CometMQ consumer offsets: group@topic=queueId:offset,...\n";
  const std::vector<const std::string*> keys = SortedKeysAfter(offsets_, after);
  size_t i = 0;
  for (; i < keys.size() && (i == 0 || text.size() < max_bytes); ++i) {
    absl::StrAppend(&text, *keys[i], "=");
    bool first = true;
    for (const auto& [queue, offset] : offsets_.at(*keys[i])) {
      absl::StrAppend(&text, first ? "" : ",", queue, ":", offset);
      first = false;
    }
    absl::StrAppend(&text, "\n");
  }
  end->more = i < keys.size();
  end->last = i > 0 ? *keys[i - 1] : "";
  return text;
}

absl::Status ConsumerOffsetManager::Replace(absl::string_view encoded) {
  return ReplaceRange(KeyRange{}, encoded);
}

absl::Status ConsumerOffsetManager::ReplaceRange(const KeyRange& range,
                                                 absl::string_view encoded) {
  absl::StatusOr<Table> table = Parse(encoded, "master's offsets");
  if (!table.ok()) return table.status();
  absl::MutexLock lock(&mu_);
  if (ReplaceKeyRange(range, *std::move(table), &offsets_)) file_.MarkChanged();
  return absl::OkStatus();
}

void ConsumerOffsetManager::Commit(absl::string_view group,
                                   absl::string_view topic, int32_t queue_id,
                                   int64_t offset) {
  absl::MutexLock lock(&mu_);
  offsets_[Key(group, topic)][queue_id] = offset;
  file_.MarkChanged();
}

void ConsumerOffsetManager::CommitAndAnnounce(
    absl::string_view group, absl::string_view topic,
    const std::map<int32_t, int64_t>& offsets,
    absl::FunctionRef<void()> announce) {
  absl::MutexLock lock(&mu_);
  if (!offsets.empty()) {
    std::map<int32_t, int64_t>& queues = offsets_[Key(group, topic)];
    for (const auto& [queue_id, offset] : offsets) queues[queue_id] = offset;
    file_.MarkChanged();
  }
  announce();
}

std::optional<int64_t> ConsumerOffsetManager::Query(absl::string_view group,
                                                    absl::string_view topic,
                                                    int32_t queue_id) const {
  absl::MutexLock lock(&mu_);
  auto it = offsets_.find(Key(group, topic));
  if (it == offsets_.end()) return std::nullopt;
  auto q = it->second.find(queue_id);
  if (q == it->second.end()) return std::nullopt;
  return q->second;
}

std::map<int32_t, int64_t> ConsumerOffsetManager::QueueOffsets(
    absl::string_view group, absl::string_view topic) const {
  absl::MutexLock lock(&mu_);
  auto it = offsets_.find(Key(group, topic));
  if (it == offsets_.end()) return {};
  return it->second;
}

std::vector<std::string> ConsumerOffsetManager::TopicsOf(
    absl::string_view group) const {
  const std::string prefix = absl::StrCat(group, "@");
  std::vector<std::string> topics;
  absl::MutexLock lock(&mu_);
  for (const auto& [key, queues] : offsets_) {
    if (absl::StartsWith(key, prefix))
      topics.push_back(key.substr(prefix.size()));
  }
  std::sort(topics.begin(), topics.end());
  return topics;
}

std::vector<std::string> ConsumerOffsetManager::GroupsOf(
    absl::string_view topic) const {
  const std::string suffix = absl::StrCat("@", topic);
  std::vector<std::string> groups;
  absl::MutexLock lock(&mu_);
  for (const auto& [key, queues] : offsets_) {
    // Neither part holds '@', so the suffix cannot match inside a group.
    if (absl::EndsWith(key, suffix)) {
      groups.push_back(key.substr(0, key.size() - suffix.size()));
    }
  }
  std::sort(groups.begin(), groups.end());
  return groups;
}

void ConsumerOffsetManager::RemoveTopic(absl::string_view topic) {
  absl::MutexLock lock(&mu_);
  absl::erase_if(offsets_, [&](const auto& entry) {
    const size_t at = entry.first.find('@');
    return absl::string_view(entry.first).substr(at + 1) == topic;
  });
  file_.MarkChanged();
}

int ConsumerOffsetManager::RemoveGroup(absl::string_view group) {
  absl::MutexLock lock(&mu_);
  const int removed =
      static_cast<int>(absl::erase_if(offsets_, [&](const auto& entry) {
        return absl::string_view(entry.first)
                   .substr(0, entry.first.find('@')) == group;
      }));
  if (removed > 0) file_.MarkChanged();
  return removed;
}

std::vector<std::string> ConsumerOffsetManager::StartAddedQueues(
    absl::string_view topic, const std::map<int32_t, int64_t>& starts) {
  std::vector<std::string> groups;
  absl::MutexLock lock(&mu_);
  for (auto& [key, queues] : offsets_) {
    const size_t at = key.find('@');
    if (absl::string_view(key).substr(at + 1) != topic) continue;
    bool started = false;
    for (const auto& [queue_id, offset] : starts) {
      started |= queues.emplace(queue_id, offset).second;
    }
    if (started) groups.push_back(key.substr(0, at));
  }
  if (!groups.empty()) file_.MarkChanged();
  std::sort(groups.begin(), groups.end());
  return groups;
}

absl::Status ConsumerOffsetManager::Persist() {
  return file_.Persist([this] { return Encode(); });
}

}  // namespace cometmq::broker
