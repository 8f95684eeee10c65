#include "cpp/remoting/command.h"

#include "absl/strings/str_cat.h"

namespace cometmq::remoting {

Command MakeRequest(int32_t code) {
  Command command;
  command.header.set_code(code);
  return command;
}

Command MakeResponse(const Command& request, int32_t status,
                     absl::string_view remark) {
  return MakeResponse(request.header.code(), request.header.opaque(), status,
                      remark);
}

Command MakeResponse(int32_t request_code, uint64_t opaque, int32_t status,
                     absl::string_view remark) {
  Command response;
  response.header.set_code(request_code);
  response.header.set_opaque(opaque);
  response.header.set_flags(proto::FLAG_RESPONSE);
  response.header.set_status(status);
  response.header.set_remark(std::string(remark));
  return response;
}

Command MissingPayloadResponse(const Command& request,
                               absl::string_view payload) {
  return MakeResponse(request, proto::BAD_REQUEST,
                      absl::StrCat("request code ", request.header.code(),
                                   " needs a ", payload, " payload"));
}

}  // namespace cometmq::remoting
