#include "cpp/namesrv/name_server.h"

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "cpp/remoting/remoting_client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cometmq::namesrv {
namespace {

using remoting::Command;
using remoting::MakeRequest;
using ::testing::ElementsAre;

constexpr absl::Duration kTimeout = absl::Seconds(5);

// Polls `condition` until it holds or `limit` passes; true if it held.
template <typename F>
bool WaitFor(F condition, absl::Duration limit = absl::Seconds(10)) {
  const absl::Time deadline = absl::Now() + limit;
  while (!condition()) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(5));
  }
  return true;
}

proto::TopicConfig Topic(const std::string& name, int queues) {
  proto::TopicConfig topic;
  topic.set_topic_name(name);
  topic.set_read_queue_nums(queues);
  topic.set_write_queue_nums(queues);
  topic.set_perm(6);
  return topic;
}

Command RegisterRequest(const std::string& name, int64_t id,
                        const std::string& addr) {
  Command request = MakeRequest(proto::REGISTER_BROKER);
  proto::RegisterBrokerRequest* broker =
      request.header.mutable_register_broker();
  broker->set_cluster("DefaultCluster");
  broker->set_broker_name(name);
  broker->set_broker_id(id);
  broker->set_broker_addr(addr);
  broker->set_ha_server_addr(addr + "-ha");
  *broker->add_topic_configs() = Topic("TopicA", 4);
  *broker->add_topic_configs() = Topic("TopicB", 8);
  return request;
}

Command RouteRequest(const std::string& topic) {
  Command request = MakeRequest(proto::GET_ROUTEINFO_BY_TOPIC);
  request.header.mutable_topic_route()->set_topic(topic);
  return request;
}

class NameServerTest : public ::testing::Test {
 protected:
  void StartServer(NamesrvConfig config) {
    config.bindAddress = "127.0.0.1";
    config.listenPort = 0;
    server_ = std::make_unique<NameServer>(std::move(config));
    ASSERT_TRUE(server_->Start().ok());
    address_ = absl::StrCat("127.0.0.1:", server_->port());
  }

  Command Call(Command request) {
    absl::StatusOr<Command> response =
        client_.InvokeSync(address_, std::move(request), kTimeout);
    EXPECT_TRUE(response.ok()) << response.status();
    return response.ok() ? *std::move(response) : Command{};
  }

  remoting::RemotingClient client_;
  std::unique_ptr<NameServer> server_;
  std::string address_;
};

TEST_F(NameServerTest, RegisterRouteClusterInfoUnregister) {
  StartServer(NamesrvConfig{});

  Command registered = Call(RegisterRequest("broker-a", 0, "127.0.0.1:10911"));
  ASSERT_EQ(registered.header.status(), proto::SUCCESS)
      << registered.header.remark();
  ASSERT_TRUE(registered.header.has_register_broker_response());

  Command slave = Call(RegisterRequest("broker-a", 1, "127.0.0.1:10921"));
  ASSERT_EQ(slave.header.status(), proto::SUCCESS);
  EXPECT_EQ(slave.header.register_broker_response().master_addr(),
            "127.0.0.1:10911");
  EXPECT_EQ(slave.header.register_broker_response().ha_server_addr(),
            "127.0.0.1:10911-ha");

  Command route = Call(RouteRequest("TopicB"));
  ASSERT_EQ(route.header.status(), proto::SUCCESS) << route.header.remark();
  const proto::TopicRouteData& data = route.header.topic_route_response();
  ASSERT_EQ(data.queue_datas_size(), 1);
  EXPECT_EQ(data.queue_datas(0).broker_name(), "broker-a");
  EXPECT_EQ(data.queue_datas(0).write_queue_nums(), 8);
  ASSERT_EQ(data.broker_datas_size(), 1);
  EXPECT_EQ(data.broker_datas(0).broker_addrs().at(0), "127.0.0.1:10911");
  EXPECT_EQ(data.broker_datas(0).broker_addrs().at(1), "127.0.0.1:10921");

  Command unknown = Call(RouteRequest("NoSuchTopic"));
  EXPECT_EQ(unknown.header.status(), proto::TOPIC_NOT_EXIST);
  EXPECT_EQ(unknown.header.remark(),
            "No topic route info in name server for the topic: NoSuchTopic");

  Command cluster = Call(MakeRequest(proto::GET_BROKER_CLUSTER_INFO));
  ASSERT_EQ(cluster.header.status(), proto::SUCCESS);
  const proto::ClusterInfo& info = cluster.header.cluster_info_response();
  EXPECT_THAT(info.cluster_table().at("DefaultCluster").names(),
              ElementsAre("broker-a"));
  EXPECT_EQ(info.broker_table().at("broker-a").broker_addrs_size(), 2);

  Command topics = Call(MakeRequest(proto::GET_ALL_TOPIC_LIST_FROM_NAMESERVER));
  ASSERT_EQ(topics.header.status(), proto::SUCCESS);
  EXPECT_THAT(topics.header.topic_list_response().topics(),
              ElementsAre("TopicA", "TopicB"));

  for (int64_t id : {1, 0}) {
    Command unregister = MakeRequest(proto::UNREGISTER_BROKER);
    proto::UnregisterBrokerRequest* broker =
        unregister.header.mutable_unregister_broker();
    broker->set_cluster("DefaultCluster");
    broker->set_broker_name("broker-a");
    broker->set_broker_id(id);
    broker->set_broker_addr(id == 0 ? "127.0.0.1:10911" : "127.0.0.1:10921");
    EXPECT_EQ(Call(std::move(unregister)).header.status(), proto::SUCCESS);
  }
  EXPECT_EQ(Call(RouteRequest("TopicA")).header.status(),
            proto::TOPIC_NOT_EXIST);
  EXPECT_TRUE(Call(MakeRequest(proto::GET_BROKER_CLUSTER_INFO))
                  .header.cluster_info_response()
                  .cluster_table()
                  .empty());
}

TEST_F(NameServerTest, MalformedRequestsGetBadRequest) {
  StartServer(NamesrvConfig{});
  Command no_payload = Call(MakeRequest(proto::REGISTER_BROKER));
  EXPECT_EQ(no_payload.header.status(), proto::BAD_REQUEST);
  EXPECT_NE(no_payload.header.remark().find("register_broker"),
            std::string::npos);

  Command incomplete = RegisterRequest("", 0, "127.0.0.1:10911");
  Command rejected = Call(std::move(incomplete));
  EXPECT_EQ(rejected.header.status(), proto::BAD_REQUEST);
  EXPECT_NE(rejected.header.remark().find("broker_name"), std::string::npos);
}

TEST_F(NameServerTest, DeleteTopic) {
  StartServer(NamesrvConfig{});
  ASSERT_EQ(
      Call(RegisterRequest("broker-a", 0, "127.0.0.1:10911")).header.status(),
      proto::SUCCESS);
  Command del = MakeRequest(proto::DELETE_TOPIC_IN_NAMESRV);
  del.header.mutable_delete_topic()->set_topic("TopicA");
  Command again = del;
  EXPECT_EQ(Call(std::move(del)).header.status(), proto::SUCCESS);
  EXPECT_EQ(Call(RouteRequest("TopicA")).header.status(),
            proto::TOPIC_NOT_EXIST);
  EXPECT_EQ(Call(RouteRequest("TopicB")).header.status(), proto::SUCCESS);
  EXPECT_EQ(Call(std::move(again)).header.status(), proto::TOPIC_NOT_EXIST);
}

TEST_F(NameServerTest, SilentBrokerExpires) {
  NamesrvConfig config;
  config.brokerExpiredMillis = 300;
  config.scanNotActiveBrokerIntervalMillis = 50;
  StartServer(config);
  ASSERT_EQ(
      Call(RegisterRequest("broker-a", 0, "127.0.0.1:10911")).header.status(),
      proto::SUCCESS);
  // The connection stays open, so only the expiry scan can remove it.
  EXPECT_TRUE(WaitFor([&] {
    return Call(RouteRequest("TopicA")).header.status() ==
           proto::TOPIC_NOT_EXIST;
  }));
}

TEST_F(NameServerTest, ClosedConnectionRemovesItsBrokersAtOnce) {
  // An expiry far beyond the test's deadline: only the close can remove it.
  StartServer(NamesrvConfig{});
  remoting::RemotingClient broker_client;
  absl::StatusOr<Command> registered = broker_client.InvokeSync(
      address_, RegisterRequest("broker-a", 0, "127.0.0.1:10911"), kTimeout);
  ASSERT_TRUE(registered.ok()) << registered.status();
  ASSERT_EQ(registered->header.status(), proto::SUCCESS);
  EXPECT_EQ(Call(RouteRequest("TopicA")).header.status(), proto::SUCCESS);

  broker_client.Shutdown();
  EXPECT_TRUE(WaitFor([&] {
    return Call(RouteRequest("TopicA")).header.status() ==
           proto::TOPIC_NOT_EXIST;
  }));
}

TEST_F(NameServerTest, StopIsIdempotentAndStartFailsOnBusyPort) {
  StartServer(NamesrvConfig{});
  NamesrvConfig same_port;
  same_port.bindAddress = "127.0.0.1";
  same_port.listenPort = server_->port();
  NameServer second(same_port);
  EXPECT_FALSE(second.Start().ok());
  second.Stop();

  server_->Stop();
  server_->Stop();
  EXPECT_FALSE(
      client_.InvokeSync(address_, RouteRequest("TopicA"), kTimeout).ok());
}

TEST(NameServerConfigTest, StartRejectsInvalidConfig) {
  NamesrvConfig config;
  config.scanNotActiveBrokerIntervalMillis = 0;
  NameServer server(config);
  absl::Status status = server.Start();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("scanNotActiveBrokerInterval"),
            std::string::npos);
}

}  // namespace
}  // namespace cometmq::namesrv
