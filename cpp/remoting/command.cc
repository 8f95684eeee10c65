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
  Command response;
  response.header.set_code(request.header.code());
  response.header.set_opaque(request.header.opaque());
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
