#ifndef COMETMQ_BROKER_RUNTIME_CONFIG_H_
#define COMETMQ_BROKER_RUNTIME_CONFIG_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "cpp/broker/broker_config.h"

namespace cometmq::broker {

// The broker.conf keys updateBrokerConfig (UPDATE_BROKER_CONFIG) may change
// while the broker runs. Only keys whose field is a LiveSetting, read afresh
// by every request, are here; every other key is read once at start (pool
// sizes, ports, paths, intervals given to threads), so changing it in
// memory would not change what the broker does.
std::vector<std::string> RuntimeKeys();

// `current` with `key` set to `value`, checked as at start (parse and
// Validate). InvalidArgument, naming the key, for an unknown key, a key not
// in RuntimeKeys(), or a value the broker could not run with.
absl::StatusOr<BrokerConfig> ConfigWithUpdate(const BrokerConfig& current,
                                              const std::string& key,
                                              const std::string& value);

// Copies the RuntimeKeys() fields of `from` into `to` (each atomically).
void ApplyRuntimeKeys(const BrokerConfig& from, BrokerConfig* to);

// broker.conf `text` with `key` set to `value`: every line assigning `key`
// is replaced by `key=value` (comments and every other line kept as they
// are), or the assignment is appended when no line has it.
std::string SetPropertyInText(absl::string_view text, absl::string_view key,
                              absl::string_view value);

// Writes `key=value` into the config file at `path` (SetPropertyInText),
// atomically: on a failure the file is as it was.
absl::Status PersistProperty(const std::string& path, absl::string_view key,
                             absl::string_view value);

}  // namespace cometmq::broker

#endif  // COMETMQ_BROKER_RUNTIME_CONFIG_H_
