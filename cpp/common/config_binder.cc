#include "cpp/common/config_binder.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace cometmq {
namespace {

size_t EditDistance(absl::string_view a, absl::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t above = row[j];
      bool same =
          absl::ascii_tolower(a[i - 1]) == absl::ascii_tolower(b[j - 1]);
      row[j] =
          std::min({row[j] + 1, row[j - 1] + 1, diagonal + (same ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

absl::Status Invalid(absl::string_view what) {
  return absl::InvalidArgumentError(what);
}

}  // namespace

void ConfigBinder::Bind(absl::string_view key, int32_t* field) {
  BindCustom(
      key,
      [field](absl::string_view v) {
        if (!absl::SimpleAtoi(v, field)) {
          return Invalid(absl::StrCat("'", v, "' is not a 32-bit integer"));
        }
        return absl::OkStatus();
      },
      [field] { return absl::StrCat(*field); });
}

void ConfigBinder::Bind(absl::string_view key, int64_t* field) {
  BindCustom(
      key,
      [field](absl::string_view v) {
        if (!absl::SimpleAtoi(v, field)) {
          return Invalid(absl::StrCat("'", v, "' is not an integer"));
        }
        return absl::OkStatus();
      },
      [field] { return absl::StrCat(*field); });
}

void ConfigBinder::Bind(absl::string_view key, double* field) {
  BindCustom(
      key,
      [field](absl::string_view v) {
        if (!absl::SimpleAtod(v, field)) {
          return Invalid(absl::StrCat("'", v, "' is not a number"));
        }
        return absl::OkStatus();
      },
      [field] { return absl::StrCat(*field); });
}

void ConfigBinder::Bind(absl::string_view key, bool* field) {
  BindCustom(
      key,
      [field](absl::string_view v) {
        std::string lower = absl::AsciiStrToLower(v);
        if (lower == "true") {
          *field = true;
        } else if (lower == "false") {
          *field = false;
        } else {
          return Invalid(absl::StrCat("'", v, "' is not true or false"));
        }
        return absl::OkStatus();
      },
      [field] { return std::string(*field ? "true" : "false"); });
}

void ConfigBinder::Bind(absl::string_view key, std::string* field) {
  BindCustom(
      key,
      [field](absl::string_view v) {
        *field = std::string(v);
        return absl::OkStatus();
      },
      [field] { return *field; });
}

void ConfigBinder::BindEnum(absl::string_view key, std::string* field,
                            std::vector<std::string> allowed) {
  BindCustom(
      key,
      [field, allowed](absl::string_view v) {
        if (std::find(allowed.begin(), allowed.end(), v) == allowed.end()) {
          return Invalid(absl::StrCat("'", v, "' is not one of ",
                                      absl::StrJoin(allowed, ", ")));
        }
        *field = std::string(v);
        return absl::OkStatus();
      },
      [field] { return *field; });
}

void ConfigBinder::BindCustom(absl::string_view key, Parser parse,
                              Printer print) {
  bindings_[std::string(key)] = Binding{std::move(parse), std::move(print)};
}

void ConfigBinder::Alias(absl::string_view alias, absl::string_view key) {
  aliases_[std::string(alias)] = std::string(key);
}

bool ConfigBinder::Knows(absl::string_view key) const {
  return bindings_.contains(key) || aliases_.contains(key);
}

std::string ConfigBinder::ClosestKey(absl::string_view key) const {
  std::string best;
  size_t best_distance = std::max<size_t>(3, key.size() / 3) + 1;
  for (const auto& [name, binding] : bindings_) {
    size_t d = EditDistance(key, name);
    if (d < best_distance) {
      best_distance = d;
      best = name;
    }
  }
  return best;
}

absl::Status ConfigBinder::Apply(const std::vector<PropertyEntry>& entries,
                                 std::vector<std::string>* warnings) const {
  for (const PropertyEntry& entry : entries) {
    absl::string_view key = entry.key;
    if (auto alias = aliases_.find(key); alias != aliases_.end()) {
      key = alias->second;
    }
    auto it = bindings_.find(key);
    std::string where = entry.line > 0
                            ? absl::StrCat(entry.source, ":", entry.line)
                            : entry.source;
    if (it == bindings_.end()) {
      std::string closest = ClosestKey(entry.key);
      warnings->push_back(absl::StrCat(
          where, ": unknown key '", entry.key, "' ignored",
          closest.empty() ? ""
                          : absl::StrCat(" (did you mean '", closest, "'?)")));
      continue;
    }
    absl::Status status = it->second.parse(entry.value);
    if (!status.ok()) {
      return Invalid(absl::StrCat(where, ": bad value for key '", entry.key,
                                  "': ", status.message()));
    }
  }
  return absl::OkStatus();
}

absl::Status ConfigBinder::Load(const std::string& config_file,
                                const std::vector<PropertyEntry>& overrides,
                                std::vector<std::string>* warnings) const {
  if (!config_file.empty()) {
    absl::StatusOr<std::vector<PropertyEntry>> entries =
        LoadPropertiesFile(config_file);
    if (!entries.ok()) return entries.status();
    if (absl::Status s = Apply(*entries, warnings); !s.ok()) return s;
  }
  return Apply(overrides, warnings);
}

std::map<std::string, std::string> ConfigBinder::Values() const {
  std::map<std::string, std::string> values;
  for (const auto& [name, binding] : bindings_) values[name] = binding.print();
  return values;
}

std::string ConfigBinder::Dump() const {
  std::string out;
  for (const auto& [name, value] : Values()) {
    absl::StrAppend(&out, name, "=", value, "\n");
  }
  return out;
}

}  // namespace cometmq
