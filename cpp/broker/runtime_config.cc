#include "cpp/broker/runtime_config.h"

#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "cpp/broker/config_file.h"
#include "cpp/common/config_binder.h"
#include "cpp/common/properties.h"

namespace cometmq::broker {
namespace {

struct RuntimeKey {
  const char* key;
  void (*copy)(const BrokerConfig& from, BrokerConfig* to);
};

constexpr RuntimeKey kRuntimeKeys[] = {
    {"brokerPermission",
     [](const BrokerConfig& from, BrokerConfig* to) {
       to->brokerPermission.store(from.brokerPermission.load());
     }},
};

bool IsRuntimeKey(absl::string_view key) {
  for (const RuntimeKey& k : kRuntimeKeys) {
    if (key == k.key) return true;
  }
  return false;
}

}  // namespace

std::vector<std::string> RuntimeKeys() {
  std::vector<std::string> keys;
  for (const RuntimeKey& k : kRuntimeKeys) keys.emplace_back(k.key);
  return keys;
}

absl::StatusOr<BrokerConfig> ConfigWithUpdate(const BrokerConfig& current,
                                              const std::string& key,
                                              const std::string& value) {
  BrokerConfig updated = current;
  ConfigBinder binder;
  updated.Bind(&binder);
  if (!binder.Knows(key)) {
    const std::string closest = binder.ClosestKey(key);
    return absl::InvalidArgumentError(absl::StrCat(
        "unknown key '", key, "'",
        closest.empty() ? "" : absl::StrCat(" (did you mean '", closest, "'?)"),
        "; keys that change at run time: ",
        absl::StrJoin(RuntimeKeys(), ", ")));
  }
  if (!IsRuntimeKey(key)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "key '", key,
        "' cannot change while the broker runs: set it in the broker's "
        "config file and restart it; keys that change at run time: ",
        absl::StrJoin(RuntimeKeys(), ", ")));
  }
  std::vector<std::string> warnings;
  if (absl::Status s =
          binder.Apply({{key, value, "updateBrokerConfig", 0}}, &warnings);
      !s.ok()) {
    return s;
  }
  if (absl::Status s = updated.Validate(); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "bad value '", value, "' for key '", key, "': ", s.message()));
  }
  return updated;
}

void ApplyRuntimeKeys(const BrokerConfig& from, BrokerConfig* to) {
  for (const RuntimeKey& k : kRuntimeKeys) k.copy(from, to);
}

std::string SetPropertyInText(absl::string_view text, absl::string_view key,
                              absl::string_view value) {
  // The parser says which lines assign the key (it knows the comment,
  // separator and blank-line rules); those lines are replaced whole.
  std::vector<int> lines;
  for (const PropertyEntry& entry : ParseProperties(text, "")) {
    if (entry.key == key) lines.push_back(entry.line);
  }
  const std::string assignment = absl::StrCat(key, "=", value);
  std::vector<std::string> out = absl::StrSplit(text, '\n');
  if (lines.empty()) {
    // Keep the file's last line ending: "a\n" splits into {"a", ""}.
    if (!out.empty() && out.back().empty()) {
      out.back() = assignment;
      out.emplace_back();
    } else {
      out.push_back(assignment);
    }
    return absl::StrJoin(out, "\n");
  }
  for (int line : lines) {
    if (line >= 1 && static_cast<size_t>(line) <= out.size()) {
      // A Windows line ending stays one.
      const bool cr = !out[line - 1].empty() && out[line - 1].back() == '\r';
      out[line - 1] = cr ? absl::StrCat(assignment, "\r") : assignment;
    }
  }
  return absl::StrJoin(out, "\n");
}

absl::Status PersistProperty(const std::string& path, absl::string_view key,
                             absl::string_view value) {
  absl::StatusOr<std::optional<std::string>> text = ReadFileIfExists(path);
  if (!text.ok()) return text.status();
  return WriteFileAtomically(path,
                             SetPropertyInText(text->value_or(""), key, value));
}

}  // namespace cometmq::broker
