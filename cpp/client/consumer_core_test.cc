#include "cpp/client/consumer_core.h"

#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "cpp/client/fake_broker.h"
#include "cpp/client/pull_consumer.h"
#include "cpp/client/push_consumer.h"
#include "cpp/client/test_cluster.h"
#include "cpp/remoting/remoting_server.h"
#include "gtest/gtest.h"

namespace cometmq::client {
namespace {

std::set<std::string> HeartbeatTopics(const ConsumerCore& core) {
  std::set<std::string> topics;
  const proto::ConsumerData data = core.HeartbeatData();
  for (const auto& sub : data.subscriptions()) {
    topics.insert(sub.topic());
  }
  return topics;
}

// A broker for one consumer group: lists the clients that heartbeat it,
// answers every offset query with kStartOffset, records the offsets
// committed and the topics of the latest heartbeat, and parks pulls (never
// answers them), so an owned queue stays owned and quiet.
class FakeBroker {
 public:
  static constexpr int64_t kStartOffset = 5;

  FakeBroker() {
    remoting::ServerOptions options;
    options.bind_address = "127.0.0.1";
    server_ = std::make_unique<remoting::RemotingServer>(options);
    server_->RegisterHandler(
        proto::HEART_BEAT,
        [this](remoting::Command request, remoting::Responder responder) {
          {
            absl::MutexLock lock(&mu_);
            const proto::HeartbeatData& hb = request.header.heartbeat();
            clients_.insert(hb.client_id());
            heartbeat_topics_.clear();
            for (const auto& consumer : hb.consumers()) {
              for (const auto& sub : consumer.subscriptions()) {
                heartbeat_topics_.insert(sub.topic());
              }
            }
          }
          responder.Respond(remoting::MakeResponse(request, proto::SUCCESS));
        });
    server_->RegisterHandler(
        proto::GET_CONSUMER_LIST_BY_GROUP,
        [this](remoting::Command request, remoting::Responder responder) {
          remoting::Command response =
              remoting::MakeResponse(request, proto::SUCCESS);
          absl::MutexLock lock(&mu_);
          for (const std::string& id : clients_) {
            response.header.mutable_consumer_list_response()->add_client_ids(
                id);
          }
          responder.Respond(std::move(response));
        });
    server_->RegisterHandler(
        proto::QUERY_CONSUMER_OFFSET,
        [](remoting::Command request, remoting::Responder responder) {
          remoting::Command response =
              remoting::MakeResponse(request, proto::SUCCESS);
          response.header.mutable_consumer_offset_response()->set_offset(
              kStartOffset);
          responder.Respond(std::move(response));
        });
    server_->RegisterHandler(
        proto::UPDATE_CONSUMER_OFFSET,
        [this](remoting::Command request, remoting::Responder responder) {
          {
            const auto& commit = request.header.consumer_offset();
            absl::MutexLock lock(&mu_);
            committed_[commit.topic()] = commit.commit_offset();
          }
          responder.Respond(remoting::MakeResponse(request, proto::SUCCESS));
        });
    server_->RegisterHandler(
        proto::PULL_MESSAGE,
        [this](remoting::Command request, remoting::Responder responder) {
          absl::MutexLock lock(&mu_);
          parked_.push_back(std::move(responder));
        });
    for (int code : {proto::UNREGISTER_CLIENT, proto::UNLOCK_BATCH_MQ}) {
      server_->RegisterHandler(
          code, [](remoting::Command request, remoting::Responder responder) {
            responder.Respond(remoting::MakeResponse(request, proto::SUCCESS));
          });
    }
    EXPECT_TRUE(server_->Start().ok());
  }
  ~FakeBroker() {
    {
      absl::MutexLock lock(&mu_);
      parked_.clear();
    }
    server_->Stop();
  }

  std::string address() const {
    return absl::StrCat("127.0.0.1:", server_->port());
  }
  std::set<std::string> heartbeat_topics() const {
    absl::MutexLock lock(&mu_);
    return heartbeat_topics_;
  }
  std::map<std::string, int64_t> committed() const {
    absl::MutexLock lock(&mu_);
    return committed_;
  }

 private:
  std::unique_ptr<remoting::RemotingServer> server_;
  mutable absl::Mutex mu_;
  std::set<std::string> clients_ ABSL_GUARDED_BY(mu_);
  std::set<std::string> heartbeat_topics_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, int64_t> committed_ ABSL_GUARDED_BY(mu_);
  std::vector<remoting::Responder> parked_ ABSL_GUARDED_BY(mu_);
};

std::set<std::string> OwnedTopics(const ConsumerCore& core) {
  std::set<std::string> topics;
  for (const MessageQueue& queue : core.OwnedQueues()) {
    topics.insert(queue.topic);
  }
  return topics;
}

TEST(ConsumerCoreTest, UnsubscribeWhileRunningGivesTheTopicsQueuesUp) {
  testing::TestNameServer namesrv;
  FakeBroker broker;
  namesrv.RegisterBroker("broker-a", broker.address(), {"TopicA", "TopicB"}, 2);
  ConsumerOptions options;
  options.client.namesrv_addr = namesrv.address();
  options.client.instance_name = "unsubscribe-test";
  options.drop_wait = absl::Seconds(1);
  auto core = std::make_shared<ConsumerCore>(
      "CG", options, "CONSUME_PASSIVELY",
      [](const std::shared_ptr<ProcessQueue>&, std::vector<MessageExt>) {});
  ASSERT_TRUE(core->Subscribe("TopicA", "*").ok());
  ASSERT_TRUE(core->Subscribe("TopicB", "*").ok());
  absl::StatusOr<std::shared_ptr<ClientInstance>> instance =
      ClientInstance::Get(options.client);
  ASSERT_TRUE(instance.ok()) << instance.status();
  ASSERT_TRUE(core->Start(instance->get()).ok());
  // The first rebalance may run before the broker listed this client.
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (core->OwnedQueues().size() < 4 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  ASSERT_EQ(core->OwnedQueues().size(), 4u);
  EXPECT_EQ(broker.heartbeat_topics(),
            (std::set<std::string>{"TopicA", "TopicB"}));

  ASSERT_TRUE(core->Unsubscribe("TopicA").ok());
  // At once, not at the next rebalance: the queues are gone, their offsets
  // committed, and the broker heard that only TopicB is subscribed.
  EXPECT_EQ(OwnedTopics(*core), std::set<std::string>{"TopicB"});
  EXPECT_EQ(core->OwnedQueues().size(), 2u);
  EXPECT_EQ(
      broker.committed(),
      (std::map<std::string, int64_t>{{"TopicA", FakeBroker::kStartOffset}}));
  EXPECT_EQ(broker.heartbeat_topics(), std::set<std::string>{"TopicB"});
  // A rebalance does not take them back.
  core->Rebalance();
  EXPECT_EQ(OwnedTopics(*core), std::set<std::string>{"TopicB"});
  core->Shutdown();
}

TEST(ConsumerCoreTest, UnsubscribeBeforeStartOnlyRemovesTheSubscription) {
  auto core = std::make_shared<ConsumerCore>(
      "CG", ConsumerOptions{}, "CONSUME_PASSIVELY",
      [](const std::shared_ptr<ProcessQueue>&, std::vector<MessageExt>) {});
  ASSERT_TRUE(core->Subscribe("TopicA", "*").ok());
  ASSERT_TRUE(core->Subscribe("TopicB", "TagB").ok());
  ASSERT_TRUE(core->Unsubscribe("TopicA").ok());
  EXPECT_EQ(HeartbeatTopics(*core), std::set<std::string>{"TopicB"});
  // As RocketMQ: a topic not subscribed is no error.
  EXPECT_TRUE(core->Unsubscribe("TopicNever").ok());
  EXPECT_EQ(HeartbeatTopics(*core), std::set<std::string>{"TopicB"});
  // Subscribing again works as the first time.
  ASSERT_TRUE(core->Subscribe("TopicA", "*").ok());
  EXPECT_EQ(HeartbeatTopics(*core),
            (std::set<std::string>{"TopicA", "TopicB"}));
}

TEST(ConsumerCoreTest, AnAssignedConsumerHasNothingToUnsubscribe) {
  auto core = std::make_shared<ConsumerCore>(
      "CG", ConsumerOptions{}, "CONSUME_PASSIVELY",
      [](const std::shared_ptr<ProcessQueue>&, std::vector<MessageExt>) {});
  core->Assign({MessageQueue{"TopicA", "broker-a", 0}});
  EXPECT_TRUE(absl::IsFailedPrecondition(core->Unsubscribe("TopicA")));
}

TEST(PushConsumerTest, TheGroupsRetryTopicCannotBeUnsubscribed) {
  DefaultPushConsumer consumer("CG");
  ASSERT_TRUE(consumer.Subscribe("TopicA", "*").ok());
  EXPECT_TRUE(absl::IsInvalidArgument(consumer.Unsubscribe("%RETRY%CG")));
  EXPECT_TRUE(consumer.Unsubscribe("TopicA").ok());
}

// A push consumer has no Commit(): without auto_commit it would never
// commit anything, so Start() refuses it.
TEST(PushConsumerTest, StartRefusesManualCommit) {
  testing::TestNameServer namesrv;
  ConsumerOptions options;
  options.client.namesrv_addr = namesrv.address();
  options.client.instance_name = "manual-push";
  options.auto_commit = false;
  DefaultPushConsumer consumer("CG", options);
  ASSERT_TRUE(consumer.Subscribe("TopicA", "*").ok());
  consumer.RegisterListener(
      [](const MessageExt&) { return ConsumeResult::kSuccess; });
  absl::Status status = consumer.Start();
  EXPECT_TRUE(absl::IsInvalidArgument(status)) << status;
  EXPECT_NE(status.message().find("auto_commit"), std::string::npos) << status;
}

// Two consumers of one group in one client instance (the same instance
// name) are refused, as in RocketMQ; the one refused must leave the running
// one in the group: not unregister the group from the client instance and
// its brokers, which would stop the running one's heartbeats and let the
// group's other members take its queues while it still consumes them.
TEST(ConsumerCoreTest, ARefusedSecondConsumerOfAGroupLeavesTheFirstInIt) {
  testing::TestNameServer namesrv;
  testing::FakeBroker broker;
  namesrv.RegisterBroker("broker-a", broker.address(),
                         {"TopicA", "%RETRY%CGTwice"}, 1);
  ConsumerOptions options;
  options.client.namesrv_addr = namesrv.address();
  options.client.instance_name = "twice";
  auto listener = [](const MessageExt&) { return ConsumeResult::kSuccess; };
  DefaultPushConsumer first("CGTwice", options);
  ASSERT_TRUE(first.Subscribe("TopicA", "*").ok());
  first.RegisterListener(listener);
  ASSERT_TRUE(first.Start().ok());
  absl::StatusOr<std::shared_ptr<ClientInstance>> instance =
      ClientInstance::Get(options.client);
  ASSERT_TRUE(instance.ok()) << instance.status();
  auto groups = [&] {
    (*instance)->SendHeartbeats();
    return broker.heartbeat_groups();
  };
  ASSERT_EQ(groups(), std::set<std::string>{"CGTwice"});

  DefaultPushConsumer second("CGTwice", options);
  ASSERT_TRUE(second.Subscribe("TopicA", "*").ok());
  second.RegisterListener(listener);
  EXPECT_TRUE(absl::IsAlreadyExists(second.Start()));
  DefaultLitePullConsumer third("CGTwice", options);
  ASSERT_TRUE(third.Subscribe("TopicA", "*").ok());
  EXPECT_TRUE(absl::IsAlreadyExists(third.Start()));

  EXPECT_EQ(groups(), std::set<std::string>{"CGTwice"});
  EXPECT_EQ(broker.unregisters(), 0);
  // The running one leaves the group as usual.
  first.Shutdown();
  EXPECT_EQ(broker.unregisters(), 1);
}

}  // namespace
}  // namespace cometmq::client
