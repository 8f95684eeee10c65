#include "cpp/broker/broker_registrar.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "cpp/broker/broker_test_util.h"
#include "cpp/broker/topic_config_manager.h"
#include "cpp/remoting/remoting_client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cometmq::broker {
namespace {

using ::testing::Contains;
using ::testing::Not;

std::string TempPath(const std::string& name) {
  const char* base = std::getenv("TEST_TMPDIR");
  std::string dir = absl::StrCat(base != nullptr ? base : "/tmp",
                                 "/broker_registrar_test/", name);
  std::filesystem::remove_all(dir);
  return absl::StrCat(dir, "/topics.json");
}

std::string CurrentTestName() {
  return ::testing::UnitTest::GetInstance()->current_test_info()->name();
}

proto::TopicConfig Topic(const std::string& name) {
  proto::TopicConfig topic;
  topic.set_topic_name(name);
  topic.set_read_queue_nums(4);
  topic.set_write_queue_nums(4);
  topic.set_perm(6);
  return topic;
}

std::string TopicName(int i) { return absl::StrCat("T", i < 10 ? "0" : "", i); }

// A NameServer that takes connections (the kernel's backlog does) and
// never reads or answers: a paused process, in-process.
class SilentNameServer {
 public:
  SilentNameServer() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof(addr);
    if (bind(fd_, reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
        listen(fd_, 16) != 0 ||
        getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      ADD_FAILURE() << "cannot listen on loopback";
    }
    addr_ = absl::StrCat("127.0.0.1:", ntohs(addr.sin_port));
  }
  ~SilentNameServer() { close(fd_); }
  const std::string& addr() const { return addr_; }

 private:
  int fd_ = -1;
  std::string addr_;
};

std::vector<std::string> RoutedTopics(remoting::RemotingClient* client,
                                      const std::string& namesrv) {
  absl::StatusOr<remoting::Command> response = client->InvokeSync(
      namesrv, remoting::MakeRequest(proto::GET_ALL_TOPIC_LIST_FROM_NAMESERVER),
      absl::Seconds(3));
  if (!response.ok()) {
    ADD_FAILURE() << response.status();
    return {};
  }
  const auto& topics = response->header.topic_list_response().topics();
  return {topics.begin(), topics.end()};
}

TEST(SplitRegistrationTest, PartsOfSplitSizeInOrderMarkedWithTheRound) {
  proto::RegisterBrokerRequest base;
  base.set_broker_name("b");
  base.set_data_version(42);
  std::vector<proto::TopicConfig> topics;
  for (int i = 0; i < 12; ++i) topics.push_back(Topic(TopicName(i)));

  std::vector<proto::RegisterBrokerRequest> parts =
      SplitRegistration(base, topics, 5, 77);
  ASSERT_EQ(parts.size(), 3u);
  int next = 0;
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(parts[i].broker_name(), "b");
    EXPECT_EQ(parts[i].data_version(), 42);  // one snapshot, one version
    EXPECT_EQ(parts[i].round_id(), 77u);
    EXPECT_EQ(parts[i].part_index(), i);
    EXPECT_EQ(parts[i].part_count(), 3);
    EXPECT_EQ(parts[i].topic_configs_size(), i < 2 ? 5 : 2);
    for (const auto& topic : parts[i].topic_configs()) {
      EXPECT_EQ(topic.topic_name(), TopicName(next++));
    }
  }

  // A table that fits is one unmarked request, as before splitting existed.
  topics.resize(5);
  parts = SplitRegistration(base, topics, 5, 78);
  ASSERT_EQ(parts.size(), 1u);
  EXPECT_EQ(parts[0].topic_configs_size(), 5);
  EXPECT_EQ(parts[0].part_count(), 0);
  EXPECT_EQ(parts[0].round_id(), 0u);
  parts = SplitRegistration(base, {}, 5, 79);
  ASSERT_EQ(parts.size(), 1u);
  EXPECT_EQ(parts[0].topic_configs_size(), 0);
}

class BrokerRegistrarTest : public ::testing::Test {
 protected:
  void SetUp() override {
    namesrv_ = StartLoopbackNameServer();
    ASSERT_NE(namesrv_, nullptr);
    live_addr_ = absl::StrCat("127.0.0.1:", namesrv_->port());
    config_.brokerName = "broker-r";
    config_.splitRegistrationSize = 5;
    ASSERT_TRUE(topics_.Load().ok());
    for (int i = 0; i < 30; ++i) {
      ASSERT_TRUE(topics_.Update(Topic(TopicName(i))).ok());
    }
  }
  void TearDown() override {
    client_.Shutdown();
    namesrv_->Stop();
  }

  std::unique_ptr<namesrv::NameServer> namesrv_;
  std::string live_addr_;
  BrokerConfig config_;
  TopicConfigManager topics_{TempPath(CurrentTestName()), 4};
  remoting::RemotingClient client_;
};

TEST_F(BrokerRegistrarTest, SplitTableIsRoutedWholeAndADeletedTopicLeaves) {
  config_.namesrvAddr = live_addr_;
  BrokerRegistrar registrar(config_, "127.0.0.1:1", "127.0.0.1:2", &topics_);
  registrar.Start();
  std::vector<std::string> routed = RoutedTopics(&client_, live_addr_);
  for (int i = 0; i < 30; ++i) {
    EXPECT_THAT(routed, Contains(TopicName(i)));
  }

  // The next round (6 parts of 5 at most) lacks T07: gone once it is whole.
  ASSERT_TRUE(topics_.Delete("T07").ok());
  registrar.RegisterAll();
  routed = RoutedTopics(&client_, live_addr_);
  EXPECT_THAT(routed, Not(Contains("T07")));
  EXPECT_THAT(routed, Contains("T06"));
  EXPECT_THAT(routed, Contains("T29"));

  registrar.Stop();
  EXPECT_TRUE(RoutedTopics(&client_, live_addr_).empty());
}

TEST_F(BrokerRegistrarTest, SilentNameServerDelaysNoOther) {
  SilentNameServer silent;
  // The silent one first: asked one after another, the live one would be
  // asked only after the silent one's 3 s timeout.
  config_.namesrvAddr = absl::StrCat(silent.addr(), ";", live_addr_);
  BrokerRegistrar registrar(config_, "127.0.0.1:1", "127.0.0.1:2", &topics_);
  const absl::Time started = absl::Now();
  std::thread round([&] { registrar.RegisterAll(); });
  absl::Duration took = absl::InfiniteDuration();
  while (absl::Now() - started < absl::Seconds(10)) {
    if (RoutedTopics(&client_, live_addr_).size() >= 30) {
      took = absl::Now() - started;
      break;
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  round.join();
  const absl::Duration round_took = absl::Now() - started;
  // Registering takes milliseconds; the silent NameServer's timeout is 3 s.
  EXPECT_LT(took, absl::Milliseconds(1500));
  // The round itself waits for the silent one, once, not once per part.
  EXPECT_LT(round_took, absl::Seconds(5));
  registrar.Stop();
}

}  // namespace
}  // namespace cometmq::broker
