#ifndef COMETMQ_NAMESRV_REQUEST_PROCESSOR_H_
#define COMETMQ_NAMESRV_REQUEST_PROCESSOR_H_

#include <cstdint>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "cpp/namesrv/route_table.h"
#include "cpp/remoting/command.h"

namespace cometmq::namesrv {

// Turns NameServer requests into RouteTable operations and their results
// into responses. Never blocks beyond the route table's lock, so it can run
// on the I/O threads. Every request gets an answer: a malformed one
// BAD_REQUEST, an unknown topic TOPIC_NOT_EXIST, with a remark saying why.
class RequestProcessor {
 public:
  explicit RequestProcessor(RouteTable* routes) : routes_(routes) {}

  // The request codes Process() understands.
  static std::vector<int32_t> Codes();

  remoting::Command Process(const remoting::Command& request,
                            absl::string_view remote_address, absl::Time now);

 private:
  remoting::Command RegisterBroker(const remoting::Command& request,
                                   absl::string_view remote_address,
                                   absl::Time now);
  remoting::Command UnregisterBroker(const remoting::Command& request);
  remoting::Command GetRoute(const remoting::Command& request);
  remoting::Command GetClusterInfo(const remoting::Command& request);
  remoting::Command GetAllTopics(const remoting::Command& request);
  remoting::Command DeleteTopic(const remoting::Command& request);
  // WIPE_WRITE_PERM_OF_BROKER and ADD_WRITE_PERM_OF_BROKER.
  remoting::Command WritePerm(const remoting::Command& request);

  RouteTable* const routes_;
};

}  // namespace cometmq::namesrv

#endif  // COMETMQ_NAMESRV_REQUEST_PROCESSOR_H_
