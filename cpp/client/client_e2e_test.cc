// End-to-end tests against a running CometMQ cluster (NameServer + at least
// one broker with autoCreateTopicEnable off or on). Run by hand:
//   COMETMQ_NAMESRV=127.0.0.1:9876 COMETMQ_CLUSTER=DefaultCluster
//     bazel test //cpp/client:client_e2e_test --test_env=COMETMQ_NAMESRV ...
// The target is tagged manual until the broker is merged and a fixture can
// start one in-process.
#include <atomic>
#include <cstdlib>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "cpp/client/admin.h"
#include "cpp/client/client_error.h"
#include "cpp/client/producer.h"
#include "cpp/client/push_consumer.h"
#include "gtest/gtest.h"

namespace cometmq::client {
namespace {

std::string Env(const char* name, const char* fallback) {
  const char* value = std::getenv(name);
  return value != nullptr ? value : fallback;
}

ClientConfig Config() {
  ClientConfig config;
  config.namesrv_addr = Env("COMETMQ_NAMESRV", "");
  return config;
}

Message Msg(const std::string& topic, const std::string& body) {
  Message message;
  message.topic = topic;
  message.body = body;
  return message;
}

std::string UniqueName(const std::string& prefix) {
  absl::BitGen gen;
  return absl::StrCat(prefix, "_", absl::Uniform<uint32_t>(gen));
}

// Bodies received per consumer, shared by listeners.
struct Received {
  absl::Mutex mu;
  std::map<std::string, int> counts ABSL_GUARDED_BY(mu);

  void Add(const std::string& body) {
    absl::MutexLock lock(&mu);
    ++counts[body];
  }
  bool WaitForDistinct(size_t n, absl::Duration limit) {
    absl::MutexLock lock(&mu);
    auto enough = [this, n]() ABSL_SHARED_LOCKS_REQUIRED(mu) {
      return counts.size() >= n;
    };
    return mu.AwaitWithTimeout(absl::Condition(&enough), limit);
  }
};

class ClientE2ETest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(Config().namesrv_addr.empty())
        << "set COMETMQ_NAMESRV to the NameServer of a running cluster";
    admin_ = std::make_unique<Admin>(Config());
    ASSERT_TRUE(admin_->Start().ok());
  }
  void TearDown() override {
    if (!topic_.empty()) {
      admin_->DeleteTopic(topic_, Env("COMETMQ_CLUSTER", "DefaultCluster"))
          .IgnoreError();
    }
    admin_->Shutdown();
  }

  void CreateTopic(int queues) {
    topic_ = UniqueName("E2E");
    ASSERT_TRUE(admin_
                    ->CreateTopic(topic_,
                                  Env("COMETMQ_CLUSTER", "DefaultCluster"),
                                  queues, queues)
                    .ok());
    // The broker re-registers at once; wait until the route shows the queues.
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (absl::Now() < deadline) {
      auto route = admin_->TopicRoute(topic_);
      if (route.ok() && !route->queue_datas().empty()) return;
      absl::SleepFor(absl::Milliseconds(100));  // polling the NameServer
    }
    FAIL() << "route of " << topic_ << " never appeared";
  }

  std::unique_ptr<DefaultPushConsumer> StartConsumer(const std::string& group,
                                                     Received* received) {
    ConsumerOptions options;
    options.client = Config();
    options.consume_from = ConsumeFrom::kFirstOffset;
    options.rebalance_interval = absl::Seconds(2);
    options.offset_commit_interval = absl::Seconds(1);
    auto consumer = std::make_unique<DefaultPushConsumer>(group, options);
    EXPECT_TRUE(consumer->Subscribe(topic_, "*").ok());
    consumer->RegisterListener([received](const MessageExt& message) {
      received->Add(message.body);
      return ConsumeResult::kSuccess;
    });
    absl::Status status = consumer->Start();
    EXPECT_TRUE(status.ok()) << status;
    return consumer;
  }

  std::unique_ptr<Admin> admin_;
  std::string topic_;
};

// Waits until `consumers` own disjoint queues covering all `queue_count`.
bool WaitForStableOwnership(
    const std::vector<std::unique_ptr<DefaultPushConsumer>>& consumers,
    size_t queue_count) {
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  while (absl::Now() < deadline) {
    std::multiset<MessageQueue> owned;
    for (const auto& consumer : consumers) {
      for (const MessageQueue& queue : consumer->OwnedQueues()) {
        owned.insert(queue);
      }
    }
    std::set<MessageQueue> distinct(owned.begin(), owned.end());
    if (owned.size() == queue_count && distinct.size() == queue_count) {
      return true;
    }
    absl::SleepFor(absl::Milliseconds(100));  // rebalance runs remotely
  }
  return false;
}

TEST_F(ClientE2ETest, UnknownTopicIsRefusedWithTheNameServersRemark) {
  ProducerOptions options;
  options.client = Config();
  DefaultProducer producer(UniqueName("PG"), options);
  ASSERT_TRUE(producer.Start().ok());
  auto result = producer.SendSync(Msg(UniqueName("NoSuchTopic"), "x"));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(BrokerStatusCode(result.status()), proto::TOPIC_NOT_EXIST)
      << result.status();
}

TEST_F(ClientE2ETest, AsyncSendsAllComplete) {
  CreateTopic(4);
  ProducerOptions options;
  options.client = Config();
  DefaultProducer producer(UniqueName("PG"), options);
  ASSERT_TRUE(producer.Start().ok());
  constexpr int kCount = 2000;
  absl::Mutex mu;
  int done = 0, ok = 0;
  for (int i = 0; i < kCount; ++i) {
    producer.SendAsync(Msg(topic_, absl::StrCat("async-", i)),
                       [&](absl::StatusOr<SendResult> result) {
                         absl::MutexLock lock(&mu);
                         ++done;
                         if (result.ok()) ++ok;
                       });
  }
  absl::MutexLock lock(&mu);
  auto all_done = [&]()
                      ABSL_SHARED_LOCKS_REQUIRED(mu) { return done == kCount; };
  ASSERT_TRUE(
      mu.AwaitWithTimeout(absl::Condition(&all_done), absl::Seconds(60)));
  EXPECT_EQ(ok, kCount);
}

TEST_F(ClientE2ETest, TenThousandMessagesConsumedExactlyOnceByThreeConsumers) {
  CreateTopic(8);
  const std::string group = UniqueName("CG");
  Received received;
  std::vector<std::unique_ptr<DefaultPushConsumer>> consumers;
  for (int i = 0; i < 3; ++i)
    consumers.push_back(StartConsumer(group, &received));
  ASSERT_TRUE(WaitForStableOwnership(consumers, 8));

  ProducerOptions options;
  options.client = Config();
  DefaultProducer producer(UniqueName("PG"), options);
  ASSERT_TRUE(producer.Start().ok());
  constexpr int kCount = 10000;
  for (int i = 0; i < kCount; ++i) {
    auto result = producer.SendSync(Msg(topic_, absl::StrCat("m-", i)));
    ASSERT_TRUE(result.ok()) << result.status();
  }
  ASSERT_TRUE(received.WaitForDistinct(kCount, absl::Seconds(120)));
  absl::SleepFor(absl::Seconds(2));  // let stray duplicates show up
  absl::MutexLock lock(&received.mu);
  EXPECT_EQ(received.counts.size(), static_cast<size_t>(kCount));
  for (const auto& [body, count] : received.counts) {
    ASSERT_EQ(count, 1) << body << " delivered " << count << " times";
  }
}

TEST_F(ClientE2ETest, ConsumersJoiningAndLeavingMidStreamLoseNothing) {
  CreateTopic(8);
  const std::string group = UniqueName("CG");
  Received received;
  std::vector<std::unique_ptr<DefaultPushConsumer>> consumers;
  for (int i = 0; i < 2; ++i)
    consumers.push_back(StartConsumer(group, &received));
  ASSERT_TRUE(WaitForStableOwnership(consumers, 8));

  ProducerOptions options;
  options.client = Config();
  DefaultProducer producer(UniqueName("PG"), options);
  ASSERT_TRUE(producer.Start().ok());
  constexpr int kCount = 6000;
  std::atomic<int> sent{0};
  std::thread sender([&] {
    for (int i = 0; i < kCount; ++i) {
      if (producer.SendSync(Msg(topic_, absl::StrCat("m-", i))).ok()) ++sent;
    }
  });
  while (sent < kCount / 3) absl::SleepFor(absl::Milliseconds(10));
  consumers.push_back(StartConsumer(group, &received));
  while (sent < 2 * kCount / 3) absl::SleepFor(absl::Milliseconds(10));
  consumers.front()->Shutdown();
  sender.join();
  ASSERT_EQ(sent, kCount);
  // At least once: every message arrives; duplicates around the moves are
  // allowed.
  EXPECT_TRUE(received.WaitForDistinct(kCount, absl::Seconds(120)));
}

}  // namespace
}  // namespace cometmq::client
