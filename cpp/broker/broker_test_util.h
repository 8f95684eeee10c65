#ifndef COMETMQ_BROKER_BROKER_TEST_UTIL_H_
#define COMETMQ_BROKER_BROKER_TEST_UTIL_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "cpp/broker/broker_config.h"
#include "cpp/common/message_record.h"
#include "cpp/namesrv/name_server.h"

namespace cometmq::broker {

// A NameServer on a free loopback port, started (null if it could not be).
std::unique_ptr<namesrv::NameServer> StartLoopbackNameServer();

// Settings of an in-process test broker: loopback, a free port, registered
// with `namesrv`, a small store in a fresh temporary directory named after
// `tag`, logs inside it.
BrokerConfig LoopbackBrokerConfig(const namesrv::NameServer& namesrv,
                                  const std::string& tag);

// The stored records of a pull answer's body, in order (views into `body`).
// A record that does not decode fails the test and ends the list.
std::vector<RecordView> DecodeRecords(absl::string_view body);

}  // namespace cometmq::broker

#endif  // COMETMQ_BROKER_BROKER_TEST_UTIL_H_
