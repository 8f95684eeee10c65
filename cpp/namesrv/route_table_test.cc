#include "cpp/namesrv/route_table.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "cpp/common/table_page.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cometmq::namesrv {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

const absl::Time kT0 = absl::FromUnixSeconds(1'700'000'000);

proto::TopicConfig Topic(const std::string& name, int queues = 4,
                         int perm = 6) {
  proto::TopicConfig topic;
  topic.set_topic_name(name);
  topic.set_read_queue_nums(queues);
  topic.set_write_queue_nums(queues);
  topic.set_perm(perm);
  return topic;
}

proto::RegisterBrokerRequest Broker(const std::string& cluster,
                                    const std::string& name, int64_t id,
                                    const std::string& addr,
                                    std::vector<proto::TopicConfig> topics) {
  proto::RegisterBrokerRequest request;
  request.set_cluster(cluster);
  request.set_broker_name(name);
  request.set_broker_id(id);
  request.set_broker_addr(addr);
  request.set_ha_server_addr(addr + "-ha");
  for (auto& t : topics) *request.add_topic_configs() = std::move(t);
  return request;
}

std::vector<std::string> RouteBrokerNames(const proto::TopicRouteData& r) {
  std::vector<std::string> names;
  for (const auto& q : r.queue_datas()) names.push_back(q.broker_name());
  return names;
}

std::vector<std::string> Topics(const RouteTable& table) {
  proto::TopicList list = table.GetAllTopics();
  return {list.topics().begin(), list.topics().end()};
}

TEST(RouteTableTest, MasterAndSlaveRegistration) {
  RouteTable table;
  auto master = table.RegisterBroker(
      Broker("c1", "b1", 0, "10.0.0.1:10911", {Topic("T1", 8), Topic("T2")}),
      "10.0.0.1:40000", kT0);
  ASSERT_TRUE(master.ok()) << master.status();
  EXPECT_EQ(master->master_addr, "");

  // The slave sends a different topic list; only the master's counts.
  auto slave = table.RegisterBroker(
      Broker("c1", "b1", 1, "10.0.0.2:10911", {Topic("SlaveOnly")}),
      "10.0.0.2:40000", kT0);
  ASSERT_TRUE(slave.ok()) << slave.status();
  EXPECT_EQ(slave->master_addr, "10.0.0.1:10911");
  EXPECT_EQ(slave->ha_server_addr, "10.0.0.1:10911-ha");

  EXPECT_THAT(Topics(table), ElementsAre("T1", "T2"));
  auto route = table.GetTopicRoute("T1");
  ASSERT_TRUE(route.ok()) << route.status();
  ASSERT_EQ(route->queue_datas_size(), 1);
  EXPECT_EQ(route->queue_datas(0).broker_name(), "b1");
  EXPECT_EQ(route->queue_datas(0).read_queue_nums(), 8);
  EXPECT_EQ(route->queue_datas(0).write_queue_nums(), 8);
  EXPECT_EQ(route->queue_datas(0).perm(), 6);
  ASSERT_EQ(route->broker_datas_size(), 1);
  EXPECT_EQ(route->broker_datas(0).cluster(), "c1");
  EXPECT_EQ(route->broker_datas(0).broker_addrs().at(0), "10.0.0.1:10911");
  EXPECT_EQ(route->broker_datas(0).broker_addrs().at(1), "10.0.0.2:10911");
}

TEST(RouteTableTest, SlaveBeforeMasterLearnsNoMaster) {
  RouteTable table;
  auto slave = table.RegisterBroker(Broker("c1", "b1", 1, "s:1", {}), "r", kT0);
  ASSERT_TRUE(slave.ok());
  EXPECT_EQ(slave->master_addr, "");
  EXPECT_EQ(slave->ha_server_addr, "");
}

TEST(RouteTableTest, RejectsIncompleteRegistration) {
  RouteTable table;
  auto no_name = table.RegisterBroker(Broker("c1", "", 0, "a:1", {}), "r", kT0);
  EXPECT_EQ(no_name.status().code(), absl::StatusCode::kInvalidArgument);
  auto negative =
      table.RegisterBroker(Broker("c1", "b1", -1, "a:1", {}), "r", kT0);
  EXPECT_EQ(negative.status().code(), absl::StatusCode::kInvalidArgument);
  auto unnamed_topic =
      table.RegisterBroker(Broker("c1", "b1", 0, "a:1", {Topic("")}), "r", kT0);
  EXPECT_EQ(unnamed_topic.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(table.live_broker_count(), 0u);
  EXPECT_TRUE(table.GetClusterInfo().broker_table().empty());
}

TEST(RouteTableTest, RouteSpansBrokerNamesSortedAndUnknownTopicIsNotFound) {
  RouteTable table;
  ASSERT_TRUE(
      table
          .RegisterBroker(Broker("c1", "b2", 0, "b:1", {Topic("T")}), "rb", kT0)
          .ok());
  ASSERT_TRUE(
      table
          .RegisterBroker(Broker("c1", "b1", 0, "a:1", {Topic("T")}), "ra", kT0)
          .ok());
  auto route = table.GetTopicRoute("T");
  ASSERT_TRUE(route.ok());
  EXPECT_THAT(RouteBrokerNames(*route), ElementsAre("b1", "b2"));
  ASSERT_EQ(route->broker_datas_size(), 2);
  EXPECT_EQ(route->broker_datas(0).broker_name(), "b1");
  EXPECT_EQ(route->broker_datas(1).broker_name(), "b2");

  auto missing = table.GetTopicRoute("Nope");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(missing.status().message(),
            "No topic route info in name server for the topic: Nope");
}

// Each broker's perm and order of a topic reach the route as registered,
// and a later registration changes them.
TEST(RouteTableTest, RouteCarriesEachBrokersPermAndOrder) {
  RouteTable table;
  proto::TopicConfig ordered = Topic("T", 4, 4);
  ordered.set_order(true);
  ASSERT_TRUE(
      table.RegisterBroker(Broker("c1", "b1", 0, "a:1", {ordered}), "ra", kT0)
          .ok());
  ASSERT_TRUE(
      table
          .RegisterBroker(Broker("c1", "b2", 0, "b:1", {Topic("T", 2, 2)}),
                          "rb", kT0)
          .ok());
  auto route = table.GetTopicRoute("T");
  ASSERT_TRUE(route.ok());
  ASSERT_EQ(route->queue_datas_size(), 2);
  EXPECT_EQ(route->queue_datas(0).perm(), 4);
  EXPECT_TRUE(route->queue_datas(0).order());
  EXPECT_EQ(route->queue_datas(1).perm(), 2);
  EXPECT_FALSE(route->queue_datas(1).order());

  ASSERT_TRUE(
      table
          .RegisterBroker(Broker("c1", "b1", 0, "a:1", {Topic("T")}), "ra", kT0)
          .ok());
  route = table.GetTopicRoute("T");
  ASSERT_TRUE(route.ok());
  EXPECT_EQ(route->queue_datas(0).perm(), 6);
  EXPECT_FALSE(route->queue_datas(0).order());
}

TEST(RouteTableTest, ClusterInfo) {
  RouteTable table;
  ASSERT_TRUE(
      table.RegisterBroker(Broker("c1", "b1", 0, "a:1", {}), "r1", kT0).ok());
  ASSERT_TRUE(
      table.RegisterBroker(Broker("c1", "b1", 1, "a:2", {}), "r2", kT0).ok());
  ASSERT_TRUE(
      table.RegisterBroker(Broker("c1", "b0", 0, "a:3", {}), "r3", kT0).ok());
  ASSERT_TRUE(
      table.RegisterBroker(Broker("c2", "x", 0, "a:4", {}), "r4", kT0).ok());
  proto::ClusterInfo info = table.GetClusterInfo();
  ASSERT_EQ(info.cluster_table_size(), 2);
  EXPECT_THAT(info.cluster_table().at("c1").names(), ElementsAre("b0", "b1"));
  EXPECT_THAT(info.cluster_table().at("c2").names(), ElementsAre("x"));
  ASSERT_EQ(info.broker_table_size(), 3);
  const proto::BrokerData& b1 = info.broker_table().at("b1");
  EXPECT_EQ(b1.cluster(), "c1");
  EXPECT_EQ(b1.broker_addrs_size(), 2);
  EXPECT_EQ(b1.broker_addrs().at(1), "a:2");
}

TEST(RouteTableTest, BrokerMovingToAnotherClusterLeavesTheOldOne) {
  RouteTable table;
  ASSERT_TRUE(
      table.RegisterBroker(Broker("c1", "b1", 0, "a:1", {}), "r", kT0).ok());
  ASSERT_TRUE(
      table.RegisterBroker(Broker("c2", "b1", 0, "a:1", {}), "r", kT0).ok());
  proto::ClusterInfo info = table.GetClusterInfo();
  EXPECT_EQ(info.cluster_table().count("c1"), 0u);
  EXPECT_THAT(info.cluster_table().at("c2").names(), ElementsAre("b1"));
  EXPECT_EQ(info.broker_table().at("b1").cluster(), "c2");
}

TEST(RouteTableTest, ExpiryRemovesSilentBrokersAndTheirRoutes) {
  RouteTable table;
  const absl::Duration expiry = absl::Seconds(120);
  ASSERT_TRUE(table
                  .RegisterBroker(Broker("c1", "b1", 0, "m1:1", {Topic("T")}),
                                  "r1", kT0)
                  .ok());
  ASSERT_TRUE(
      table.RegisterBroker(Broker("c1", "b1", 1, "s1:1", {}), "r2", kT0).ok());
  ASSERT_TRUE(table
                  .RegisterBroker(Broker("c1", "b2", 0, "m2:1",
                                         {Topic("T"), Topic("OnlyB2")}),
                                  "r3", kT0)
                  .ok());

  // Exactly at the expiry nothing goes; the slave and b2 keep heartbeating.
  EXPECT_THAT(table.ScanExpiredBrokers(kT0 + expiry, expiry), IsEmpty());
  ASSERT_TRUE(table
                  .RegisterBroker(Broker("c1", "b1", 1, "s1:1", {}), "r2",
                                  kT0 + absl::Seconds(100))
                  .ok());
  ASSERT_TRUE(table
                  .RegisterBroker(Broker("c1", "b2", 0, "m2:1",
                                         {Topic("T"), Topic("OnlyB2")}),
                                  "r3", kT0 + absl::Seconds(100))
                  .ok());

  // The master of b1 expires; b1 keeps its queue data while its slave lives.
  EXPECT_THAT(table.ScanExpiredBrokers(kT0 + absl::Seconds(121), expiry),
              ElementsAre("m1:1"));
  auto route = table.GetTopicRoute("T");
  ASSERT_TRUE(route.ok());
  EXPECT_THAT(RouteBrokerNames(*route), ElementsAre("b1", "b2"));
  EXPECT_EQ(route->broker_datas(0).broker_addrs_size(), 1);
  EXPECT_EQ(route->broker_datas(0).broker_addrs().at(1), "s1:1");

  // b2 goes silent too: its topics lose it, and OnlyB2 disappears.
  ASSERT_TRUE(table
                  .RegisterBroker(Broker("c1", "b1", 1, "s1:1", {}), "r2",
                                  kT0 + absl::Seconds(200))
                  .ok());
  EXPECT_THAT(table.ScanExpiredBrokers(kT0 + absl::Seconds(221), expiry),
              ElementsAre("m2:1"));
  EXPECT_THAT(Topics(table), ElementsAre("T"));
  EXPECT_EQ(table.GetTopicRoute("OnlyB2").status().code(),
            absl::StatusCode::kNotFound);

  // The slave was b1's last address: b1 and topic T are gone.
  EXPECT_THAT(table.ScanExpiredBrokers(kT0 + absl::Seconds(400), expiry),
              ElementsAre("s1:1"));
  EXPECT_THAT(Topics(table), IsEmpty());
  EXPECT_TRUE(table.GetClusterInfo().cluster_table().empty());
  EXPECT_TRUE(table.GetClusterInfo().broker_table().empty());
  EXPECT_EQ(table.live_broker_count(), 0u);
}

TEST(RouteTableTest, ConnectionCloseRemovesBrokersRegisteredOverIt) {
  RouteTable table;
  ASSERT_TRUE(table
                  .RegisterBroker(Broker("c1", "b1", 0, "m1:1", {Topic("T")}),
                                  "10.0.0.1:5000", kT0)
                  .ok());
  ASSERT_TRUE(table
                  .RegisterBroker(Broker("c1", "b2", 0, "m2:1", {Topic("T")}),
                                  "10.0.0.2:5000", kT0)
                  .ok());
  EXPECT_THAT(table.OnConnectionClosed("10.0.0.9:1"), IsEmpty());
  EXPECT_THAT(table.OnConnectionClosed("10.0.0.1:5000"), ElementsAre("m1:1"));
  auto route = table.GetTopicRoute("T");
  ASSERT_TRUE(route.ok());
  EXPECT_THAT(RouteBrokerNames(*route), ElementsAre("b2"));

  // After re-registering over a new connection, closing the old one (which
  // may be noticed late) must not remove the broker.
  ASSERT_TRUE(table
                  .RegisterBroker(Broker("c1", "b2", 0, "m2:1", {Topic("T")}),
                                  "10.0.0.2:5001", kT0)
                  .ok());
  EXPECT_THAT(table.OnConnectionClosed("10.0.0.2:5000"), IsEmpty());
  EXPECT_TRUE(table.GetTopicRoute("T").ok());
}

TEST(RouteTableTest, UnregisterRemovesOnlyTheMatchingBroker) {
  RouteTable table;
  ASSERT_TRUE(table
                  .RegisterBroker(Broker("c1", "b1", 0, "m1:1", {Topic("T")}),
                                  "r1", kT0)
                  .ok());
  ASSERT_TRUE(
      table.RegisterBroker(Broker("c1", "b1", 1, "s1:1", {}), "r2", kT0).ok());
  proto::UnregisterBrokerRequest request;
  request.set_cluster("c1");
  request.set_broker_name("b1");
  request.set_broker_id(0);
  request.set_broker_addr("stale:1");
  EXPECT_EQ(table.UnregisterBroker(request).code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(table.live_broker_count(), 2u);

  request.set_broker_addr("m1:1");
  EXPECT_TRUE(table.UnregisterBroker(request).ok());
  EXPECT_EQ(table.live_broker_count(), 1u);
  EXPECT_TRUE(table.GetTopicRoute("T").ok());  // the slave still serves it

  request.set_broker_id(1);
  request.set_broker_addr("s1:1");
  EXPECT_TRUE(table.UnregisterBroker(request).ok());
  EXPECT_EQ(table.GetTopicRoute("T").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_TRUE(table.GetClusterInfo().cluster_table().empty());
}

TEST(RouteTableTest, DeleteTopicEverywhereOrPerCluster) {
  RouteTable table;
  ASSERT_TRUE(
      table
          .RegisterBroker(
              Broker("c1", "b1", 0, "a:1", {Topic("T"), Topic("U")}), "r1", kT0)
          .ok());
  ASSERT_TRUE(
      table
          .RegisterBroker(Broker("c2", "b2", 0, "a:2", {Topic("T")}), "r2", kT0)
          .ok());

  EXPECT_TRUE(table.DeleteTopic("T", "c1").ok());
  auto route = table.GetTopicRoute("T");
  ASSERT_TRUE(route.ok());
  EXPECT_THAT(RouteBrokerNames(*route), ElementsAre("b2"));
  EXPECT_EQ(table.DeleteTopic("T", "c1").code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(table.DeleteTopic("T", "nocluster").code(),
            absl::StatusCode::kNotFound);

  EXPECT_TRUE(table.DeleteTopic("T", "").ok());
  EXPECT_THAT(Topics(table), ElementsAre("U"));
  EXPECT_EQ(table.DeleteTopic("T", "").code(), absl::StatusCode::kNotFound);
  // The brokers themselves stay registered.
  EXPECT_EQ(table.live_broker_count(), 2u);
}

TEST(RouteTableTest, ReRegisterWithNewAddressReplacesTheOldOne) {
  RouteTable table;
  ASSERT_TRUE(table
                  .RegisterBroker(Broker("c1", "b1", 0, "old:1", {Topic("T")}),
                                  "r1", kT0)
                  .ok());
  ASSERT_TRUE(table
                  .RegisterBroker(Broker("c1", "b1", 0, "new:1", {Topic("T")}),
                                  "r2", kT0 + absl::Seconds(1))
                  .ok());
  auto route = table.GetTopicRoute("T");
  ASSERT_TRUE(route.ok());
  ASSERT_EQ(route->broker_datas_size(), 1);
  EXPECT_EQ(route->broker_datas(0).broker_addrs_size(), 1);
  EXPECT_EQ(route->broker_datas(0).broker_addrs().at(0), "new:1");
  EXPECT_EQ(table.live_broker_count(), 1u);
  // The old address's connection closing must not take the new one down.
  EXPECT_THAT(table.OnConnectionClosed("r1"), IsEmpty());
  EXPECT_TRUE(table.GetTopicRoute("T").ok());
}

TEST(RouteTableTest, SlavePromotedToMasterOnTheSameAddress) {
  RouteTable table;
  ASSERT_TRUE(
      table.RegisterBroker(Broker("c1", "b1", 1, "s:1", {}), "r", kT0).ok());
  ASSERT_TRUE(
      table.RegisterBroker(Broker("c1", "b1", 0, "s:1", {Topic("T")}), "r", kT0)
          .ok());
  auto route = table.GetTopicRoute("T");
  ASSERT_TRUE(route.ok());
  ASSERT_EQ(route->broker_datas_size(), 1);
  // The address is listed once, as the master.
  EXPECT_EQ(route->broker_datas(0).broker_addrs_size(), 1);
  EXPECT_EQ(route->broker_datas(0).broker_addrs().at(0), "s:1");
}

TEST(RouteTableTest, MasterReRegistrationUpdatesQueueCounts) {
  RouteTable table;
  ASSERT_TRUE(table
                  .RegisterBroker(Broker("c1", "b1", 0, "a:1", {Topic("T", 4)}),
                                  "r", kT0)
                  .ok());
  ASSERT_TRUE(
      table
          .RegisterBroker(Broker("c1", "b1", 0, "a:1", {Topic("T", 16, 4)}),
                          "r", kT0)
          .ok());
  auto route = table.GetTopicRoute("T");
  ASSERT_TRUE(route.ok());
  EXPECT_EQ(route->queue_datas(0).write_queue_nums(), 16);
  EXPECT_EQ(route->queue_datas(0).perm(), 4);
}

TEST(RouteTableTest, TopicDroppedFromMasterRegistrationLeavesTheRoute) {
  RouteTable table;
  ASSERT_TRUE(
      table
          .RegisterBroker(
              Broker("c1", "b1", 0, "a:1", {Topic("T"), Topic("U")}), "r1", kT0)
          .ok());
  ASSERT_TRUE(
      table
          .RegisterBroker(Broker("c1", "b2", 0, "a:2", {Topic("T")}), "r2", kT0)
          .ok());
  ASSERT_TRUE(
      table.RegisterBroker(Broker("c1", "b1", 1, "s:1", {}), "r3", kT0).ok());

  // b1 deleted T (say while this NameServer missed the admin's deleteTopic):
  // its next registration, which carries its whole topic table, must take b1
  // out of T's route and leave b2's queues alone.
  ASSERT_TRUE(table
                  .RegisterBroker(Broker("c1", "b1", 0, "a:1", {Topic("U")}),
                                  "r1", kT0 + absl::Seconds(30))
                  .ok());
  auto route = table.GetTopicRoute("T");
  ASSERT_TRUE(route.ok()) << route.status();
  EXPECT_THAT(RouteBrokerNames(*route), ElementsAre("b2"));

  // A master with no topic left serves none; a topic no one serves is gone.
  ASSERT_TRUE(
      table.RegisterBroker(Broker("c1", "b2", 0, "a:2", {}), "r2", kT0).ok());
  EXPECT_EQ(table.GetTopicRoute("T").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_THAT(Topics(table), ElementsAre("U"));

  // A slave's registration never removes its master's topics.
  ASSERT_TRUE(
      table.RegisterBroker(Broker("c1", "b1", 1, "s:1", {}), "r3", kT0).ok());
  EXPECT_THAT(Topics(table), ElementsAre("U"));
}

// Part `index` of `count` of round `round` of b1's split topic table.
proto::RegisterBrokerRequest Part(uint64_t round, int32_t index, int32_t count,
                                  std::vector<proto::TopicConfig> topics,
                                  int64_t data_version = 7) {
  proto::RegisterBrokerRequest request =
      Broker("c1", "b1", 0, "a:1", std::move(topics));
  request.set_round_id(round);
  request.set_part_index(index);
  request.set_part_count(count);
  request.set_data_version(data_version);
  return request;
}

TEST(RouteTableTest, SplitRegistrationRemovesTopicsOnlyOnceTheRoundIsWhole) {
  RouteTable table;
  ASSERT_TRUE(table
                  .RegisterBroker(Broker("c1", "b1", 0, "a:1",
                                         {Topic("A"), Topic("B"), Topic("C")}),
                                  "r1", kT0)
                  .ok());
  // b1 deleted B and created D; its table comes in two parts. Each part's
  // topics are routed at once; what is missing from one part may be in the
  // other, so nothing is removed in between.
  ASSERT_TRUE(
      table.RegisterBroker(Part(5, 1, 2, {Topic("D")}), "r1", kT0).ok());
  EXPECT_THAT(Topics(table), ElementsAre("A", "B", "C", "D"));
  ASSERT_TRUE(
      table.RegisterBroker(Part(5, 0, 2, {Topic("A"), Topic("C")}), "r1", kT0)
          .ok());
  EXPECT_THAT(Topics(table), ElementsAre("A", "C", "D"));

  // Each round is merged on its own: the next round, whole again, removes
  // what it lacks.
  ASSERT_TRUE(
      table.RegisterBroker(Part(6, 0, 2, {Topic("A")}), "r1", kT0).ok());
  ASSERT_TRUE(
      table.RegisterBroker(Part(6, 1, 2, {Topic("D")}), "r1", kT0).ok());
  EXPECT_THAT(Topics(table), ElementsAre("A", "D"));
}

TEST(RouteTableTest, EveryPartIsAppliedThoughThePartsShareADataVersion) {
  // Every part of a round carries the broker's data version of its one
  // snapshot. Skipping a part whose version the NameServer has already seen
  // (RocketMQ issue 10425) would lose the changes in every part but the
  // first.
  RouteTable table;
  ASSERT_TRUE(
      table.RegisterBroker(Part(1, 0, 2, {Topic("A", 4)}, 7), "r1", kT0).ok());
  ASSERT_TRUE(
      table.RegisterBroker(Part(1, 1, 2, {Topic("B", 4)}, 7), "r1", kT0).ok());
  ASSERT_TRUE(
      table.RegisterBroker(Part(2, 0, 2, {Topic("A", 4)}, 8), "r1", kT0).ok());
  ASSERT_TRUE(
      table.RegisterBroker(Part(2, 1, 2, {Topic("B", 16)}, 8), "r1", kT0).ok());
  auto route = table.GetTopicRoute("B");
  ASSERT_TRUE(route.ok()) << route.status();
  EXPECT_EQ(route->queue_datas(0).write_queue_nums(), 16);
}

TEST(RouteTableTest, UnfinishedSplitRoundRemovesNothing) {
  RouteTable table;
  ASSERT_TRUE(table
                  .RegisterBroker(Broker("c1", "b1", 0, "a:1",
                                         {Topic("A"), Topic("B"), Topic("C")}),
                                  "r1", kT0)
                  .ok());
  // Round 8 loses its last part (the broker was killed, or the request
  // timed out); round 9 starts over. The parts of the two rounds together
  // would look like a whole table without C, which both rounds have.
  ASSERT_TRUE(
      table.RegisterBroker(Part(8, 0, 3, {Topic("A")}), "r1", kT0).ok());
  ASSERT_TRUE(
      table.RegisterBroker(Part(8, 1, 3, {Topic("B")}), "r1", kT0).ok());
  ASSERT_TRUE(
      table.RegisterBroker(Part(9, 2, 3, {Topic("C")}), "r1", kT0).ok());
  EXPECT_THAT(Topics(table), ElementsAre("A", "B", "C"));
  // A part sent twice (a retried round id) does not count twice.
  ASSERT_TRUE(
      table.RegisterBroker(Part(9, 2, 3, {Topic("C")}), "r1", kT0).ok());
  ASSERT_TRUE(
      table.RegisterBroker(Part(9, 0, 3, {Topic("A")}), "r1", kT0).ok());
  EXPECT_THAT(Topics(table), ElementsAre("A", "B", "C"));
  ASSERT_TRUE(
      table.RegisterBroker(Part(9, 1, 3, {Topic("B")}), "r1", kT0).ok());
  EXPECT_THAT(Topics(table), ElementsAre("A", "B", "C"));

  // An unsplit registration in the middle of a round is the whole table
  // and ends the round: its late parts then start a new one.
  ASSERT_TRUE(
      table.RegisterBroker(Part(10, 0, 2, {Topic("A")}), "r1", kT0).ok());
  ASSERT_TRUE(
      table
          .RegisterBroker(Broker("c1", "b1", 0, "a:1", {Topic("A")}), "r1", kT0)
          .ok());
  EXPECT_THAT(Topics(table), ElementsAre("A"));
  ASSERT_TRUE(
      table.RegisterBroker(Part(10, 1, 2, {Topic("Z")}), "r1", kT0).ok());
  EXPECT_THAT(Topics(table), ElementsAre("A", "Z"));
}

TEST(RouteTableTest, SplitRoundOfARestartedBrokerStartsOver) {
  RouteTable table;
  ASSERT_TRUE(
      table
          .RegisterBroker(
              Broker("c1", "b1", 0, "a:1", {Topic("A"), Topic("B")}), "r1", kT0)
          .ok());
  ASSERT_TRUE(
      table.RegisterBroker(Part(3, 0, 2, {Topic("A")}), "r1", kT0).ok());
  // The broker's connection closes (killed between parts): it leaves the
  // routes, and its half round with it.
  EXPECT_THAT(table.OnConnectionClosed("r1"), ElementsAre("a:1"));
  ASSERT_TRUE(
      table.RegisterBroker(Part(3, 1, 2, {Topic("B")}), "r2", kT0).ok());
  EXPECT_THAT(Topics(table), ElementsAre("B"));
  ASSERT_TRUE(
      table.RegisterBroker(Part(3, 0, 2, {Topic("A")}), "r2", kT0).ok());
  EXPECT_THAT(Topics(table), ElementsAre("A", "B"));
}

TEST(RouteTableTest, RejectsPartNumbersOutOfRange) {
  RouteTable table;
  for (auto [index, count] :
       std::vector<std::pair<int32_t, int32_t>>{{2, 2}, {-1, 2}, {0, -1}}) {
    auto result =
        table.RegisterBroker(Part(1, index, count, {Topic("A")}), "r1", kT0);
    EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument)
        << index << " of " << count;
  }
  EXPECT_THAT(Topics(table), IsEmpty());
}

// The perm of broker name `name` in `topic`'s route, or -1.
int PermOf(const RouteTable& table, const std::string& topic,
           const std::string& name) {
  auto route = table.GetTopicRoute(topic);
  if (!route.ok()) return -1;
  for (const auto& q : route->queue_datas()) {
    if (q.broker_name() == name) return q.perm();
  }
  return -1;
}

TEST(RouteTableTest, WipeWritePermHoldsAcrossTheBrokersRegistrations) {
  RouteTable table;
  const auto a = Broker("c1", "a", 0, "10.0.0.1:10911",
                        {Topic("T1"), Topic("T2"), Topic("RO", 4, 4)});
  const auto b = Broker("c1", "b", 0, "10.0.0.2:10911", {Topic("T1")});
  ASSERT_TRUE(table.RegisterBroker(a, "10.0.0.1:1", kT0).ok());
  ASSERT_TRUE(table.RegisterBroker(b, "10.0.0.2:1", kT0).ok());

  EXPECT_EQ(table.WipeWritePerm("a"), 3);
  EXPECT_EQ(PermOf(table, "T1", "a"), 4);
  EXPECT_EQ(PermOf(table, "T2", "a"), 4);
  EXPECT_EQ(PermOf(table, "RO", "a"), 4);
  EXPECT_EQ(PermOf(table, "T1", "b"), 6);  // other brokers untouched

  // The broker's periodic registration (and a new topic) stays wiped.
  auto again = a;
  *again.add_topic_configs() = Topic("T3");
  ASSERT_TRUE(table.RegisterBroker(again, "10.0.0.1:1", kT0).ok());
  EXPECT_EQ(PermOf(table, "T1", "a"), 4);
  EXPECT_EQ(PermOf(table, "T3", "a"), 4);

  // Adding restores what the broker registered, not more (RO stays R).
  EXPECT_EQ(table.AddWritePerm("a"), 4);
  EXPECT_EQ(PermOf(table, "T1", "a"), 6);
  EXPECT_EQ(PermOf(table, "T3", "a"), 6);
  EXPECT_EQ(PermOf(table, "RO", "a"), 4);
  ASSERT_TRUE(table.RegisterBroker(again, "10.0.0.1:1", kT0).ok());
  EXPECT_EQ(PermOf(table, "T1", "a"), 6);

  EXPECT_EQ(table.WipeWritePerm("nobody"), 0);
  EXPECT_EQ(table.AddWritePerm("nobody"), 0);
}

TEST(RouteTableTest, MasterRegisteringAnewEndsAWipe) {
  RouteTable table;
  const auto a = Broker("c1", "a", 0, "10.0.0.1:10911", {Topic("T1")});
  const auto slave = Broker("c1", "a", 1, "10.0.0.3:10911", {Topic("T1")});
  ASSERT_TRUE(table.RegisterBroker(a, "10.0.0.1:1", kT0).ok());
  ASSERT_TRUE(table.RegisterBroker(slave, "10.0.0.3:1", kT0).ok());
  EXPECT_EQ(table.WipeWritePerm("a"), 1);

  // The master stops (its slave keeps the group); a restarted master is
  // writable again, as a restarted RocketMQ broker is.
  proto::UnregisterBrokerRequest bye;
  bye.set_broker_name("a");
  bye.set_broker_id(0);
  bye.set_broker_addr("10.0.0.1:10911");
  ASSERT_TRUE(table.UnregisterBroker(bye).ok());
  EXPECT_EQ(PermOf(table, "T1", "a"), 4);
  ASSERT_TRUE(table.RegisterBroker(a, "10.0.0.1:2", kT0).ok());
  EXPECT_EQ(PermOf(table, "T1", "a"), 6);

  // So does a master that comes back at another address.
  EXPECT_EQ(table.WipeWritePerm("a"), 1);
  ASSERT_TRUE(
      table
          .RegisterBroker(Broker("c1", "a", 0, "10.0.0.9:10911", {Topic("T1")}),
                          "10.0.0.9:1", kT0)
          .ok());
  EXPECT_EQ(PermOf(table, "T1", "a"), 6);
}

TEST(RouteTableTest, TopicListPagesCoverEveryTopicOnceInOrder) {
  RouteTable table;
  std::vector<proto::TopicConfig> topics;
  for (int i = 0; i < 500; ++i) {
    topics.push_back(
        Topic(absl::StrCat("Topic", 1000 + i, std::string(30, 'x'))));
  }
  proto::RegisterBrokerRequest request =
      Broker("c1", "b1", 0, "10.0.0.1:10911", topics);
  ASSERT_TRUE(table.RegisterBroker(request, "10.0.0.1:40000", kT0).ok());

  std::vector<std::string> seen;
  std::string after;
  int pages = 0;
  while (true) {
    proto::TopicList page = table.GetTopicsPage(after, kMinPageBytes);
    ASSERT_GT(page.topics_size(), 0);
    EXPECT_LT(page.ByteSizeLong(), kMinPageBytes + 100);
    seen.insert(seen.end(), page.topics().begin(), page.topics().end());
    EXPECT_EQ(page.page().last(), page.topics(page.topics_size() - 1));
    ++pages;
    if (!page.page().more()) break;
    after = page.page().last();
  }
  EXPECT_GT(pages, 3);
  EXPECT_EQ(seen, Topics(table));
  // Past the last topic: nothing, and no more.
  proto::TopicList past = table.GetTopicsPage(seen.back(), kMinPageBytes);
  EXPECT_EQ(past.topics_size(), 0);
  EXPECT_FALSE(past.page().more());
}

}  // namespace
}  // namespace cometmq::namesrv
