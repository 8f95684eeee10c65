#ifndef COMETMQ_COMMON_RESOURCE_NAME_H_
#define COMETMQ_COMMON_RESOURCE_NAME_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace cometmq {

// The rule for topic and group names, shared by the broker (which refuses
// bad ones) and the client (which refuses them before any request): 1 to
// 127 characters of A-Z a-z 0-9 _ % | -, as in RocketMQ. `what` names the
// thing in the error ("the topic", "consumer group").
absl::Status ValidateResourceName(absl::string_view what,
                                  absl::string_view name);

}  // namespace cometmq

#endif  // COMETMQ_COMMON_RESOURCE_NAME_H_
