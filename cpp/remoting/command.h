#ifndef COMETMQ_REMOTING_COMMAND_H_
#define COMETMQ_REMOTING_COMMAND_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "proto/remoting.pb.h"

namespace cometmq::remoting {

// One request or response: the protobuf header and the raw body bytes.
struct Command {
  proto::Header header;
  std::string body;

  bool is_response() const {
    return (header.flags() & proto::FLAG_RESPONSE) != 0;
  }
  bool is_oneway() const { return (header.flags() & proto::FLAG_ONEWAY) != 0; }
};

// A request with `code`; the client assigns the opaque id.
Command MakeRequest(int32_t code);

// A response to `request` with `status` and `remark`.
Command MakeResponse(const Command& request, int32_t status,
                     absl::string_view remark = "");
// The same, from the request's code and opaque alone, for an answer made
// after the request itself is gone.
Command MakeResponse(int32_t request_code, uint64_t opaque, int32_t status,
                     absl::string_view remark = "");

// BAD_REQUEST for a request that lacks the typed payload its code needs.
Command MissingPayloadResponse(const Command& request,
                               absl::string_view payload);

}  // namespace cometmq::remoting

#endif  // COMETMQ_REMOTING_COMMAND_H_
