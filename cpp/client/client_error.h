#ifndef COMETMQ_CLIENT_CLIENT_ERROR_H_
#define COMETMQ_CLIENT_CLIENT_ERROR_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "cpp/remoting/command.h"

namespace cometmq::client {

// Turns answers from brokers and NameServers into absl::Status. Guarantee: a
// non-SUCCESS answer becomes a non-OK status whose message names the numeric
// status code, its name and the remark, and whose payload carries the code so
// BrokerStatusCode() can recover it (callers branch on codes, not on text).

// The payload type URL under which the broker's status code is stored.
inline constexpr absl::string_view kBrokerStatusPayload =
    "type.cometmq/broker_status";

// An error status for broker status `code` with `remark`.
absl::Status BrokerError(int32_t code, absl::string_view remark);

// OK when `response` has status SUCCESS, else BrokerError(status, remark).
absl::Status ResponseStatus(const remoting::Command& response);

// True for the send answers that mean "stored": SUCCESS, and the flush and
// slave timeouts that still stored the message.
bool IsStored(int32_t status);

// The broker status code `status` carries, if it came from an answer.
std::optional<int32_t> BrokerStatusCode(const absl::Status& status);

// `status` with "context: " before its message, payloads kept.
absl::Status Annotate(const absl::Status& status, absl::string_view context);

// The StatusCode's name ("TOPIC_NOT_EXIST"), or the number for unknown codes.
std::string StatusCodeName(int32_t code);

}  // namespace cometmq::client

#endif  // COMETMQ_CLIENT_CLIENT_ERROR_H_
