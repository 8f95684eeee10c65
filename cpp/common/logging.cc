#include "cpp/common/logging.h"

#include <filesystem>
#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "spdlog/sinks/basic_file_sink.h"
#include "spdlog/sinks/stdout_color_sinks.h"

namespace cometmq {

absl::Status InitLogging(const std::string& process_name,
                         const std::string& log_file) {
  std::vector<spdlog::sink_ptr> sinks;
  sinks.push_back(std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
  if (!log_file.empty()) {
    std::error_code ec;
    std::filesystem::path parent =
        std::filesystem::path(log_file).parent_path();
    if (!parent.empty()) std::filesystem::create_directories(parent, ec);
    try {
      sinks.push_back(
          std::make_shared<spdlog::sinks::basic_file_sink_mt>(log_file));
    } catch (const spdlog::spdlog_ex& e) {
      return absl::UnavailableError(
          absl::StrCat("cannot open log file ", log_file, ": ", e.what()));
    }
  }
  auto logger = std::make_shared<spdlog::logger>(process_name, sinks.begin(),
                                                 sinks.end());
  logger->set_pattern("%Y-%m-%d %H:%M:%S.%e %^%l%$ [%n] %v");
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(logger);
  spdlog::flush_every(std::chrono::seconds(1));
  return absl::OkStatus();
}

}  // namespace cometmq
