#ifndef COMETMQ_COMMON_CONFIG_BINDER_H_
#define COMETMQ_COMMON_CONFIG_BINDER_H_

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "cpp/common/properties.h"

namespace cometmq {

// Binds the typed fields of a config struct to property names and applies
// `.properties` entries to them. Guarantees: a value that does not parse for
// its field's type is an InvalidArgument naming the file, line and key, and no
// later entry is applied; an unknown key is a warning naming the closest known
// key; entries apply in order, so command-line overrides given last win.
class ConfigBinder {
 public:
  using Parser = std::function<absl::Status(absl::string_view value)>;
  using Printer = std::function<std::string()>;

  void Bind(absl::string_view key, int32_t* field);
  void Bind(absl::string_view key, int64_t* field);
  void Bind(absl::string_view key, double* field);
  void Bind(absl::string_view key, bool* field);
  void Bind(absl::string_view key, std::string* field);
  // A string restricted to `allowed` (compared case-sensitively, as written).
  void BindEnum(absl::string_view key, std::string* field,
                std::vector<std::string> allowed);
  // Any other type: `parse` validates and stores, `print` shows the value.
  void BindCustom(absl::string_view key, Parser parse, Printer print);
  // `alias` sets the same field as `key` (older spellings of a key).
  void Alias(absl::string_view alias, absl::string_view key);

  absl::Status Apply(const std::vector<PropertyEntry>& entries,
                     std::vector<std::string>* warnings) const;

  // Applies `config_file` (when not empty) and then `overrides`.
  absl::Status Load(const std::string& config_file,
                    const std::vector<PropertyEntry>& overrides,
                    std::vector<std::string>* warnings) const;

  bool Knows(absl::string_view key) const;
  // The known key nearest to `key` by edit distance, or "" if none is close.
  std::string ClosestKey(absl::string_view key) const;
  // Every key with its current value.
  std::map<std::string, std::string> Values() const;
  // The same, `key=value` per line, sorted.
  std::string Dump() const;

 private:
  struct Binding {
    Parser parse;
    Printer print;
  };
  std::map<std::string, Binding, std::less<>> bindings_;
  std::map<std::string, std::string, std::less<>> aliases_;
};

}  // namespace cometmq

#endif  // COMETMQ_COMMON_CONFIG_BINDER_H_
