#include "cpp/broker/sql_filter.h"

#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "cpp/common/message_record.h"

namespace cometmq::broker {

bool SqlMatchesRecord(const filter::SqlExpression& expression,
                      const store::RecordSlice& record) {
  RecordView view;
  if (DecodeRecord(record.data, record.size, /*check_crc=*/false, &view) !=
      DecodeResult::kRecord) {
    return false;
  }
  return expression.Matches(
      [&view](absl::string_view name) -> std::optional<absl::string_view> {
        return FindProperty(view.properties, name);
      });
}

absl::StatusOr<std::shared_ptr<const filter::SqlExpression>>
SqlFilterCache::Get(absl::string_view group, absl::string_view topic,
                    absl::string_view expression) {
  std::string key = absl::StrCat(topic, "@", group);
  {
    absl::MutexLock lock(&mu_);
    auto it = entries_.find(key);
    if (it != entries_.end() && it->second.expression == expression) {
      return it->second.compiled;
    }
  }
  // Compiled outside the lock: other groups' pulls do not wait for it.
  Entry entry{std::string(expression),
              filter::SqlExpression::Compile(expression)};
  absl::StatusOr<std::shared_ptr<const filter::SqlExpression>> compiled =
      entry.compiled;
  absl::MutexLock lock(&mu_);
  ++compiles_;
  if (entries_.size() >= kMaxEntries && !entries_.contains(key)) {
    entries_.clear();
  }
  entries_.insert_or_assign(std::move(key), std::move(entry));
  return compiled;
}

}  // namespace cometmq::broker
