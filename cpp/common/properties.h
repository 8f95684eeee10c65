#ifndef COMETMQ_COMMON_PROPERTIES_H_
#define COMETMQ_COMMON_PROPERTIES_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace cometmq {

// One `key=value` assignment and where it came from, so that errors can name
// the file and line a bad value was written on.
struct PropertyEntry {
  std::string key;
  std::string value;
  std::string source;  // file path, or "command line"
  int line = 0;        // 1-based; 0 for the command line
};

// Parses `.properties` text the way people actually write broker.conf: `key =
// value` with spaces around `=` (or `:`), `#`/`!` comment lines, and a `#`
// comment after a value when preceded by whitespace (`brokerId = 0  #master`).
// Values never contain such comments; a `#` inside a value without whitespace
// before it is kept. Text is UTF-8 and passes through untouched.
std::vector<PropertyEntry> ParseProperties(absl::string_view text,
                                           absl::string_view source);

// Reads and parses a file. An error (NotFound, PermissionDenied, a directory
// given for a file) names the path and the reason.
absl::StatusOr<std::vector<PropertyEntry>> LoadPropertiesFile(
    const std::string& path);

// Takes `--key=value` arguments out of argv (other arguments are left for the
// caller, in order). `--key value` is not accepted: a flag without `=` stays.
std::vector<PropertyEntry> ExtractCommandLineOverrides(
    std::vector<std::string>* args);

}  // namespace cometmq

#endif  // COMETMQ_COMMON_PROPERTIES_H_
