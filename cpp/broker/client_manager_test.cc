#include "cpp/broker/client_manager.h"

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cometmq::broker {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

proto::HeartbeatData Consumer(const std::string& client,
                              const std::string& group,
                              const std::string& topic = "T") {
  proto::HeartbeatData hb;
  hb.set_client_id(client);
  proto::ConsumerData* c = hb.add_consumers();
  c->set_group(group);
  proto::SubscriptionData* sub = c->add_subscriptions();
  sub->set_topic(topic);
  sub->set_expression("TagA || TagB");
  return hb;
}

class ClientManagerTest : public ::testing::Test {
 protected:
  ClientManagerTest()
      : clients_(absl::Seconds(120),
                 [this](const ClientChannel& member, const std::string& group) {
                   notified_.push_back(member.client_id + "/" + group);
                 }) {}

  void Beat(const std::string& client, const std::string& group,
            const std::string& remote, absl::Time at) {
    clients_.Heartbeat(Consumer(client, group), {}, remote, at);
  }

  const absl::Time t0_ = absl::FromUnixSeconds(1700000000);
  std::vector<std::string> notified_;
  ClientManager clients_;
};

TEST_F(ClientManagerTest, JoiningNotifiesEveryMemberOnce) {
  Beat("c2", "G", "10.0.0.2:1", t0_);
  EXPECT_THAT(notified_, ElementsAre("c2/G"));
  notified_.clear();
  Beat("c1", "G", "10.0.0.1:1", t0_);
  EXPECT_THAT(notified_, UnorderedElementsAre("c1/G", "c2/G"));
  notified_.clear();
  // A repeated heartbeat is not a membership change.
  Beat("c1", "G", "10.0.0.1:1", t0_ + absl::Seconds(30));
  EXPECT_THAT(notified_, IsEmpty());
  EXPECT_THAT(clients_.ConsumerIds("G"), ElementsAre("c1", "c2"));
  EXPECT_EQ(clients_.Subscription("G", "T"), "TagA || TagB");
  EXPECT_THAT(clients_.SubscribedTopics("G"), ElementsAre("T"));
}

TEST_F(ClientManagerTest, GroupSubscribesToWhatItsLiveMembersLastSaid) {
  proto::HeartbeatData both = Consumer("c1", "G", "A");
  proto::SubscriptionData* b = both.mutable_consumers(0)->add_subscriptions();
  b->set_topic("B");
  b->set_expression("*");
  clients_.Heartbeat(both, {}, "10.0.0.1:1", t0_);
  clients_.Heartbeat(Consumer("c2", "G", "C"), {}, "10.0.0.2:1", t0_);
  EXPECT_THAT(clients_.SubscribedTopics("G"), ElementsAre("A", "B", "C"));
  EXPECT_THAT(clients_.GroupsSubscribedTo("B"), ElementsAre("G"));

  // c1 unsubscribed B: its next heartbeat lists A only.
  clients_.Heartbeat(Consumer("c1", "G", "A"), {}, "10.0.0.1:1",
                     t0_ + absl::Seconds(30));
  EXPECT_THAT(clients_.SubscribedTopics("G"), ElementsAre("A", "C"));
  EXPECT_THAT(clients_.GroupsSubscribedTo("B"), IsEmpty());
  EXPECT_EQ(clients_.Subscription("G", "B"), std::nullopt);
  EXPECT_EQ(clients_.Subscription("G", "A"), "TagA || TagB");

  // A departed member's topics leave with it.
  clients_.Unregister("c2", "", "G");
  EXPECT_THAT(clients_.SubscribedTopics("G"), ElementsAre("A"));
  clients_.OnConnectionClosed("10.0.0.1:1");
  EXPECT_THAT(clients_.SubscribedTopics("G"), IsEmpty());
  EXPECT_THAT(clients_.GroupsSubscribedTo("A"), IsEmpty());
}

TEST_F(ClientManagerTest, ConsumerConnectionListsMembersAndDeclarations) {
  EXPECT_FALSE(clients_.ConsumerConnectionOf("G").has_value());
  proto::HeartbeatData first = Consumer("c2", "G", "T1");
  first.set_language("CPP");
  first.set_version("0.1.0");
  proto::ConsumerData* c = first.mutable_consumers(0);
  c->set_consume_type("CONSUME_PASSIVELY");
  c->set_message_model("CLUSTERING");
  c->set_consume_from_where("CONSUME_FROM_FIRST_OFFSET");
  clients_.Heartbeat(first, {}, "10.0.0.2:7", t0_);
  proto::HeartbeatData second = Consumer("c1", "G", "T1");
  second.mutable_consumers(0)->mutable_subscriptions(0)->set_expression("X");
  proto::SubscriptionData* t2 =
      second.mutable_consumers(0)->add_subscriptions();
  t2->set_topic("T2");
  t2->set_expression("a > 1");
  t2->set_expression_type(proto::EXPRESSION_SQL92);
  c = second.mutable_consumers(0);
  c->set_consume_type("CONSUME_PASSIVELY");
  c->set_message_model("CLUSTERING");
  c->set_consume_from_where("CONSUME_FROM_LAST_OFFSET");
  clients_.Heartbeat(second, {}, "10.0.0.1:7", t0_ + absl::Seconds(1));

  std::optional<ConsumerConnection> conn = clients_.ConsumerConnectionOf("G");
  ASSERT_TRUE(conn.has_value());
  ASSERT_EQ(conn->members.size(), 2u);
  EXPECT_EQ(conn->members[0].client_id, "c1");
  EXPECT_EQ(conn->members[0].remote_address, "10.0.0.1:7");
  EXPECT_EQ(conn->members[1].client_id, "c2");
  EXPECT_EQ(conn->members[1].language, "CPP");
  EXPECT_EQ(conn->members[1].version, "0.1.0");
  // The member heard from last decides the group's declarations and the
  // expression of a topic both subscribe to.
  EXPECT_EQ(conn->consume_type, "CONSUME_PASSIVELY");
  EXPECT_EQ(conn->message_model, "CLUSTERING");
  EXPECT_EQ(conn->consume_from_where, "CONSUME_FROM_LAST_OFFSET");
  ASSERT_EQ(conn->subscriptions.size(), 2u);
  EXPECT_EQ(conn->subscriptions.at("T1").expression(), "X");
  EXPECT_EQ(conn->subscriptions.at("T1").expression_type(),
            proto::EXPRESSION_TAG);
  EXPECT_EQ(conn->subscriptions.at("T2").expression(), "a > 1");
  EXPECT_EQ(conn->subscriptions.at("T2").expression_type(),
            proto::EXPRESSION_SQL92);

  // c2 speaks again: its expression for T1 is now the latest.
  clients_.Heartbeat(first, {}, "10.0.0.2:7", t0_ + absl::Seconds(2));
  conn = clients_.ConsumerConnectionOf("G");
  EXPECT_EQ(conn->subscriptions.at("T1").expression(), "TagA || TagB");
  EXPECT_EQ(conn->consume_from_where, "CONSUME_FROM_FIRST_OFFSET");

  // Departed members and their topics are gone; the last one leaving
  // leaves no group.
  clients_.OnConnectionClosed("10.0.0.1:7");
  conn = clients_.ConsumerConnectionOf("G");
  ASSERT_EQ(conn->members.size(), 1u);
  EXPECT_FALSE(conn->subscriptions.contains("T2"));
  clients_.Unregister("c2", "", "G");
  EXPECT_FALSE(clients_.ConsumerConnectionOf("G").has_value());
}

TEST_F(ClientManagerTest, UnregisterNotifiesTheRest) {
  Beat("c1", "G", "10.0.0.1:1", t0_);
  Beat("c2", "G", "10.0.0.2:1", t0_);
  notified_.clear();
  clients_.Unregister("c1", "", "G");
  EXPECT_THAT(notified_, ElementsAre("c2/G"));
  EXPECT_THAT(clients_.ConsumerIds("G"), ElementsAre("c2"));
}

TEST_F(ClientManagerTest, ConnectionCloseRemovesItsClients) {
  Beat("c1", "G", "10.0.0.1:1", t0_);
  Beat("c2", "G", "10.0.0.2:1", t0_);
  Beat("c1", "H", "10.0.0.1:1", t0_);
  notified_.clear();
  clients_.OnConnectionClosed("10.0.0.1:1");
  EXPECT_THAT(notified_, ElementsAre("c2/G"));  // H is empty: nobody to tell
  EXPECT_THAT(clients_.ConsumerIds("G"), ElementsAre("c2"));
  EXPECT_THAT(clients_.ConsumerIds("H"), IsEmpty());
}

TEST_F(ClientManagerTest, ExpiryAfterSilence) {
  Beat("c1", "G", "10.0.0.1:1", t0_);
  Beat("c2", "G", "10.0.0.2:1", t0_ + absl::Seconds(60));
  proto::HeartbeatData producer;
  producer.set_client_id("p1");
  producer.add_producers()->set_group("PG");
  clients_.Heartbeat(producer, {}, "10.0.0.3:1", t0_);
  notified_.clear();
  EXPECT_THAT(clients_.ScanExpired(t0_ + absl::Seconds(120)), IsEmpty());
  EXPECT_THAT(clients_.ScanExpired(t0_ + absl::Seconds(121)),
              ElementsAre("c1", "p1"));
  EXPECT_THAT(notified_, ElementsAre("c2/G"));
  EXPECT_THAT(clients_.ConsumerIds("G"), ElementsAre("c2"));
  EXPECT_THAT(clients_.ProducerIds("PG"), IsEmpty());
}

}  // namespace
}  // namespace cometmq::broker

namespace cometmq::broker {
namespace {

std::shared_ptr<remoting::Connection> IdleConnection() {
  auto io = std::make_shared<boost::asio::io_context>();
  boost::asio::ip::tcp::socket socket(*io);
  return std::make_shared<remoting::Connection>(
      io, std::move(socket), remoting::ConnectionOptions{}, nullptr, nullptr);
}

proto::HeartbeatData Producer(const std::string& client,
                              const std::string& group) {
  proto::HeartbeatData hb;
  hb.set_client_id(client);
  hb.add_producers()->set_group(group);
  return hb;
}

TEST(ClientManagerProducerTest, LiveProducerIsTheLatestWithAnOpenConnection) {
  ClientManager clients(absl::Seconds(120), nullptr);
  const absl::Time t0 = absl::FromUnixSeconds(1700000000);
  EXPECT_FALSE(clients.LiveProducer("PG").has_value());
  std::shared_ptr<remoting::Connection> first = IdleConnection();
  std::shared_ptr<remoting::Connection> second = IdleConnection();
  clients.Heartbeat(Producer("p1", "PG"), first, "10.0.0.1:1", t0);
  clients.Heartbeat(Producer("p2", "PG"), second, "10.0.0.2:1",
                    t0 + absl::Seconds(1));
  ASSERT_TRUE(clients.LiveProducer("PG").has_value());
  EXPECT_EQ(clients.LiveProducer("PG")->client_id, "p2");
  // A member whose connection is gone is skipped.
  second.reset();
  EXPECT_EQ(clients.LiveProducer("PG")->client_id, "p1");
  EXPECT_FALSE(clients.LiveProducer("OTHER").has_value());
  clients.Unregister("p1", "PG", "");
  EXPECT_FALSE(clients.LiveProducer("PG").has_value());
}

TEST(ClientManagerProducerTest, ProducersAreListedWithTheirAddresses) {
  ClientManager clients(absl::Seconds(120), nullptr);
  const absl::Time t0 = absl::FromUnixSeconds(1700000000);
  EXPECT_THAT(clients.Producers("PG"), IsEmpty());
  proto::HeartbeatData p2 = Producer("p2", "PG");
  p2.set_language("CPP");
  p2.set_version("0.1.0");
  clients.Heartbeat(p2, {}, "10.0.0.2:1", t0);
  clients.Heartbeat(Producer("p1", "PG"), {}, "10.0.0.1:1", t0);
  clients.Heartbeat(Producer("p3", "OTHER"), {}, "10.0.0.3:1", t0);
  std::vector<ClientChannel> producers = clients.Producers("PG");
  ASSERT_EQ(producers.size(), 2u);
  EXPECT_EQ(producers[0].client_id, "p1");
  EXPECT_EQ(producers[0].remote_address, "10.0.0.1:1");
  EXPECT_EQ(producers[1].client_id, "p2");
  EXPECT_EQ(producers[1].language, "CPP");
  EXPECT_EQ(producers[1].version, "0.1.0");
  clients.OnConnectionClosed("10.0.0.1:1");
  EXPECT_EQ(clients.Producers("PG").size(), 1u);
  // A producer group is not a consumer group.
  EXPECT_FALSE(clients.ConsumerConnectionOf("PG").has_value());
}

}  // namespace
}  // namespace cometmq::broker
