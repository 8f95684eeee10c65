#ifndef COMETMQ_COMMON_LOGGING_H_
#define COMETMQ_COMMON_LOGGING_H_

#include <string>

#include "absl/status/status.h"
#include "spdlog/spdlog.h"

namespace cometmq {

// Routes spdlog's default logger to stderr and, when `log_file` is not empty,
// to that file too (its directory is created). Lines are flushed at warning
// level at once and otherwise every second, so a crash loses little.
absl::Status InitLogging(const std::string& process_name,
                         const std::string& log_file);

}  // namespace cometmq

#endif  // COMETMQ_COMMON_LOGGING_H_
