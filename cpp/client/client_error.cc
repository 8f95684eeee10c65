#include "cpp/client/client_error.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "proto/remoting.pb.h"

namespace cometmq::client {
namespace {

absl::StatusCode CanonicalCode(int32_t code) {
  switch (code) {
    case proto::TOPIC_NOT_EXIST:
    case proto::QUERY_NOT_FOUND:
    case proto::PULL_NOT_FOUND:
    case proto::SUBSCRIPTION_GROUP_NOT_EXIST:
    case proto::CONSUMER_NOT_ONLINE:
      return absl::StatusCode::kNotFound;
    case proto::SYSTEM_BUSY:
      return absl::StatusCode::kResourceExhausted;
    case proto::SERVICE_NOT_AVAILABLE:
    case proto::SLAVE_NOT_AVAILABLE:
      return absl::StatusCode::kUnavailable;
    case proto::NO_PERMISSION:
      return absl::StatusCode::kPermissionDenied;
    case proto::MESSAGE_ILLEGAL:
    case proto::BAD_REQUEST:
      return absl::StatusCode::kInvalidArgument;
    case proto::REQUEST_CODE_NOT_SUPPORTED:
      return absl::StatusCode::kUnimplemented;
    case proto::FLUSH_DISK_TIMEOUT:
    case proto::FLUSH_SLAVE_TIMEOUT:
      return absl::StatusCode::kDeadlineExceeded;
    default:
      return absl::StatusCode::kInternal;
  }
}

}  // namespace

std::string StatusCodeName(int32_t code) {
  if (proto::StatusCode_IsValid(code)) {
    return proto::StatusCode_Name(static_cast<proto::StatusCode>(code));
  }
  return absl::StrCat(code);
}

absl::Status BrokerError(int32_t code, absl::string_view remark) {
  absl::Status status(
      CanonicalCode(code),
      absl::StrCat("status ", code, " (", StatusCodeName(code), "): ", remark));
  status.SetPayload(kBrokerStatusPayload, absl::Cord(absl::StrCat(code)));
  return status;
}

bool IsStored(int32_t status) {
  return status == proto::SUCCESS || status == proto::FLUSH_DISK_TIMEOUT ||
         status == proto::FLUSH_SLAVE_TIMEOUT ||
         status == proto::SLAVE_NOT_AVAILABLE;
}

absl::Status ResponseStatus(const remoting::Command& response) {
  if (response.header.status() == proto::SUCCESS) return absl::OkStatus();
  return BrokerError(response.header.status(), response.header.remark());
}

absl::Status Annotate(const absl::Status& status, absl::string_view context) {
  if (status.ok()) return status;
  absl::Status annotated(status.code(),
                         absl::StrCat(context, ": ", status.message()));
  status.ForEachPayload(
      [&annotated](absl::string_view type, const absl::Cord& payload) {
        annotated.SetPayload(type, payload);
      });
  return annotated;
}

std::optional<int32_t> BrokerStatusCode(const absl::Status& status) {
  absl::optional<absl::Cord> payload = status.GetPayload(kBrokerStatusPayload);
  int32_t code = 0;
  if (!payload.has_value() || !absl::SimpleAtoi(payload->Flatten(), &code)) {
    return std::nullopt;
  }
  return code;
}

}  // namespace cometmq::client
