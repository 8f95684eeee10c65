#ifndef COMETMQ_BROKER_SQL_FILTER_H_
#define COMETMQ_BROKER_SQL_FILTER_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "cpp/filter/sql_expression.h"
#include "cpp/store/commit_log.h"

namespace cometmq::broker {

// The error RocketMQ gives a SQL92 subscription on a broker without
// enablePropertyFilter.
inline constexpr absl::string_view kSql92NotSupported =
    "The broker does not support consumer to filter message by SQL92";

// Whether the stored record's properties (user properties, TAGS, KEYS and
// the other system properties, as RocketMQ's broker exposes them) select it.
bool SqlMatchesRecord(const filter::SqlExpression& expression,
                      const store::RecordSlice& record);

// Compiled SQL92 subscriptions, one per consumer group and topic, so a pull
// looks its expression up instead of parsing it. Guarantees: an entry is
// compiled again only when the group's expression for the topic changes;
// a bad expression is remembered too (its error returned without parsing
// again); the table holds at most kMaxEntries entries (it starts over when
// full). Thread-safe; compiled expressions are shared, immutable.
class SqlFilterCache {
 public:
  static constexpr size_t kMaxEntries = 10000;

  // The compiled `expression` of `group` on `topic`, or the parse error
  // (InvalidArgument).
  absl::StatusOr<std::shared_ptr<const filter::SqlExpression>> Get(
      absl::string_view group, absl::string_view topic,
      absl::string_view expression);

  // How many times an expression was compiled (for tests).
  int64_t compiles() const {
    absl::MutexLock lock(&mu_);
    return compiles_;
  }

 private:
  struct Entry {
    std::string expression;
    absl::StatusOr<std::shared_ptr<const filter::SqlExpression>> compiled;
  };

  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, Entry> entries_ ABSL_GUARDED_BY(mu_);
  int64_t compiles_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace cometmq::broker

#endif  // COMETMQ_BROKER_SQL_FILTER_H_
