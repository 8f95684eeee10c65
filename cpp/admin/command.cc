#include "cpp/admin/command.h"

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cpp/client/client_error.h"
#include "proto/remoting.pb.h"

namespace cometmq::admin {

void CommandContext::Emit(const std::vector<Table>& tables,
                          const JsonValue& json) const {
  if (args.json()) {
    out << json.Serialize() << "\n";
    return;
  }
  for (size_t i = 0; i < tables.size(); ++i) {
    if (i > 0) out << "\n";
    out << tables[i].Render();
  }
}

void CommandContext::Emit(const std::string& text,
                          const JsonValue& json) const {
  if (args.json()) {
    out << json.Serialize() << "\n";
  } else {
    out << text;
  }
}

FlagSpec NamesrvFlag() {
  return {'n', "namesrvAddr", "NAMESRV", true,
          "NameServer addresses, 'host:port;host:port' (default: "
          "$NAMESRV_ADDR)"};
}

FlagSpec TopicFlag(bool required) {
  return {'t', "topic", "TOPIC", required, "topic name"};
}

FlagSpec GroupFlag(bool required) {
  return {'g', "consumerGroup", "GROUP", required, "consumer group name"};
}

absl::Status TopicStatus(const absl::Status& status, const std::string& topic) {
  if (client::BrokerStatusCode(status) == proto::TOPIC_NOT_EXIST) {
    return absl::NotFoundError(absl::StrCat(
        "topic [", topic, "] does not exist (", status.message(), ")"));
  }
  return status;
}

absl::StatusOr<int64_t> ParseTimestamp(const std::string& text) {
  if (text == "now") return absl::ToUnixMillis(absl::Now());
  int64_t millis = 0;
  if (absl::SimpleAtoi(text, &millis) && millis >= 0) return millis;
  // yyyy-MM-dd#HH:mm:ss:SSS
  const size_t colon = text.rfind(':');
  absl::Time time;
  std::string error;
  int32_t fraction = 0;
  if (text.find('#') != std::string::npos && colon != std::string::npos &&
      text.size() - colon - 1 == 3 &&
      absl::SimpleAtoi(text.substr(colon + 1), &fraction) && fraction >= 0 &&
      absl::ParseTime("%Y-%m-%d#%H:%M:%S", text.substr(0, colon),
                      absl::LocalTimeZone(), &time, &error)) {
    return absl::ToUnixMillis(time) + fraction;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("a time must be 'now', milliseconds since the epoch or "
                   "yyyy-MM-dd#HH:mm:ss:SSS, got '",
                   text, "'"));
}

absl::StatusOr<int32_t> ParsePerm(const std::string& text) {
  int32_t perm = 0;
  if (absl::SimpleAtoi(text, &perm) &&
      (perm == proto::PERM_WRITE || perm == proto::PERM_READ ||
       perm == (proto::PERM_READ | proto::PERM_WRITE))) {
    return perm;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "-p must be 2 (write only), 4 (read only) or 6 (read and write), got '",
      text, "'"));
}

absl::StatusOr<bool> ParseBool(char letter, const std::string& text) {
  if (absl::EqualsIgnoreCase(text, "true")) return true;
  if (absl::EqualsIgnoreCase(text, "false")) return false;
  return absl::InvalidArgumentError(absl::StrCat(
      "-", std::string(1, letter), " must be true or false, got '", text, "'"));
}

std::string PermName(int32_t perm) {
  std::string name;
  if (perm & proto::PERM_READ) name += "R";
  if (perm & proto::PERM_WRITE) name += "W";
  return name.empty() ? "-" : name;
}

std::string FormatMillis(int64_t millis) {
  if (millis <= 0) return "-";
  return absl::FormatTime("%Y-%m-%d %H:%M:%E3S", absl::FromUnixMillis(millis),
                          absl::LocalTimeZone());
}

}  // namespace cometmq::admin
