#include "cpp/client/producer.h"

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "cpp/client/client_error.h"
#include "cpp/client/fake_broker.h"
#include "cpp/client/test_cluster.h"
#include "cpp/remoting/remoting_server.h"
#include "gtest/gtest.h"

namespace cometmq::client {
namespace {

using testing::FakeBroker;

Message Msg(const std::string& topic, const std::string& body) {
  Message message;
  message.topic = topic;
  message.body = body;
  return message;
}

class ProducerTest : public ::testing::Test {
 protected:
  ProducerOptions Options() {
    ProducerOptions options;
    options.client.namesrv_addr = namesrv_.address();
    return options;
  }
  testing::TestNameServer namesrv_;
};

TEST_F(ProducerTest, RetriesOnAnotherBrokerAndThenAvoidsTheBusyOne) {
  FakeBroker busy(proto::SYSTEM_BUSY);
  FakeBroker good(proto::SUCCESS);
  namesrv_.RegisterBroker("broker-a", busy.address(), {"TopicA"}, 4);
  namesrv_.RegisterBroker("broker-b", good.address(), {"TopicA"}, 4);
  DefaultProducer producer("PG", Options());
  ASSERT_TRUE(producer.Start().ok());
  for (int i = 0; i < 20; ++i) {
    auto result = producer.SendSync(Msg("TopicA", "hello"));
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_EQ(result->broker_name, "broker-b");
    EXPECT_EQ(result->status, "SEND_OK");
    EXPECT_EQ(result->msg_id.size(), 32u);
  }
  // After its first failure the busy broker is skipped for 30 s.
  EXPECT_EQ(busy.sends(), 1);
  EXPECT_EQ(good.sends(), 20);
  producer.Shutdown();
}

TEST_F(ProducerTest, OnlyBrokerBusyEndsWithItsCodeAndRemark) {
  FakeBroker busy(proto::SYSTEM_BUSY);
  namesrv_.RegisterBroker("broker-a", busy.address(), {"TopicA"}, 2);
  ProducerOptions options = Options();
  options.retry_times_when_send_failed = 2;
  DefaultProducer producer("PG", options);
  ASSERT_TRUE(producer.Start().ok());
  auto result = producer.SendSync(Msg("TopicA", "hello"));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(BrokerStatusCode(result.status()), proto::SYSTEM_BUSY);
  EXPECT_NE(result.status().message().find("broker is busy"),
            absl::string_view::npos);
  EXPECT_EQ(busy.sends(), 3);  // the only broker: 1 + 2 retries
}

TEST_F(ProducerTest, UnknownTopicFailsWithNameServerRemark) {
  FakeBroker good(proto::SUCCESS);
  namesrv_.RegisterBroker("broker-a", good.address(), {"TopicA"}, 2);
  ProducerOptions options = Options();
  options.auto_create_topic =
      false;  // no default route: the NameServer's answer
  DefaultProducer producer("PG", options);
  ASSERT_TRUE(producer.Start().ok());
  auto result = producer.SendSync(Msg("Nope", "hello"));
  EXPECT_EQ(BrokerStatusCode(result.status()), proto::TOPIC_NOT_EXIST)
      << result.status();
  EXPECT_EQ(good.sends(), 0);
}

// As RocketMQ's producer skips queues that are not writable: a read-only
// topic fails with NO_PERMISSION without a send, and once it is writable
// again the next send goes through (the route is fetched again at once).
TEST_F(ProducerTest, ReadOnlyTopicIsRefusedWithNoPermissionUntilWritable) {
  FakeBroker good(proto::SUCCESS);
  namesrv_.RegisterBroker("broker-a", good.address(), {"TopicR"}, 2, 0,
                          proto::PERM_READ);
  DefaultProducer producer("PG", Options());
  ASSERT_TRUE(producer.Start().ok());
  auto result = producer.SendSync(Msg("TopicR", "hello"));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(BrokerStatusCode(result.status()), proto::NO_PERMISSION)
      << result.status();
  EXPECT_TRUE(absl::IsPermissionDenied(result.status()));
  EXPECT_NE(result.status().message().find(
                "the topic[TopicR] sending message is forbidden"),
            absl::string_view::npos)
      << result.status();
  EXPECT_EQ(good.sends(), 0);

  namesrv_.RegisterBroker("broker-a", good.address(), {"TopicR"}, 2);
  result = producer.SendSync(Msg("TopicR", "hello"));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(good.sends(), 1);
  producer.Shutdown();
}

TEST(NoWritableQueueErrorTest, PermissionOnlyWhenNoBrokerAllowsWrites) {
  proto::TopicRouteData route;
  proto::QueueData* queue = route.add_queue_datas();
  queue->set_broker_name("b");
  queue->set_perm(proto::PERM_READ);
  absl::Status status = NoWritableQueueError("T", route);
  EXPECT_EQ(BrokerStatusCode(status), proto::NO_PERMISSION);
  // Writable but no master registered: a passing outage, not a refusal.
  queue->set_perm(proto::PERM_READ | proto::PERM_WRITE);
  status = NoWritableQueueError("T", route);
  EXPECT_TRUE(absl::IsUnavailable(status)) << status;
  EXPECT_FALSE(BrokerStatusCode(status).has_value());
}

TEST_F(ProducerTest, AsyncCallbacksRunExactlyOnce) {
  FakeBroker good(proto::SUCCESS);
  namesrv_.RegisterBroker("broker-a", good.address(), {"TopicA"}, 4);
  DefaultProducer producer("PG", Options());
  ASSERT_TRUE(producer.Start().ok());
  constexpr int kCount = 500;
  absl::Mutex mu;
  int ok = 0, failed = 0;
  for (int i = 0; i < kCount; ++i) {
    producer.SendAsync(Msg("TopicA", absl::StrCat(i)),
                       [&](absl::StatusOr<SendResult> result) {
                         absl::MutexLock lock(&mu);
                         ++(result.ok() ? ok : failed);
                       });
  }
  // Refused locally: the callback still runs, once.
  producer.SendAsync(Msg("TopicA", ""), [&](absl::StatusOr<SendResult> result) {
    absl::MutexLock lock(&mu);
    ++(result.ok() ? ok : failed);
  });
  producer.Shutdown();  // waits for outstanding async sends
  absl::MutexLock lock(&mu);
  EXPECT_EQ(ok, kCount);
  EXPECT_EQ(failed, 1);
  EXPECT_EQ(good.sends(), kCount);
}

TEST_F(ProducerTest, ShutdownFromAnAsyncCallbackStopsSendsAndALaterOneWaits) {
  FakeBroker good(proto::SUCCESS);
  namesrv_.RegisterBroker("broker-a", good.address(), {"TopicA"}, 4);
  DefaultProducer producer("PG", Options());
  ASSERT_TRUE(producer.Start().ok());
  absl::Mutex mu;
  int callbacks = 0;
  absl::Notification called;
  producer.SendAsync(
      Msg("TopicA", "first"), [&](absl::StatusOr<SendResult> result) {
        EXPECT_TRUE(result.ok()) << result.status();
        producer.Shutdown();  // must not wait for itself
        // Effective at once.
        auto after = producer.SendSync(Msg("TopicA", "after"));
        EXPECT_TRUE(
            absl::StrContains(after.status().message(), "is not started"))
            << after.status();
        absl::MutexLock lock(&mu);
        ++callbacks;
        called.Notify();
      });
  producer.SendAsync(Msg("TopicA", "second"), [&](absl::StatusOr<SendResult>) {
    absl::MutexLock lock(&mu);
    ++callbacks;
  });
  ASSERT_TRUE(called.WaitForNotificationWithTimeout(absl::Seconds(30)));
  // Waits for the callbacks the one in the callback could not wait for.
  producer.Shutdown();
  {
    absl::MutexLock lock(&mu);
    EXPECT_EQ(callbacks, 2);
  }
  EXPECT_FALSE(producer.SendSync(Msg("TopicA", "third")).ok());
  EXPECT_EQ(good.sends(), 2);
}

TEST_F(ProducerTest, ACallbackMaySendSynchronously) {
  FakeBroker good(proto::SUCCESS);
  namesrv_.RegisterBroker("broker-a", good.address(), {"TopicA"}, 4);
  DefaultProducer producer("PG", Options());
  ASSERT_TRUE(producer.Start().ok());
  absl::Notification done;
  absl::StatusOr<SendResult> nested;
  producer.SendAsync(Msg("TopicA", "outer"),
                     [&](absl::StatusOr<SendResult> result) {
                       EXPECT_TRUE(result.ok()) << result.status();
                       nested = producer.SendSync(Msg("TopicA", "nested"));
                       done.Notify();
                     });
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(30)));
  EXPECT_TRUE(nested.ok()) << nested.status();
  producer.Shutdown();
  EXPECT_EQ(good.sends(), 2);
}

TEST_F(ProducerTest, ABlockedCallbackDoesNotStallTheClientsOtherRequests) {
  FakeBroker good(proto::SUCCESS);
  namesrv_.RegisterBroker("broker-a", good.address(), {"TopicA"}, 4);
  DefaultProducer producer("PG", Options());
  ASSERT_TRUE(producer.Start().ok());
  absl::Notification entered, release;
  producer.SendAsync(Msg("TopicA", "blocks"), [&](absl::StatusOr<SendResult>) {
    entered.Notify();
    release.WaitForNotification();
  });
  ASSERT_TRUE(entered.WaitForNotificationWithTimeout(absl::Seconds(30)));
  // The answer is read while the callback is still blocked.
  auto other = producer.SendSync(Msg("TopicA", "other"), absl::Seconds(2));
  release.Notify();
  EXPECT_TRUE(other.ok()) << other.status();
  producer.Shutdown();
}

TEST_F(ProducerTest, ShutdownWaitsForTheCallbacksToHaveRun) {
  FakeBroker good(proto::SUCCESS);
  namesrv_.RegisterBroker("broker-a", good.address(), {"TopicA"}, 4);
  DefaultProducer producer("PG", Options());
  ASSERT_TRUE(producer.Start().ok());
  absl::Notification entered, release;
  std::atomic<bool> finished{false};
  absl::StatusOr<SendResult> nested;
  producer.SendAsync(Msg("TopicA", "blocks"), [&](absl::StatusOr<SendResult>) {
    nested = producer.SendSync(Msg("TopicA", "nested"));
    entered.Notify();
    release.WaitForNotification();
    finished = true;
  });
  ASSERT_TRUE(entered.WaitForNotificationWithTimeout(absl::Seconds(30)));
  std::atomic<bool> finished_when_shutdown_returned{false};
  std::thread closer([&] {
    producer.Shutdown();
    finished_when_shutdown_returned = finished.load();
  });
  // Shutdown has begun (sends are refused) while the callback still runs.
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (producer.SendSync(Msg("TopicA", "probe")).ok() &&
         absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  release.Notify();
  closer.join();
  EXPECT_TRUE(finished_when_shutdown_returned);
  EXPECT_TRUE(nested.ok()) << nested.status();
}

TEST_F(ProducerTest, OrderlySendsOfOneKeyShareAQueue) {
  FakeBroker good(proto::SUCCESS);
  namesrv_.RegisterBroker("broker-a", good.address(), {"TopicA"}, 8);
  DefaultProducer producer("PG", Options());
  ASSERT_TRUE(producer.Start().ok());
  auto first = producer.SendOrderly(Msg("TopicA", "1"), "order-42");
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->queue_id, ShardingIndex("order-42", 8));
  for (int i = 0; i < 5; ++i) {
    auto next = producer.SendOrderly(Msg("TopicA", "n"), "order-42");
    ASSERT_TRUE(next.ok());
    EXPECT_EQ(next->queue_id, first->queue_id);
  }
}

// A NameServer that accepts route requests and never answers them.
class SilentNameServer {
 public:
  SilentNameServer() {
    remoting::ServerOptions options;
    options.bind_address = "127.0.0.1";
    server_ = std::make_unique<remoting::RemotingServer>(options);
    for (int code :
         {proto::GET_ROUTEINFO_BY_TOPIC, proto::GET_BROKER_CLUSTER_INFO}) {
      server_->RegisterHandler(
          code, [this](remoting::Command, remoting::Responder responder) {
            absl::MutexLock lock(&mu_);
            parked_.push_back(std::move(responder));
          });
    }
    EXPECT_TRUE(server_->Start().ok());
  }
  ~SilentNameServer() { server_->Stop(); }

  std::string address() const {
    return absl::StrCat("127.0.0.1:", server_->port());
  }

 private:
  absl::Mutex mu_;
  std::vector<remoting::Responder> parked_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<remoting::RemotingServer> server_;
};

TEST(ProducerTimeoutTest, SendTimeoutAlsoBoundsTheRouteLookup) {
  SilentNameServer namesrv;
  ProducerOptions options;
  options.client.namesrv_addr = namesrv.address();
  options.client.request_timeout = absl::Seconds(5);
  DefaultProducer producer("PG", options);
  ASSERT_TRUE(producer.Start().ok());

  absl::Time start = absl::Now();
  auto result = producer.SendSync(Msg("TopicA", "hello"), absl::Seconds(1));
  EXPECT_FALSE(result.ok());
  EXPECT_LT(absl::Now() - start, absl::Seconds(3)) << result.status();

  absl::Notification done;
  absl::Duration callback_after;
  start = absl::Now();
  producer.SendAsync(
      Msg("TopicA", "hello"),
      [&](absl::StatusOr<SendResult> async_result) {
        EXPECT_FALSE(async_result.ok());
        callback_after = absl::Now() - start;
        done.Notify();
      },
      absl::Seconds(1));
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(30)));
  EXPECT_LT(callback_after, absl::Seconds(3));
  producer.Shutdown();
}

TEST_F(ProducerTest, BrokerWhoseMasterLeftIsSkippedBeforeTheRouteCatchesUp) {
  FakeBroker master_a(proto::SUCCESS);
  FakeBroker slave_a(proto::SUCCESS);
  FakeBroker master_b(proto::SUCCESS);
  namesrv_.RegisterBroker("broker-a", master_a.address(), {"TopicA", "TopicB"},
                          4);
  namesrv_.RegisterBroker("broker-a", slave_a.address(), {"TopicA", "TopicB"},
                          4, /*broker_id=*/1);
  namesrv_.RegisterBroker("broker-b", master_b.address(), {"TopicA"}, 4);
  DefaultProducer producer("PG", Options());
  ASSERT_TRUE(producer.Start().ok());
  ASSERT_TRUE(producer.SendSync(Msg("TopicA", "first")).ok());

  // broker-a's master goes away. Another topic's route shows it first; the
  // cached route of TopicA still lists broker-a's write queues.
  namesrv_.UnregisterBroker("broker-a", master_a.address(), 0);
  auto queues_b = producer.WriteQueues("TopicB");
  EXPECT_FALSE(queues_b.ok());  // no master: no writable queue

  for (int i = 0; i < 8; ++i) {
    auto result = producer.SendSync(Msg("TopicA", absl::StrCat("sync-", i)));
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_EQ(result->broker_name, "broker-b");
  }
  absl::Mutex mu;
  int ok = 0, failed = 0;
  for (int i = 0; i < 8; ++i) {
    producer.SendAsync(Msg("TopicA", absl::StrCat("async-", i)),
                       [&](absl::StatusOr<SendResult> result) {
                         absl::MutexLock lock(&mu);
                         ++(result.ok() ? ok : failed);
                       });
  }
  producer.Shutdown();  // waits for the async sends
  absl::MutexLock lock(&mu);
  EXPECT_EQ(ok, 8);
  EXPECT_EQ(failed, 0);
  EXPECT_EQ(slave_a.sends(), 0);
}

TEST(ProducerRouteTest, KeepsItsRouteWhileARestartedNameServerForgotTheTopic) {
  FakeBroker good(proto::SUCCESS);
  auto first = std::make_unique<testing::TestNameServer>();
  first->RegisterBroker("broker-a", good.address(), {"TopicA"}, 4);
  // The other NameServer was restarted: the broker has not registered with
  // it again yet (it does every registerBrokerIntervalMillis).
  testing::TestNameServer restarted;
  ProducerOptions options;
  options.client.namesrv_addr =
      absl::StrCat(first->address(), ";", restarted.address());
  options.client.route_refresh_interval = absl::Milliseconds(100);
  DefaultProducer producer("PG", options);
  ASSERT_TRUE(producer.Start().ok());
  ASSERT_TRUE(producer.SendSync(Msg("TopicA", "before")).ok());

  first.reset();  // the NameServer that knows the route goes down
  // Route refreshes now reach only the restarted NameServer, which answers
  // TOPIC_NOT_EXIST; the broker is still there and takes every send.
  const absl::Time end = absl::Now() + absl::Seconds(2);
  int sent = 0;
  while (absl::Now() < end) {
    auto result = producer.SendSync(Msg("TopicA", absl::StrCat("m-", sent)));
    ASSERT_TRUE(result.ok()) << "send " << sent << ": " << result.status();
    ++sent;
    absl::SleepFor(absl::Milliseconds(20));  // pacing, not synchronisation
  }
  EXPECT_EQ(good.sends(), sent + 1);
  producer.Shutdown();
}

}  // namespace
}  // namespace cometmq::client
