#include "cpp/client/route_cache.h"

#include <string>
#include <utility>
#include <vector>

#include "cpp/client/client_error.h"
#include "cpp/client/test_cluster.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cometmq::client {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

class RouteCacheTest : public ::testing::Test {
 protected:
  testing::TestNameServer namesrv_;
  remoting::RemotingClient client_;
};

TEST_F(RouteCacheTest, FetchesRouteAndDerivesQueues) {
  namesrv_.RegisterBroker("broker-b", "127.0.0.1:20002", {"TopicA"}, 2);
  namesrv_.RegisterBroker("broker-a", "127.0.0.1:20001", {"TopicA"}, 3);
  RouteCache cache(&client_, {namesrv_.address()}, absl::Seconds(5));
  auto route = cache.Get("TopicA");
  ASSERT_TRUE(route.ok()) << route.status();
  ASSERT_EQ((*route)->write_queues.size(), 5u);
  EXPECT_EQ((*route)->write_queues.front(),
            (MessageQueue{"TopicA", "broker-a", 0}));
  EXPECT_EQ((*route)->write_queues.back(),
            (MessageQueue{"TopicA", "broker-b", 1}));
  EXPECT_EQ((*route)->read_queues.size(), 5u);
  EXPECT_EQ(*cache.MasterAddress("broker-b"), "127.0.0.1:20002");
  EXPECT_THAT(cache.AllMasterAddresses(),
              ElementsAre("127.0.0.1:20001", "127.0.0.1:20002"));
  EXPECT_EQ(cache.Cached("TopicA"), *route);
  EXPECT_THAT(cache.Topics(), ElementsAre("TopicA"));
}

TEST_F(RouteCacheTest, UnknownTopicCarriesNameServerCodeAndRemark) {
  namesrv_.RegisterBroker("broker-a", "127.0.0.1:20001", {"TopicA"}, 1);
  RouteCache cache(&client_, {namesrv_.address()}, absl::Seconds(5));
  auto route = cache.Get("NoSuchTopic");
  ASSERT_FALSE(route.ok());
  EXPECT_EQ(route.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(BrokerStatusCode(route.status()), proto::TOPIC_NOT_EXIST);
  EXPECT_THAT(route.status().message(), HasSubstr("17 (TOPIC_NOT_EXIST)"));
  EXPECT_EQ(cache.Cached("NoSuchTopic"), nullptr);
}

TEST_F(RouteCacheTest, FailsOverToTheNextNameServer) {
  namesrv_.RegisterBroker("broker-a", "127.0.0.1:20001", {"TopicA"}, 1);
  // Port 1 on loopback refuses connections.
  RouteCache cache(&client_, {"127.0.0.1:1", namesrv_.address()},
                   absl::Seconds(5));
  auto route = cache.Get("TopicA");
  ASSERT_TRUE(route.ok()) << route.status();
  auto cluster = cache.FetchClusterInfo();
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  EXPECT_TRUE(cluster->broker_table().contains("broker-a"));
}

TEST_F(RouteCacheTest, NoLiveNameServerIsUnavailable) {
  RouteCache cache(&client_, {"127.0.0.1:1"}, absl::Seconds(2));
  auto route = cache.Get("TopicA");
  EXPECT_EQ(route.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_FALSE(BrokerStatusCode(route.status()).has_value());
}

TEST_F(RouteCacheTest, RefreshSeesNewBrokersAndDroppedTopics) {
  namesrv_.RegisterBroker("broker-a", "127.0.0.1:20001", {"TopicA"}, 1);
  RouteCache cache(&client_, {namesrv_.address()}, absl::Seconds(5));
  ASSERT_EQ((*cache.Get("TopicA"))->write_queues.size(), 1u);
  namesrv_.RegisterBroker("broker-b", "127.0.0.1:20002", {"TopicA"}, 4);
  // Get serves the cache; Refresh asks again.
  EXPECT_EQ((*cache.Get("TopicA"))->write_queues.size(), 1u);
  cache.RefreshAll();
  EXPECT_EQ(cache.Cached("TopicA")->write_queues.size(), 5u);
}

// As RocketMQ's route filtering: producers only see writable queues,
// consumers only readable ones.
TEST(MakeTopicRouteTest, QueuesFollowEachBrokersPerm) {
  proto::TopicRouteData data;
  for (const auto& [name, perm] : std::vector<std::pair<std::string, int32_t>>{
           {"ro", proto::PERM_READ}, {"wo", proto::PERM_WRITE}, {"none", 0}}) {
    proto::QueueData* queue = data.add_queue_datas();
    queue->set_broker_name(name);
    queue->set_read_queue_nums(1);
    queue->set_write_queue_nums(1);
    queue->set_perm(perm);
    proto::BrokerData* broker = data.add_broker_datas();
    broker->set_broker_name(name);
    (*broker->mutable_broker_addrs())[0] = name + ":1";
  }
  auto route = MakeTopicRoute("T", data);
  ASSERT_EQ(route->write_queues.size(), 1u);
  EXPECT_EQ(route->write_queues[0].broker_name, "wo");
  ASSERT_EQ(route->read_queues.size(), 1u);
  EXPECT_EQ(route->read_queues[0].broker_name, "ro");
}

TEST(SplitNamesrvAddrTest, AcceptsSemicolonsCommasAndSpaces) {
  EXPECT_THAT(SplitNamesrvAddr(" a:1; b:2,c:3;"),
              ElementsAre("a:1", "b:2", "c:3"));
}

TEST(ClientErrorTest, RoundTripsCodeAndRemark) {
  remoting::Command response;
  response.header.set_status(proto::SYSTEM_BUSY);
  response.header.set_remark("too many requests");
  absl::Status status = ResponseStatus(response);
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(status.message(), HasSubstr("too many requests"));
  absl::Status annotated = Annotate(status, "1.2.3.4:10911");
  EXPECT_EQ(BrokerStatusCode(annotated), proto::SYSTEM_BUSY);
  EXPECT_THAT(annotated.message(), HasSubstr("1.2.3.4:10911: status 2"));
  response.header.set_status(proto::SUCCESS);
  EXPECT_TRUE(ResponseStatus(response).ok());
}

}  // namespace
}  // namespace cometmq::client
