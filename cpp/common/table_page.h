#ifndef COMETMQ_COMMON_TABLE_PAGE_H_
#define COMETMQ_COMMON_TABLE_PAGE_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"

namespace cometmq {

// Paged "all" listings (see proto PageRequest): a table answered whole can
// outgrow the 16 MiB frame, so it is answered in key order, a page of about
// this many bytes at a time. The cap keeps a page (plus the one entry that
// may cross the limit, and the frame's header) far from the frame limit
// whatever the requester asks for.
inline constexpr size_t kDefaultPageBytes = size_t{4} << 20;
inline constexpr size_t kMinPageBytes = size_t{4} << 10;
inline constexpr size_t kMaxPageBytes = size_t{8} << 20;

// The page size to answer with for a requested `max_bytes` (0: default).
inline size_t PageBytes(uint32_t max_bytes) {
  if (max_bytes == 0) return kDefaultPageBytes;
  return std::clamp<size_t>(max_bytes, kMinPageBytes, kMaxPageBytes);
}

// Sorted pointers to the keys of `map` (any map keyed by std::string) that
// sort after `after`; pointers stay valid while the map is not changed.
template <typename Map>
std::vector<const std::string*> SortedKeysAfter(const Map& map,
                                                absl::string_view after) {
  std::vector<const std::string*> keys;
  for (const auto& entry : map) {
    if (absl::string_view(entry.first) > after) keys.push_back(&entry.first);
  }
  std::sort(keys.begin(), keys.end(),
            [](const std::string* a, const std::string* b) { return *a < *b; });
  return keys;
}

// Where one page of an answer ended: `more` when keys after `last` remain.
struct PageEnd {
  bool more = false;
  std::string last;
};

// The keys one page of an answer covers: those after `after` up to and
// including `last`, or every key after `after` for the last page (and for
// a whole table answered by a peer that does not page).
struct KeyRange {
  std::string after;
  std::optional<std::string> last;

  bool Contains(absl::string_view key) const {
    return key > after && (!last.has_value() || key <= *last);
  }
};

// Makes the entries of `table` whose keys are in `range` those of `page`
// (a page of a master's table, which covers `range`): a key of the range
// the page lacks is erased, every key of the page added or replaced. True
// if `table` changed. Map is a hash or ordered map whose values compare
// with ==.
template <typename Map>
bool ReplaceKeyRange(const KeyRange& range, Map page, Map* table) {
  bool changed = false;
  for (auto it = table->begin(); it != table->end();) {
    if (range.Contains(it->first) && !page.contains(it->first)) {
      table->erase(it++);
      changed = true;
    } else {
      ++it;
    }
  }
  for (auto& [key, value] : page) {
    auto [it, inserted] = table->try_emplace(key);
    if (inserted || !(it->second == value)) {
      it->second = std::move(value);
      changed = true;
    }
  }
  return changed;
}

}  // namespace cometmq

#endif  // COMETMQ_COMMON_TABLE_PAGE_H_
