#include "cpp/broker/delay_levels.h"

#include <algorithm>
#include <map>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "cpp/broker/real_queue.h"
#include "cpp/broker/topic_config_manager.h"

namespace cometmq::broker {

absl::StatusOr<DelayLevels> DelayLevels::Parse(absl::string_view text) {
  std::vector<int64_t> delays;
  for (absl::string_view item :
       absl::StrSplit(text, absl::ByAnyChar(" \t"), absl::SkipEmpty())) {
    auto bad = [&](absl::string_view why) {
      return absl::InvalidArgumentError(absl::StrCat(
          "delay level ", delays.size() + 1, " '", item, "' ", why));
    };
    int64_t unit_ms = 0;
    switch (item.back()) {
      case 's':
        unit_ms = 1000;
        break;
      case 'm':
        unit_ms = 60 * 1000;
        break;
      case 'h':
        unit_ms = 60 * 60 * 1000;
        break;
      case 'd':
        unit_ms = 24 * 60 * 60 * 1000;
        break;
      default:
        return bad("needs a unit s, m, h or d");
    }
    int64_t amount = 0;
    item.remove_suffix(1);
    if (!absl::SimpleAtoi(item, &amount) || amount <= 0 ||
        amount > 365 * 24 * 60 * 60) {
      return bad("needs a positive integer before the unit");
    }
    delays.push_back(amount * unit_ms);
  }
  if (delays.empty()) {
    return absl::InvalidArgumentError("no delay levels given");
  }
  if (delays.size() > static_cast<size_t>(kMaxDelayLevel)) {
    return absl::InvalidArgumentError(absl::StrCat(
        delays.size(), " delay levels given, at most ", kMaxDelayLevel));
  }
  return DelayLevels(std::move(delays));
}

DelayLevels DelayLevels::Default() { return *Parse(kDefaultMessageDelayLevel); }

int DelayLevels::Clamp(int level) const {
  return std::clamp(level, 1, count());
}

int64_t DelayLevels::DelayMs(int level) const {
  return delays_ms_[static_cast<size_t>(Clamp(level) - 1)];
}

int64_t DelayLevels::DeliverTimestamp(int level,
                                      int64_t store_timestamp_ms) const {
  return store_timestamp_ms + DelayMs(level);
}

int64_t DelayLevels::DeliverTimestamp(const RecordView& record) const {
  const int level = DelayLevelOf(record.properties);
  if (level <= 0) return record.store_timestamp;
  return DeliverTimestamp(level, record.store_timestamp);
}

int DelayLevelOf(absl::string_view properties) {
  absl::StatusOr<int> level = RequestedDelayLevel(properties);
  return level.ok() ? *level : 0;
}

absl::StatusOr<int> RequestedDelayLevel(absl::string_view properties) {
  std::optional<absl::string_view> value =
      FindProperty(properties, kPropertyDelayLevel);
  if (!value.has_value()) return 0;
  int level = 0;
  if (!absl::SimpleAtoi(*value, &level)) {
    return absl::InvalidArgumentError(absl::StrCat(
        kPropertyDelayLevel, " '", *value,
        "' is not a delay level (an integer from 1 to ", kMaxDelayLevel, ")"));
  }
  return std::max(level, 0);
}

void RewriteForDelay(const DelayLevels& levels, int level,
                     MessageToStore* message) {
  const int clamped = levels.Clamp(level);
  ParkOnSystemQueue(kScheduleTopic, clamped - 1,
                    {{std::string(kPropertyDelayLevel), absl::StrCat(clamped)}},
                    message);
}

void EraseDelayBookkeeping(std::map<std::string, std::string>* props) {
  for (absl::string_view name :
       {kPropertyDelayLevel, kPropertyRealTopic, kPropertyRealQueueId}) {
    props->erase(std::string(name));
  }
}

bool RestoreFromDelay(const RecordView& record, MessageToStore* out) {
  return RestoreRealQueue(record, {kPropertyDelayLevel}, out);
}

}  // namespace cometmq::broker
