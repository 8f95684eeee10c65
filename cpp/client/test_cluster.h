#ifndef COMETMQ_CLIENT_TEST_CLUSTER_H_
#define COMETMQ_CLIENT_TEST_CLUSTER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "cpp/namesrv/name_server.h"
#include "cpp/remoting/remoting_client.h"
#include "gtest/gtest.h"

namespace cometmq::client::testing {

// A real in-process NameServer on a free port, with brokers registered by
// REGISTER_BROKER over a RemotingClient the fixture keeps open (the
// NameServer drops a broker when its connection closes).
class TestNameServer {
 public:
  TestNameServer() {
    namesrv::NamesrvConfig config;
    config.bindAddress = "127.0.0.1";
    config.listenPort = 0;
    server_ = std::make_unique<namesrv::NameServer>(config);
    EXPECT_TRUE(server_->Start().ok());
  }
  ~TestNameServer() {
    registrar_.Shutdown();
    server_->Stop();
  }

  std::string address() const {
    return absl::StrCat("127.0.0.1:", server_->port());
  }

  // Registers `broker_name` (master at `broker_addr`, or the slave
  // `broker_id` there) holding `topics`, each with `queues` read and write
  // queues and permission `perm`.
  void RegisterBroker(const std::string& broker_name,
                      const std::string& broker_addr,
                      const std::vector<std::string>& topics, int queues,
                      int64_t broker_id = 0,
                      int32_t perm = proto::PERM_READ | proto::PERM_WRITE) {
    remoting::Command request = remoting::MakeRequest(proto::REGISTER_BROKER);
    proto::RegisterBrokerRequest* broker =
        request.header.mutable_register_broker();
    broker->set_cluster("DefaultCluster");
    broker->set_broker_name(broker_name);
    broker->set_broker_id(broker_id);
    broker->set_broker_addr(broker_addr);
    for (const std::string& topic : topics) {
      proto::TopicConfig* config = broker->add_topic_configs();
      config->set_topic_name(topic);
      config->set_read_queue_nums(queues);
      config->set_write_queue_nums(queues);
      config->set_perm(perm);
    }
    auto response =
        registrar_.InvokeSync(address(), std::move(request), absl::Seconds(5));
    ASSERT_TRUE(response.ok()) << response.status();
    ASSERT_EQ(response->header.status(), proto::SUCCESS)
        << response->header.remark();
  }

  // Removes one broker (`broker_id` of `broker_name` at `broker_addr`), as
  // a broker shutting down does.
  void UnregisterBroker(const std::string& broker_name,
                        const std::string& broker_addr, int64_t broker_id) {
    remoting::Command request = remoting::MakeRequest(proto::UNREGISTER_BROKER);
    proto::UnregisterBrokerRequest* broker =
        request.header.mutable_unregister_broker();
    broker->set_cluster("DefaultCluster");
    broker->set_broker_name(broker_name);
    broker->set_broker_id(broker_id);
    broker->set_broker_addr(broker_addr);
    auto response =
        registrar_.InvokeSync(address(), std::move(request), absl::Seconds(5));
    ASSERT_TRUE(response.ok()) << response.status();
    ASSERT_EQ(response->header.status(), proto::SUCCESS)
        << response->header.remark();
  }

 private:
  std::unique_ptr<namesrv::NameServer> server_;
  remoting::RemotingClient registrar_;
};

}  // namespace cometmq::client::testing

#endif  // COMETMQ_CLIENT_TEST_CLUSTER_H_
