// The broker in-process with a NameServer, driven over the wire as
// PROTOCOL.md describes.
#include <atomic>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "cpp/broker/broker_config.h"
#include "cpp/broker/broker_controller.h"
#include "cpp/broker/broker_test_util.h"
#include "cpp/common/byte_order.h"
#include "cpp/common/message_record.h"
#include "cpp/namesrv/name_server.h"
#include "cpp/remoting/remoting_client.h"
#include "cpp/store/store_test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cometmq::broker {
namespace {

using remoting::Command;
using remoting::MakeRequest;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::SizeIs;

constexpr absl::Duration kTimeout = absl::Seconds(10);

template <typename F>
bool WaitFor(F condition, absl::Duration limit = absl::Seconds(10)) {
  const absl::Time deadline = absl::Now() + limit;
  while (!condition()) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(5));
  }
  return true;
}

struct Message {
  std::string topic;
  std::string body;
  std::string tags;
  int32_t queue_id = 0;
  int64_t queue_offset = 0;
  int64_t physical_offset = 0;
};

std::vector<Message> DecodeAll(const std::string& body) {
  std::vector<Message> out;
  for (const RecordView& view : DecodeRecords(body)) {
    Message m;
    m.topic = std::string(view.topic);
    m.body = std::string(view.body);
    m.tags =
        std::string(FindProperty(view.properties, kPropertyTags).value_or(""));
    m.queue_id = view.queue_id;
    m.queue_offset = view.queue_offset;
    m.physical_offset = view.physical_offset;
    out.push_back(std::move(m));
  }
  return out;
}

std::string Props(const std::string& tags, const std::string& keys = "") {
  std::map<std::string, std::string> props;
  if (!tags.empty()) props[std::string(kPropertyTags)] = tags;
  if (!keys.empty()) props[std::string(kPropertyKeys)] = keys;
  return EncodeProperties(props);
}

std::string BatchBody(const std::vector<std::string>& bodies) {
  std::string out;
  for (const std::string& body : bodies) {
    const std::string props = Props("B");
    const size_t total = 20 + body.size() + 2 + props.size();
    std::string entry(total, '\0');
    char* p = entry.data();
    p = PutBig32(p, static_cast<int32_t>(total));
    p = PutBig32(p, 0);
    p = PutBig32(p, 0);
    p = PutBig32(p, 0);
    p = PutBig32(p, static_cast<int32_t>(body.size()));
    std::memcpy(p, body.data(), body.size());
    p += body.size();
    p = PutBig16(p, static_cast<int16_t>(props.size()));
    std::memcpy(p, props.data(), props.size());
    out += entry;
  }
  return out;
}

class BrokerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    namesrv_ = StartLoopbackNameServer();
    ASSERT_NE(namesrv_, nullptr);
    config_ = LoopbackBrokerConfig(*namesrv_, "broker");
    namesrv_addr_ = absl::StrCat("127.0.0.1:", namesrv_->port());
  }

  void TearDown() override {
    if (broker_ != nullptr) broker_->Shutdown();
    client_.Shutdown();
    namesrv_->Stop();
  }

  void StartBroker() {
    broker_ = std::make_unique<BrokerController>(config_);
    ASSERT_TRUE(broker_->Start().ok());
    addr_ = broker_->broker_addr();
  }

  Command Call(Command request, const std::string& addr = "") {
    absl::StatusOr<Command> response = client_.InvokeSync(
        addr.empty() ? addr_ : addr, std::move(request), kTimeout);
    EXPECT_TRUE(response.ok()) << response.status();
    return response.ok() ? *std::move(response) : Command{};
  }

  Command SendRequest(const std::string& topic, const std::string& body,
                      const std::string& tags = "", int32_t queue_id = 0,
                      const std::string& keys = "") {
    Command request = MakeRequest(proto::SEND_MESSAGE);
    proto::SendMessageRequest* send = request.header.mutable_send_message();
    send->set_producer_group("PG");
    send->set_topic(topic);
    send->set_queue_id(queue_id);
    send->set_born_timestamp(absl::ToUnixMillis(absl::Now()));
    send->set_properties(Props(tags, keys));
    request.body = body;
    return request;
  }

  Command Send(const std::string& topic, const std::string& body,
               const std::string& tags = "", int32_t queue_id = 0,
               const std::string& keys = "") {
    return Call(SendRequest(topic, body, tags, queue_id, keys));
  }

  static Command PullRequest(const std::string& topic, int32_t queue,
                             int64_t offset, int64_t suspend_ms,
                             const std::string& subscription = "*",
                             int64_t commit_offset = -1,
                             const std::string& group = "CG") {
    Command request = MakeRequest(proto::PULL_MESSAGE);
    proto::PullMessageRequest* pull = request.header.mutable_pull_message();
    pull->set_consumer_group(group);
    pull->set_topic(topic);
    pull->set_queue_id(queue);
    pull->set_queue_offset(offset);
    pull->set_max_msg_nums(32);
    pull->set_suspend_timeout_millis(suspend_ms);
    pull->set_subscription(subscription);
    pull->set_commit_offset(commit_offset);
    return request;
  }

  Command CreateTopic(const std::string& topic, int queues) {
    Command request = MakeRequest(proto::UPDATE_AND_CREATE_TOPIC);
    proto::TopicConfig* t = request.header.mutable_topic_config();
    t->set_topic_name(topic);
    t->set_read_queue_nums(queues);
    t->set_write_queue_nums(queues);
    t->set_perm(6);
    return Call(std::move(request));
  }

  std::string RuntimeValue(const std::string& key) {
    Command info = Call(MakeRequest(proto::GET_BROKER_RUNTIME_INFO));
    const auto& table = info.header.broker_runtime_info_response().table();
    auto it = table.find(key);
    return it == table.end() ? "" : it->second;
  }

  Command Route(const std::string& topic) {
    Command request = MakeRequest(proto::GET_ROUTEINFO_BY_TOPIC);
    request.header.mutable_topic_route()->set_topic(topic);
    return Call(std::move(request), namesrv_addr_);
  }

  Command OffsetRequest(int32_t code, const std::string& group,
                        const std::string& topic, int32_t queue,
                        int64_t offset = 0) {
    Command request = MakeRequest(code);
    proto::ConsumerOffsetRequest* o = request.header.mutable_consumer_offset();
    o->set_consumer_group(group);
    o->set_topic(topic);
    o->set_queue_id(queue);
    o->set_commit_offset(offset);
    return request;
  }

  std::unique_ptr<namesrv::NameServer> namesrv_;
  std::string namesrv_addr_;
  BrokerConfig config_;
  std::unique_ptr<BrokerController> broker_;
  std::string addr_;
  remoting::RemotingClient client_;
};

TEST_F(BrokerTest, SendAndPullRoundTrip) {
  StartBroker();
  for (int i = 0; i < 3; ++i) {
    Command sent = Send("TopicA", absl::StrCat("hello-", i), "TagA", 1);
    ASSERT_EQ(sent.header.status(), proto::SUCCESS) << sent.header.remark();
    const proto::SendMessageResponse& r = sent.header.send_message_response();
    EXPECT_EQ(r.queue_id(), 1);
    EXPECT_EQ(r.queue_offset(), i);
    int64_t physical = -1;
    EXPECT_TRUE(ParseOffsetMessageId(r.msg_id(), &physical)) << r.msg_id();
  }
  // Dispatch is asynchronous: the long poll waits for it if needed.
  Command pulled = Call(PullRequest("TopicA", 1, 0, 5000));
  ASSERT_EQ(pulled.header.status(), proto::SUCCESS) << pulled.header.remark();
  std::vector<Message> messages = DecodeAll(pulled.body);
  if (messages.size() < 3) {
    Command rest = Call(PullRequest(
        "TopicA", 1, pulled.header.pull_message_response().next_begin_offset(),
        5000));
    for (Message& m : DecodeAll(rest.body)) messages.push_back(std::move(m));
  }
  ASSERT_THAT(messages, SizeIs(3));
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(messages[i].topic, "TopicA");
    EXPECT_EQ(messages[i].body, absl::StrCat("hello-", i));
    EXPECT_EQ(messages[i].tags, "TagA");
    EXPECT_EQ(messages[i].queue_id, 1);
    EXPECT_EQ(messages[i].queue_offset, i);
  }
  Command next = Call(PullRequest("TopicA", 1, 3, 0));
  EXPECT_EQ(next.header.status(), proto::PULL_NOT_FOUND);
  EXPECT_EQ(next.header.pull_message_response().next_begin_offset(), 3);
  EXPECT_EQ(next.header.pull_message_response().max_offset(), 3);

  // A queue id beyond the topic's queues is mapped by modulo (4 queues).
  Command wrapped = Send("TopicA", "wrapped", "", 5);
  ASSERT_EQ(wrapped.header.status(), proto::SUCCESS);
  EXPECT_EQ(wrapped.header.send_message_response().queue_id(), 1);
}

TEST_F(BrokerTest, AutoCreatedTopicIsRoutedByTheNameServer) {
  StartBroker();
  ASSERT_EQ(Send("Routed", "x").header.status(), proto::SUCCESS);
  Command route;
  ASSERT_TRUE(WaitFor([&] {
    route = Route("Routed");
    return route.header.status() == proto::SUCCESS;
  })) << route.header.remark();
  const proto::TopicRouteData& data = route.header.topic_route_response();
  ASSERT_THAT(data.queue_datas(), SizeIs(1));
  EXPECT_EQ(data.queue_datas(0).broker_name(), "broker-a");
  EXPECT_EQ(data.queue_datas(0).write_queue_nums(), 4);
  ASSERT_THAT(data.broker_datas(), SizeIs(1));
  EXPECT_EQ(data.broker_datas(0).broker_addrs().at(0), addr_);

  Command all = Call(MakeRequest(proto::GET_ALL_TOPIC_CONFIG));
  EXPECT_THAT(all.header.topic_list_response().topics(),
              testing::Contains("Routed"));
}

TEST_F(BrokerTest, BrokerPermissionChangesAtRunTimeAndIsPersisted) {
  const std::string conf = config_.store.storePathRootDir + "/broker.conf";
  {
    std::ofstream out(conf);
    out << "# test\nbrokerName=broker-a\n";
  }
  config_.configFilePath = conf;
  StartBroker();
  ASSERT_EQ(CreateTopic("Perm", 1).header.status(), proto::SUCCESS);
  ASSERT_EQ(Send("Perm", "x").header.status(), proto::SUCCESS);
  auto update = [&](const std::string& key, const std::string& value) {
    Command request = MakeRequest(proto::UPDATE_BROKER_CONFIG);
    request.header.mutable_update_broker_config()->set_key(key);
    request.header.mutable_update_broker_config()->set_value(value);
    return Call(std::move(request));
  };
  auto file = [&] {
    std::ifstream in(conf);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };

  Command answer = update("brokerPermission", "4");
  ASSERT_EQ(answer.header.status(), proto::SUCCESS) << answer.header.remark();
  // Registered before the answer: no wait for the route.
  EXPECT_EQ(Route("Perm").header.topic_route_response().queue_datas(0).perm(),
            4);
  EXPECT_EQ(Send("Perm", "y").header.status(), proto::NO_PERMISSION);
  EXPECT_EQ(Call(PullRequest("Perm", 0, 0, 0)).header.status(), proto::SUCCESS);
  EXPECT_EQ(file(), "# test\nbrokerName=broker-a\nbrokerPermission=4\n");
  EXPECT_EQ(Call(MakeRequest(proto::GET_BROKER_CONFIG))
                .header.broker_config_response()
                .table()
                .at("brokerPermission"),
            "4");

  for (const auto& [key, value] :
       std::vector<std::pair<std::string, std::string>>{
           {"brokerPermission", "x"},
           {"brokerPermission", "8"},
           {"listenPort", "1"},
           {"noSuchKey", "1"}}) {
    answer = update(key, value);
    EXPECT_EQ(answer.header.status(), proto::BAD_REQUEST) << key << value;
  }
  EXPECT_EQ(file(), "# test\nbrokerName=broker-a\nbrokerPermission=4\n");
  EXPECT_EQ(Send("Perm", "z").header.status(), proto::NO_PERMISSION);

  ASSERT_EQ(update("brokerPermission", "6").header.status(), proto::SUCCESS);
  EXPECT_EQ(Send("Perm", "w").header.status(), proto::SUCCESS);
  EXPECT_EQ(Route("Perm").header.topic_route_response().queue_datas(0).perm(),
            6);
  EXPECT_EQ(file(), "# test\nbrokerName=broker-a\nbrokerPermission=6\n");
}

TEST_F(BrokerTest, AutoCreateOffRefusesUnknownTopics) {
  config_.autoCreateTopicEnable = false;
  StartBroker();
  Command refused = Send("NoSuch", "x");
  EXPECT_EQ(refused.header.status(), proto::TOPIC_NOT_EXIST);
  EXPECT_EQ(refused.header.remark(),
            "topic[NoSuch] not exist, apply first please!");
  Command pull = Call(PullRequest("NoSuch", 0, 0, 0));
  EXPECT_EQ(pull.header.status(), proto::TOPIC_NOT_EXIST);
  EXPECT_TRUE(pull.header.has_pull_message_response());

  ASSERT_EQ(CreateTopic("NoSuch", 2).header.status(), proto::SUCCESS);
  EXPECT_EQ(Send("NoSuch", "x").header.status(), proto::SUCCESS);
  // The broker re-registered at once after the topic was created.
  EXPECT_TRUE(WaitFor(
      [&] { return Route("NoSuch").header.status() == proto::SUCCESS; }));

  Command del = MakeRequest(proto::DELETE_TOPIC_IN_BROKER);
  del.header.mutable_delete_topic()->set_topic("NoSuch");
  ASSERT_EQ(Call(std::move(del)).header.status(), proto::SUCCESS);
  EXPECT_EQ(Send("NoSuch", "x").header.status(), proto::TOPIC_NOT_EXIST);
}

TEST_F(BrokerTest, IllegalMessagesAreRefused) {
  StartBroker();
  Command empty = Send("TopicI", "");
  EXPECT_EQ(empty.header.status(), proto::MESSAGE_ILLEGAL);
  EXPECT_THAT(empty.header.remark(), testing::HasSubstr("empty"));
  Command big = Send(
      "TopicI",
      std::string(static_cast<size_t>(config_.store.maxMessageSize) + 1, 'x'));
  EXPECT_EQ(big.header.status(), proto::MESSAGE_ILLEGAL);
  EXPECT_THAT(big.header.remark(), testing::HasSubstr("maxMessageSize"));
  EXPECT_EQ(Send("bad topic", "x").header.status(), proto::MESSAGE_ILLEGAL);
  // A commit or rollback type is the broker's own (a rollback-typed message
  // would be stored without a consume queue slot).
  for (int32_t type : {kTransactionCommitType, kTransactionRollbackType}) {
    Command request = SendRequest("TopicI", "x", "", 0, "");
    request.header.mutable_send_message()->set_sys_flag(type);
    Command refused = Call(std::move(request));
    EXPECT_EQ(refused.header.status(), proto::MESSAGE_ILLEGAL);
    EXPECT_THAT(refused.header.remark(), testing::HasSubstr("END_TRANSACTION"));
  }
  EXPECT_EQ(Send("TopicI", "fine").header.status(), proto::SUCCESS);
}

TEST_F(BrokerTest, BatchSendStoresEveryMessage) {
  StartBroker();
  Command request = SendRequest("TopicB", "", "", 0);
  request.header.set_code(proto::SEND_BATCH_MESSAGE);
  request.header.mutable_send_message()->set_batch(true);
  request.body = BatchBody({"one", "two", "three"});
  Command sent = Call(std::move(request));
  ASSERT_EQ(sent.header.status(), proto::SUCCESS) << sent.header.remark();
  const proto::SendMessageResponse& r = sent.header.send_message_response();
  EXPECT_EQ(r.queue_offset(), 0);
  EXPECT_EQ(r.batch_count(), 3);
  EXPECT_THAT(std::vector<std::string>(absl::StrSplit(r.msg_id(), ',')),
              SizeIs(3));

  std::vector<Message> messages;
  ASSERT_TRUE(WaitFor([&] {
    messages = DecodeAll(Call(PullRequest("TopicB", 0, 0, 1000)).body);
    return messages.size() == 3;
  }));
  EXPECT_EQ(messages[0].body, "one");
  EXPECT_EQ(messages[2].body, "three");
  EXPECT_EQ(messages[2].tags, "B");

  Command broken = SendRequest("TopicB", "", "", 0);
  broken.header.mutable_send_message()->set_batch(true);
  broken.body = BatchBody({"one"}).substr(0, 10);
  EXPECT_EQ(Call(std::move(broken)).header.status(), proto::MESSAGE_ILLEGAL);
}

TEST_F(BrokerTest, LongPollIsAnsweredByALaterSend) {
  StartBroker();
  ASSERT_EQ(CreateTopic("TopicL", 1).header.status(), proto::SUCCESS);
  absl::Notification done;
  absl::StatusOr<Command> result;
  absl::Time answered;
  client_.InvokeAsync(addr_, PullRequest("TopicL", 0, 0, 20000), kTimeout * 3,
                      [&](absl::StatusOr<Command> r) {
                        result = std::move(r);
                        answered = absl::Now();
                        done.Notify();
                      });
  ASSERT_TRUE(WaitFor([&] { return RuntimeValue("heldPullRequests") == "1"; }));
  EXPECT_FALSE(done.HasBeenNotified());
  const absl::Time sent_at = absl::Now();
  ASSERT_EQ(Send("TopicL", "wake up").header.status(), proto::SUCCESS);
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(15)));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->header.status(), proto::SUCCESS);
  EXPECT_GE(answered, sent_at);
  // Far from the 20 s suspension: the arrival answered it, not the timer.
  EXPECT_LT(answered - sent_at, absl::Seconds(10));
  std::vector<Message> messages = DecodeAll(result->body);
  ASSERT_THAT(messages, SizeIs(1));
  EXPECT_EQ(messages[0].body, "wake up");
}

// A consumer that commits (or shuts down) while its pull is held must not
// see its offset moved back when the held pull is answered.
TEST_F(BrokerTest, ResumedPullDoesNotReapplyItsOlderCommit) {
  StartBroker();
  ASSERT_EQ(CreateTopic("TopicC", 1).header.status(), proto::SUCCESS);
  // An empty queue: the pull is held, carrying an older commit (0).
  absl::Notification done;
  client_.InvokeAsync(addr_,
                      PullRequest("TopicC", 0, 0, 20000, "*",
                                  /*commit_offset=*/0),
                      kTimeout * 3,
                      [&](absl::StatusOr<Command>) { done.Notify(); });
  ASSERT_TRUE(WaitFor([&] { return RuntimeValue("heldPullRequests") == "1"; }));
  ASSERT_EQ(
      Call(OffsetRequest(proto::UPDATE_CONSUMER_OFFSET, "CG", "TopicC", 0, 5))
          .header.status(),
      proto::SUCCESS);
  ASSERT_EQ(Send("TopicC", "wake").header.status(), proto::SUCCESS);
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(15)));
  Command q =
      Call(OffsetRequest(proto::QUERY_CONSUMER_OFFSET, "CG", "TopicC", 0));
  EXPECT_EQ(q.header.consumer_offset_response().offset(), 5);
}

// As RocketMQ: a held pull is answered when a message its tags match
// arrives, not by every arrival on the queue (each would cost the consumer
// an empty answer and a new pull).
TEST_F(BrokerTest, HeldTagPullWaitsForAMatchingArrival) {
  StartBroker();
  ASSERT_EQ(CreateTopic("TopicH", 1).header.status(), proto::SUCCESS);
  absl::Notification done;
  absl::StatusOr<Command> result;
  client_.InvokeAsync(addr_, PullRequest("TopicH", 0, 0, 20000, "TagA || TagC"),
                      kTimeout * 3, [&](absl::StatusOr<Command> r) {
                        result = std::move(r);
                        done.Notify();
                      });
  ASSERT_TRUE(WaitFor([&] { return RuntimeValue("heldPullRequests") == "1"; }));
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(Send("TopicH", absl::StrCat("b", i), "TagB").header.status(),
              proto::SUCCESS);
  }
  // Still held: no answer within a second (an arrival answers in ms).
  EXPECT_FALSE(done.WaitForNotificationWithTimeout(absl::Seconds(1)));
  EXPECT_EQ(RuntimeValue("heldPullRequests"), "1");
  ASSERT_EQ(Send("TopicH", "c", "TagC").header.status(), proto::SUCCESS);
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(result->header.status(), proto::SUCCESS);
  std::vector<Message> messages = DecodeAll(result->body);
  ASSERT_THAT(messages, SizeIs(1));
  EXPECT_EQ(messages[0].body, "c");
  EXPECT_EQ(result->header.pull_message_response().next_begin_offset(), 4);

  // With no match before the suspension ends, the answer says where to go
  // on from: past what was scanned.
  absl::Notification timed_out;
  absl::StatusOr<Command> late;
  const absl::Time start = absl::Now();
  client_.InvokeAsync(addr_, PullRequest("TopicH", 0, 4, 1000, "TagA"),
                      kTimeout * 3, [&](absl::StatusOr<Command> r) {
                        late = std::move(r);
                        timed_out.Notify();
                      });
  ASSERT_TRUE(WaitFor([&] { return RuntimeValue("heldPullRequests") == "1"; }));
  ASSERT_EQ(Send("TopicH", "b3", "TagB").header.status(), proto::SUCCESS);
  ASSERT_TRUE(timed_out.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(1000));
  ASSERT_TRUE(late.ok()) << late.status();
  EXPECT_EQ(late->header.status(), proto::PULL_RETRY_IMMEDIATELY);
  EXPECT_EQ(late->header.pull_message_response().next_begin_offset(), 5);
}

TEST_F(BrokerTest, LongPollTimesOutWithPullNotFound) {
  StartBroker();
  ASSERT_EQ(CreateTopic("TopicT", 1).header.status(), proto::SUCCESS);
  const absl::Time start = absl::Now();
  Command pulled = Call(PullRequest("TopicT", 0, 0, 300));
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(300));
  EXPECT_EQ(pulled.header.status(), proto::PULL_NOT_FOUND);
  EXPECT_EQ(pulled.header.pull_message_response().next_begin_offset(), 0);
}

TEST_F(BrokerTest, ShutdownAnswersHeldPulls) {
  StartBroker();
  ASSERT_EQ(CreateTopic("TopicS", 1).header.status(), proto::SUCCESS);
  absl::Notification done;
  absl::StatusOr<Command> result;
  client_.InvokeAsync(addr_, PullRequest("TopicS", 0, 0, 60000), kTimeout * 3,
                      [&](absl::StatusOr<Command> r) {
                        result = std::move(r);
                        done.Notify();
                      });
  ASSERT_TRUE(WaitFor([&] { return RuntimeValue("heldPullRequests") == "1"; }));
  broker_->Shutdown();
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->header.status(), proto::PULL_NOT_FOUND);
}

// A new consumer group at LAST_OFFSET asks for each queue's max offset
// right after sends to a new topic: the answer must count every
// acknowledged send although they reach their consume queues later (each
// new queue's files are created first), or the group replays them.
TEST_F(BrokerTest, MaxOffsetCountsAcknowledgedSendsToANewTopic) {
  StartBroker();
  constexpr int kQueues = 16;
  constexpr int kPerQueue = 4;
  ASSERT_EQ(CreateTopic("Fresh", kQueues).header.status(), proto::SUCCESS);
  for (int i = 0; i < kQueues * kPerQueue; ++i) {
    Command sent = Send("Fresh", absl::StrCat("m", i), "", i % kQueues);
    ASSERT_EQ(sent.header.status(), proto::SUCCESS) << sent.header.remark();
  }
  std::vector<int64_t> max_offsets;
  for (int q = 0; q < kQueues; ++q) {
    Command max = MakeRequest(proto::GET_MAX_OFFSET);
    max.header.mutable_queue_offset()->set_topic("Fresh");
    max.header.mutable_queue_offset()->set_queue_id(q);
    Command answer = Call(std::move(max));
    ASSERT_EQ(answer.header.status(), proto::SUCCESS);
    max_offsets.push_back(answer.header.queue_offset_response().offset());
  }
  EXPECT_EQ(max_offsets, std::vector<int64_t>(kQueues, kPerQueue));

  // The same for the queue offset of a time (here: after every message).
  ASSERT_EQ(Send("Fresh2", "late", "", 0).header.status(), proto::SUCCESS);
  Command by_time = MakeRequest(proto::SEARCH_OFFSET_BY_TIMESTAMP);
  by_time.header.mutable_queue_offset()->set_topic("Fresh2");
  by_time.header.mutable_queue_offset()->set_timestamp(
      absl::ToUnixMillis(absl::Now() + absl::Hours(1)));
  EXPECT_EQ(Call(std::move(by_time)).header.queue_offset_response().offset(),
            1);
}

TEST_F(BrokerTest, TagFiltering) {
  StartBroker();
  ASSERT_EQ(Send("TopicF", "a", "TagA").header.status(), proto::SUCCESS);
  ASSERT_EQ(Send("TopicF", "b", "TagB").header.status(), proto::SUCCESS);
  ASSERT_EQ(Send("TopicF", "c", "TagC").header.status(), proto::SUCCESS);
  ASSERT_TRUE(WaitFor([&] {
    Command stats = MakeRequest(proto::GET_MAX_OFFSET);
    stats.header.mutable_queue_offset()->set_topic("TopicF");
    return Call(std::move(stats)).header.queue_offset_response().offset() == 3;
  }));
  Command pulled = Call(PullRequest("TopicF", 0, 0, 0, "TagA || TagC"));
  ASSERT_EQ(pulled.header.status(), proto::SUCCESS);
  std::vector<Message> messages = DecodeAll(pulled.body);
  ASSERT_THAT(messages, SizeIs(2));
  EXPECT_EQ(messages[0].tags, "TagA");
  EXPECT_EQ(messages[1].tags, "TagC");
  EXPECT_EQ(pulled.header.pull_message_response().next_begin_offset(), 3);

  Command none = Call(PullRequest("TopicF", 0, 0, 0, "TagZ"));
  EXPECT_EQ(none.header.status(), proto::PULL_RETRY_IMMEDIATELY);
  EXPECT_EQ(none.header.pull_message_response().next_begin_offset(), 3);
}

TEST_F(BrokerTest, ConsumerOffsetsCommitAndQuery) {
  StartBroker();
  ASSERT_EQ(Send("TopicO", "x").header.status(), proto::SUCCESS);
  EXPECT_EQ(Call(OffsetRequest(proto::QUERY_CONSUMER_OFFSET, "CG", "TopicO", 0))
                .header.status(),
            proto::QUERY_NOT_FOUND);
  EXPECT_EQ(
      Call(OffsetRequest(proto::UPDATE_CONSUMER_OFFSET, "CG", "TopicO", 0, 7))
          .header.status(),
      proto::SUCCESS);
  Command q =
      Call(OffsetRequest(proto::QUERY_CONSUMER_OFFSET, "CG", "TopicO", 0));
  ASSERT_EQ(q.header.status(), proto::SUCCESS);
  EXPECT_EQ(q.header.consumer_offset_response().offset(), 7);
  // A pull carries the consumer's commit too.
  Call(PullRequest("TopicO", 0, 0, 0, "*", /*commit_offset=*/1));
  q = Call(OffsetRequest(proto::QUERY_CONSUMER_OFFSET, "CG", "TopicO", 0));
  EXPECT_EQ(q.header.consumer_offset_response().offset(), 1);

  // The broker offset follows the dispatcher, which runs behind the send.
  Command answer;
  ASSERT_TRUE(WaitFor([&] {
    Command stats = MakeRequest(proto::GET_CONSUME_STATS);
    stats.header.mutable_consume_stats()->set_consumer_group("CG");
    answer = Call(std::move(stats));
    return answer.header.consume_stats_response().queues_size() > 0 &&
           answer.header.consume_stats_response().queues(0).broker_offset() ==
               1;
  }));
  ASSERT_EQ(answer.header.status(), proto::SUCCESS);
  const proto::ConsumeStats& cs = answer.header.consume_stats_response();
  ASSERT_THAT(cs.queues(), SizeIs(4));
  EXPECT_EQ(cs.queues(0).topic(), "TopicO");
  EXPECT_EQ(cs.queues(0).consumer_offset(), 1);
}

Command LockRequest(int32_t code, const std::string& client,
                    std::vector<int32_t> queue_ids) {
  Command request = MakeRequest(code);
  proto::LockBatchRequest* lock = request.header.mutable_lock_batch();
  lock->set_consumer_group("OG");
  lock->set_client_id(client);
  for (int32_t id : queue_ids) {
    proto::MessageQueue* q = lock->add_queues();
    q->set_topic("TopicL");
    q->set_broker_name("broker-a");
    q->set_queue_id(id);
  }
  return request;
}

std::vector<int32_t> LockedIds(const Command& response) {
  std::vector<int32_t> ids;
  for (const auto& q : response.header.lock_batch_response().locked()) {
    ids.push_back(q.queue_id());
  }
  return ids;
}

TEST_F(BrokerTest, QueueLocksOverTheWire) {
  config_.rebalanceLockMaxLiveTime = 300;
  StartBroker();
  Command first = Call(LockRequest(proto::LOCK_BATCH_MQ, "c1", {0, 1}));
  ASSERT_EQ(first.header.status(), proto::SUCCESS);
  EXPECT_THAT(LockedIds(first), ElementsAre(0, 1));
  // Another client gets only the free queue.
  EXPECT_THAT(LockedIds(Call(LockRequest(proto::LOCK_BATCH_MQ, "c2", {1, 2}))),
              ElementsAre(2));
  // Released by its holder, a queue is free at once; others cannot release.
  EXPECT_EQ(
      Call(LockRequest(proto::UNLOCK_BATCH_MQ, "c2", {0})).header.status(),
      proto::SUCCESS);
  EXPECT_EQ(
      Call(LockRequest(proto::UNLOCK_BATCH_MQ, "c1", {1})).header.status(),
      proto::SUCCESS);
  EXPECT_THAT(LockedIds(Call(LockRequest(proto::LOCK_BATCH_MQ, "c2", {0, 1}))),
              ElementsAre(1));
  // Not renewed within rebalanceLockMaxLiveTime, c1's lock of 0 expires.
  EXPECT_TRUE(WaitFor([&] {
    return LockedIds(Call(LockRequest(proto::LOCK_BATCH_MQ, "c2", {0}))) ==
           std::vector<int32_t>{0};
  }));
  Command bad = LockRequest(proto::LOCK_BATCH_MQ, "", {0});
  EXPECT_EQ(Call(std::move(bad)).header.status(), proto::BAD_REQUEST);
}

TEST_F(BrokerTest, ConsumerListAndMembershipNotifications) {
  StartBroker();
  struct Member {
    std::unique_ptr<remoting::RemotingClient> client;
    std::atomic<int> notified{0};
  };
  Member a, b;
  for (Member* m : {&a, &b}) {
    m->client = std::make_unique<remoting::RemotingClient>();
    m->client->RegisterHandler(
        proto::NOTIFY_CONSUMER_IDS_CHANGED,
        [m](const std::string&, Command request) {
          if (request.header.notify_consumer_ids_changed().consumer_group() ==
              "GroupN") {
            m->notified.fetch_add(1);
          }
        });
  }
  auto heartbeat = [&](Member& m, const std::string& id) {
    Command request = MakeRequest(proto::HEART_BEAT);
    proto::HeartbeatData* hb = request.header.mutable_heartbeat();
    hb->set_client_id(id);
    proto::ConsumerData* c = hb->add_consumers();
    c->set_group("GroupN");
    proto::SubscriptionData* sub = c->add_subscriptions();
    sub->set_topic("TopicN");
    sub->set_expression("*");
    absl::StatusOr<Command> r =
        m.client->InvokeSync(addr_, std::move(request), kTimeout);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->header.status(), proto::SUCCESS);
  };
  auto list = [&] {
    Command request = MakeRequest(proto::GET_CONSUMER_LIST_BY_GROUP);
    request.header.mutable_consumer_list()->set_consumer_group("GroupN");
    Command r = Call(std::move(request));
    std::vector<std::string> ids(
        r.header.consumer_list_response().client_ids().begin(),
        r.header.consumer_list_response().client_ids().end());
    return ids;
  };
  heartbeat(b, "client-b");
  ASSERT_TRUE(WaitFor([&] { return b.notified.load() == 1; }));
  heartbeat(a, "client-a");
  EXPECT_THAT(list(), ElementsAre("client-a", "client-b"));
  ASSERT_TRUE(WaitFor([&] { return b.notified.load() == 2; }));
  ASSERT_TRUE(WaitFor([&] { return a.notified.load() == 1; }));

  Command unregister = MakeRequest(proto::UNREGISTER_CLIENT);
  unregister.header.mutable_unregister_client()->set_client_id("client-b");
  unregister.header.mutable_unregister_client()->set_consumer_group("GroupN");
  ASSERT_TRUE(
      b.client->InvokeSync(addr_, std::move(unregister), kTimeout).ok());
  EXPECT_THAT(list(), ElementsAre("client-a"));
  ASSERT_TRUE(WaitFor([&] { return a.notified.load() == 2; }));

  // Closing a member's connection removes it as well.
  heartbeat(b, "client-b");
  ASSERT_TRUE(WaitFor([&] { return a.notified.load() == 3; }));
  b.client->Shutdown();
  ASSERT_TRUE(WaitFor([&] { return list().size() == 1; }));
  EXPECT_THAT(list(), ElementsAre("client-a"));
  ASSERT_TRUE(WaitFor([&] { return a.notified.load() == 4; }));
  a.client->Shutdown();
}

TEST_F(BrokerTest, SubscriptionGroupUpdateDisablesConsuming) {
  StartBroker();
  ASSERT_EQ(Send("GroupTopic", "m").header.status(), proto::SUCCESS);
  auto update = [&](const std::string& group, bool consume_enable,
                    int32_t retry_max_times) {
    Command request = MakeRequest(proto::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP);
    proto::SubscriptionGroupConfig* g =
        request.header.mutable_subscription_group();
    g->set_group_name(group);
    g->set_consume_enable(consume_enable);
    g->set_retry_max_times(retry_max_times);
    g->set_retry_queue_nums(1);
    return Call(std::move(request));
  };
  Command updated = update("Disabled", false, 3);
  ASSERT_EQ(updated.header.status(), proto::SUCCESS) << updated.header.remark();
  Command pulled =
      Call(PullRequest("GroupTopic", 0, 0, 0, "*", -1, "Disabled"));
  EXPECT_EQ(pulled.header.status(), proto::NO_PERMISSION);

  ASSERT_EQ(update("Disabled", true, 3).header.status(), proto::SUCCESS);
  pulled = Call(PullRequest("GroupTopic", 0, 0, 5000, "*", -1, "Disabled"));
  EXPECT_EQ(pulled.header.status(), proto::SUCCESS) << pulled.header.remark();

  EXPECT_EQ(update("", true, 3).header.status(), proto::BAD_REQUEST);
  EXPECT_EQ(update("Negative", true, -1).header.status(), proto::BAD_REQUEST);
  Command missing =
      Call(MakeRequest(proto::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP));
  EXPECT_NE(missing.header.status(), proto::SUCCESS);
}

// mqadmin consumerConnection/producerConnection's requests: who
// heartbeated, from where, with what declarations.
TEST_F(BrokerTest, ConnectionListsShowHeartbeatingClients) {
  StartBroker();
  Command request = MakeRequest(proto::HEART_BEAT);
  proto::HeartbeatData* hb = request.header.mutable_heartbeat();
  hb->set_client_id("client-1");
  hb->set_language("CPP");
  hb->set_version("0.1.0");
  hb->add_producers()->set_group("ProducerG");
  proto::ConsumerData* c = hb->add_consumers();
  c->set_group("ConsumerG");
  c->set_consume_type("CONSUME_ACTIVELY");
  c->set_message_model("BROADCASTING");
  c->set_consume_from_where("CONSUME_FROM_FIRST_OFFSET");
  proto::SubscriptionData* sub = c->add_subscriptions();
  sub->set_topic("TopicC");
  sub->set_expression("TagA");
  // A client of its own, whose connection the test closes at the end.
  remoting::RemotingClient member;
  absl::StatusOr<Command> beat =
      member.InvokeSync(addr_, std::move(request), kTimeout);
  ASSERT_TRUE(beat.ok()) << beat.status();
  ASSERT_EQ(beat->header.status(), proto::SUCCESS);

  auto list = [&](int32_t code, const std::string& group) {
    Command r = MakeRequest(code);
    r.header.mutable_connection_list()->set_group(group);
    return Call(std::move(r));
  };
  Command consumers = list(proto::GET_CONSUMER_CONNECTION_LIST, "ConsumerG");
  ASSERT_EQ(consumers.header.status(), proto::SUCCESS)
      << consumers.header.remark();
  const proto::ConsumerConnection& cc =
      consumers.header.consumer_connection_response();
  ASSERT_EQ(cc.connections_size(), 1);
  EXPECT_EQ(cc.connections(0).client_id(), "client-1");
  EXPECT_THAT(cc.connections(0).client_addr(),
              testing::StartsWith("127.0.0.1:"));
  EXPECT_EQ(cc.connections(0).language(), "CPP");
  EXPECT_EQ(cc.connections(0).version(), "0.1.0");
  EXPECT_EQ(cc.consume_type(), "CONSUME_ACTIVELY");
  EXPECT_EQ(cc.message_model(), "BROADCASTING");
  EXPECT_EQ(cc.consume_from_where(), "CONSUME_FROM_FIRST_OFFSET");
  ASSERT_EQ(cc.subscriptions_size(), 1);
  EXPECT_EQ(cc.subscriptions(0).topic(), "TopicC");
  EXPECT_EQ(cc.subscriptions(0).expression(), "TagA");

  Command producers = list(proto::GET_PRODUCER_CONNECTION_LIST, "ProducerG");
  ASSERT_EQ(producers.header.status(), proto::SUCCESS);
  ASSERT_EQ(producers.header.producer_connection_response().connections_size(),
            1);
  EXPECT_EQ(producers.header.producer_connection_response()
                .connections(0)
                .client_id(),
            "client-1");

  Command none = list(proto::GET_CONSUMER_CONNECTION_LIST, "NobodyG");
  EXPECT_EQ(none.header.status(), proto::CONSUMER_NOT_ONLINE);
  EXPECT_EQ(none.header.remark(), "the consumer group[NobodyG] not online");
  Command no_producer = list(proto::GET_PRODUCER_CONNECTION_LIST, "NobodyG");
  EXPECT_EQ(no_producer.header.status(), proto::SUCCESS);
  EXPECT_EQ(
      no_producer.header.producer_connection_response().connections_size(), 0);
  EXPECT_EQ(
      Call(MakeRequest(proto::GET_CONSUMER_CONNECTION_LIST)).header.status(),
      proto::BAD_REQUEST);

  // The client's connection closes: it is no longer online.
  member.Shutdown();
  ASSERT_TRUE(WaitFor([&] {
    return list(proto::GET_CONSUMER_CONNECTION_LIST, "ConsumerG")
               .header.status() == proto::CONSUMER_NOT_ONLINE;
  }));
}

// deleteSubGroup's request: the group's settings go, with clean_offset its
// offsets too, both on disk before the answer; an unknown group is not an
// error (as in RocketMQ).
TEST_F(BrokerTest, DeleteSubscriptionGroupPersistsAndCleansOffsets) {
  StartBroker();
  Command update = MakeRequest(proto::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP);
  update.header.mutable_subscription_group()->set_group_name("Doomed");
  update.header.mutable_subscription_group()->set_retry_queue_nums(1);
  ASSERT_EQ(Call(std::move(update)).header.status(), proto::SUCCESS);
  ASSERT_EQ(Call(OffsetRequest(proto::UPDATE_CONSUMER_OFFSET, "Doomed",
                               "TopicD", 0, 3))
                .header.status(),
            proto::SUCCESS);
  ASSERT_EQ(
      Call(OffsetRequest(proto::UPDATE_CONSUMER_OFFSET, "Kept", "TopicD", 0, 5))
          .header.status(),
      proto::SUCCESS);
  auto remove = [&](const std::string& group, bool clean_offset) {
    Command request = MakeRequest(proto::DELETE_SUBSCRIPTIONGROUP);
    request.header.mutable_delete_subscription_group()->set_group_name(group);
    request.header.mutable_delete_subscription_group()->set_clean_offset(
        clean_offset);
    return Call(std::move(request));
  };
  Command deleted = remove("Doomed", true);
  ASSERT_EQ(deleted.header.status(), proto::SUCCESS) << deleted.header.remark();
  EXPECT_TRUE(deleted.header.delete_subscription_group_response().existed());
  EXPECT_EQ(
      deleted.header.delete_subscription_group_response().offsets_removed(), 1);
  Command again = remove("Doomed", false);
  EXPECT_EQ(again.header.status(), proto::SUCCESS);
  EXPECT_FALSE(again.header.delete_subscription_group_response().existed());
  EXPECT_EQ(remove("bad group", false).header.status(), proto::BAD_REQUEST);
  EXPECT_EQ(Call(MakeRequest(proto::DELETE_SUBSCRIPTIONGROUP)).header.status(),
            proto::BAD_REQUEST);

  // On disk already (the periodic persist has not run), then after a
  // restart.
  auto file = [](const std::string& path) {
    std::ifstream in(path);
    return std::string((std::istreambuf_iterator<char>(in)), {});
  };
  EXPECT_THAT(file(config_.SubscriptionGroupsPath()),
              Not(HasSubstr("Doomed=")));
  const std::string offsets = file(config_.ConsumerOffsetsPath());
  EXPECT_THAT(offsets, Not(HasSubstr("Doomed@")));
  EXPECT_THAT(offsets, HasSubstr("Kept@TopicD"));
  broker_->Shutdown();
  client_.CloseConnection(addr_);
  broker_.reset();
  StartBroker();
  Command all = Call(MakeRequest(proto::GET_ALL_SUBSCRIPTIONGROUP_CONFIG));
  EXPECT_THAT(all.body, Not(HasSubstr("Doomed=")));
  EXPECT_EQ(
      Call(OffsetRequest(proto::QUERY_CONSUMER_OFFSET, "Doomed", "TopicD", 0))
          .header.status(),
      proto::QUERY_NOT_FOUND);
  Command kept =
      Call(OffsetRequest(proto::QUERY_CONSUMER_OFFSET, "Kept", "TopicD", 0));
  EXPECT_EQ(kept.header.consumer_offset_response().offset(), 5);
}

TEST_F(BrokerTest, AdminQueries) {
  StartBroker();
  const int64_t before = absl::ToUnixMillis(absl::Now());
  Command sent = Send("TopicQ", "find me", "T", 0, "order-42");
  ASSERT_EQ(sent.header.status(), proto::SUCCESS);
  int64_t physical = -1;
  ASSERT_TRUE(ParseOffsetMessageId(sent.header.send_message_response().msg_id(),
                                   &physical));
  ASSERT_TRUE(WaitFor([&] {
    Command max = MakeRequest(proto::GET_MAX_OFFSET);
    max.header.mutable_queue_offset()->set_topic("TopicQ");
    return Call(std::move(max)).header.queue_offset_response().offset() == 1;
  }));
  Command min = MakeRequest(proto::GET_MIN_OFFSET);
  min.header.mutable_queue_offset()->set_topic("TopicQ");
  EXPECT_EQ(Call(std::move(min)).header.queue_offset_response().offset(), 0);
  Command by_time = MakeRequest(proto::SEARCH_OFFSET_BY_TIMESTAMP);
  by_time.header.mutable_queue_offset()->set_topic("TopicQ");
  by_time.header.mutable_queue_offset()->set_timestamp(before);
  EXPECT_EQ(Call(std::move(by_time)).header.queue_offset_response().offset(),
            0);

  Command view = MakeRequest(proto::VIEW_MESSAGE_BY_ID);
  view.header.mutable_view_message()->set_commit_log_offset(physical);
  Command viewed = Call(std::move(view));
  ASSERT_EQ(viewed.header.status(), proto::SUCCESS);
  ASSERT_THAT(DecodeAll(viewed.body), SizeIs(1));
  EXPECT_EQ(DecodeAll(viewed.body)[0].body, "find me");
  Command missing = MakeRequest(proto::VIEW_MESSAGE_BY_ID);
  missing.header.mutable_view_message()->set_commit_log_offset(1 << 30);
  EXPECT_EQ(Call(std::move(missing)).header.status(), proto::QUERY_NOT_FOUND);

  Command query = MakeRequest(proto::QUERY_MESSAGE);
  query.header.mutable_query_message()->set_topic("TopicQ");
  query.header.mutable_query_message()->set_key("order-42");
  Command found;
  ASSERT_TRUE(WaitFor([&] {
    found = Call(query);
    return found.header.status() == proto::SUCCESS;
  }));
  ASSERT_THAT(DecodeAll(found.body), SizeIs(1));

  Command stats = MakeRequest(proto::GET_TOPIC_STATS_INFO);
  stats.header.mutable_topic_stats()->set_topic("TopicQ");
  Command topic_stats = Call(std::move(stats));
  ASSERT_EQ(topic_stats.header.status(), proto::SUCCESS);
  ASSERT_THAT(topic_stats.header.topic_stats_response().queues(), SizeIs(4));
  EXPECT_EQ(topic_stats.header.topic_stats_response().queues(0).max_offset(),
            1);
  EXPECT_GE(topic_stats.header.topic_stats_response()
                .queues(0)
                .last_update_timestamp(),
            before);

  EXPECT_NE(RuntimeValue("commitLogMaxOffset"), "0");
  EXPECT_EQ(RuntimeValue("commitLogMinOffset"), "0");
  EXPECT_FALSE(RuntimeValue("dispatchOffset").empty());
  EXPECT_FALSE(RuntimeValue("commitLogDiskRatio").empty());
  EXPECT_THAT(RuntimeValue("RssAnon"), testing::HasSubstr("kB"));
}

TEST_F(BrokerTest, RestartKeepsMessagesAndOffsets) {
  StartBroker();
  ASSERT_EQ(Send("TopicR", "first").header.status(), proto::SUCCESS);
  ASSERT_EQ(Send("TopicR", "second").header.status(), proto::SUCCESS);
  ASSERT_EQ(
      Call(OffsetRequest(proto::UPDATE_CONSUMER_OFFSET, "CG", "TopicR", 0, 1))
          .header.status(),
      proto::SUCCESS);
  broker_->Shutdown();
  client_.CloseConnection(addr_);
  broker_.reset();

  StartBroker();
  Command q =
      Call(OffsetRequest(proto::QUERY_CONSUMER_OFFSET, "CG", "TopicR", 0));
  ASSERT_EQ(q.header.status(), proto::SUCCESS);
  EXPECT_EQ(q.header.consumer_offset_response().offset(), 1);
  Command pulled = Call(PullRequest("TopicR", 0, 0, 0));
  ASSERT_EQ(pulled.header.status(), proto::SUCCESS);
  std::vector<Message> messages = DecodeAll(pulled.body);
  ASSERT_THAT(messages, SizeIs(2));
  EXPECT_EQ(messages[0].body, "first");
  EXPECT_EQ(messages[1].body, "second");
  // The topic came back from config/topics.json, so sends need no auto-create.
  EXPECT_EQ(Send("TopicR", "third").header.status(), proto::SUCCESS);
}

// updateTopic -p as in RocketMQ: a read-only topic (perm 4) refuses sends
// with NO_PERMISSION and still serves pulls; a write-only one (perm 2)
// refuses pulls and takes sends. Perm and order reach the NameServer's
// route and survive a restart.
TEST_F(BrokerTest, TopicPermIsEnforcedRoutedAndKeptAcrossRestart) {
  StartBroker();
  auto update = [&](int32_t perm, bool order) {
    Command request = MakeRequest(proto::UPDATE_AND_CREATE_TOPIC);
    proto::TopicConfig* t = request.header.mutable_topic_config();
    t->set_topic_name("TopicP");
    t->set_read_queue_nums(1);
    t->set_write_queue_nums(1);
    t->set_perm(perm);
    t->set_order(order);
    return Call(std::move(request)).header.status();
  };
  ASSERT_EQ(update(6, false), proto::SUCCESS);
  ASSERT_EQ(Send("TopicP", "before").header.status(), proto::SUCCESS);

  ASSERT_EQ(update(proto::PERM_READ, true), proto::SUCCESS);
  Command refused = Send("TopicP", "refused");
  EXPECT_EQ(refused.header.status(), proto::NO_PERMISSION);
  EXPECT_EQ(refused.header.remark(),
            "the topic[TopicP] sending message is forbidden");
  Command pulled = Call(PullRequest("TopicP", 0, 0, 5000));
  ASSERT_EQ(pulled.header.status(), proto::SUCCESS) << pulled.header.remark();
  ASSERT_THAT(DecodeAll(pulled.body), SizeIs(1));
  Command route = Route("TopicP");
  ASSERT_EQ(route.header.status(), proto::SUCCESS);
  ASSERT_THAT(route.header.topic_route_response().queue_datas(), SizeIs(1));
  EXPECT_EQ(route.header.topic_route_response().queue_datas(0).perm(),
            proto::PERM_READ);
  EXPECT_TRUE(route.header.topic_route_response().queue_datas(0).order());

  ASSERT_EQ(update(proto::PERM_WRITE, true), proto::SUCCESS);
  pulled = Call(PullRequest("TopicP", 0, 0, 0));
  EXPECT_EQ(pulled.header.status(), proto::NO_PERMISSION);
  EXPECT_EQ(pulled.header.remark(),
            "the topic[TopicP] pulling message is forbidden");
  ASSERT_EQ(Send("TopicP", "after").header.status(), proto::SUCCESS);

  broker_->Shutdown();
  client_.CloseConnection(addr_);
  broker_.reset();
  StartBroker();
  EXPECT_EQ(Call(PullRequest("TopicP", 0, 0, 0)).header.status(),
            proto::NO_PERMISSION);
  ASSERT_EQ(Send("TopicP", "restarted").header.status(), proto::SUCCESS);
  // Read back from the broker's topics file, not from the NameServer.
  Command all = Call(MakeRequest(proto::GET_ALL_TOPIC_CONFIG));
  bool found = false;
  for (const proto::TopicConfig& t :
       all.header.topic_list_response().configs()) {
    if (t.topic_name() != "TopicP") continue;
    found = true;
    EXPECT_EQ(t.perm(), proto::PERM_WRITE);
    EXPECT_TRUE(t.order());
  }
  EXPECT_TRUE(found);

  ASSERT_EQ(update(6, false), proto::SUCCESS);
  // Every message sent while reads were refused is there to read.
  EXPECT_TRUE(WaitFor([&] {
    pulled = Call(PullRequest("TopicP", 0, 0, 1000));
    return pulled.header.status() == proto::SUCCESS &&
           DecodeAll(pulled.body).size() == 3;
  })) << pulled.header.remark();
  EXPECT_FALSE(
      Route("TopicP").header.topic_route_response().queue_datas(0).order());
}

// QUERY_TOPIC_CONSUME_BY_WHO: groups online and subscribed to the topic,
// and groups with committed offsets for it, each once, sorted.
TEST_F(BrokerTest, TopicConsumeByWhoNamesSubscribersAndCommitters) {
  StartBroker();
  ASSERT_EQ(CreateTopic("TopicW", 1).header.status(), proto::SUCCESS);
  auto who = [&](const std::string& topic) {
    Command request = MakeRequest(proto::QUERY_TOPIC_CONSUME_BY_WHO);
    request.header.mutable_query_topic_consume_by_who()->set_topic(topic);
    Command r = Call(std::move(request));
    EXPECT_EQ(r.header.status(), proto::SUCCESS) << r.header.remark();
    const auto& groups = r.header.group_list_response().groups();
    return std::vector<std::string>(groups.begin(), groups.end());
  };
  EXPECT_THAT(who("TopicW"), SizeIs(0));

  Command heartbeat = MakeRequest(proto::HEART_BEAT);
  proto::HeartbeatData* hb = heartbeat.header.mutable_heartbeat();
  hb->set_client_id("client-w");
  for (const char* group : {"Online", "Both"}) {
    proto::ConsumerData* c = hb->add_consumers();
    c->set_group(group);
    proto::SubscriptionData* sub = c->add_subscriptions();
    sub->set_topic("TopicW");
    sub->set_expression("*");
  }
  ASSERT_EQ(Call(std::move(heartbeat)).header.status(), proto::SUCCESS);
  for (const char* group : {"Committed", "Both"}) {
    ASSERT_EQ(Call(OffsetRequest(proto::UPDATE_CONSUMER_OFFSET, group, "TopicW",
                                 0, 0))
                  .header.status(),
              proto::SUCCESS);
  }
  ASSERT_EQ(Call(OffsetRequest(proto::UPDATE_CONSUMER_OFFSET, "Elsewhere",
                               "Other", 0, 0))
                .header.status(),
            proto::SUCCESS);
  EXPECT_THAT(who("TopicW"), ElementsAre("Both", "Committed", "Online"));
  EXPECT_THAT(who("Other"), ElementsAre("Elsewhere"));

  Command missing = Call(MakeRequest(proto::QUERY_TOPIC_CONSUME_BY_WHO));
  EXPECT_EQ(missing.header.status(), proto::BAD_REQUEST);
}

// The offsets and groups files are `key=value` lines: a name with a line
// break, '=' or ':' must be refused when it arrives, or the broker writes a
// file it cannot read back and does not start again.
TEST_F(BrokerTest, NamesTheStateFilesCannotHoldAreRefused) {
  StartBroker();
  ASSERT_EQ(Send("TopicN", "x").header.status(), proto::SUCCESS);
  for (const std::string topic : {"T=0:1", "T:9", "T\nG@T=0:5", ""}) {
    Command commit =
        Call(OffsetRequest(proto::UPDATE_CONSUMER_OFFSET, "CG", topic, 0, 5));
    EXPECT_EQ(commit.header.status(), proto::BAD_REQUEST) << topic;
  }
  for (const std::string group : {"G=1", "G:1", "G#x", "G@H"}) {
    Command request = MakeRequest(proto::HEART_BEAT);
    proto::HeartbeatData* hb = request.header.mutable_heartbeat();
    hb->set_client_id("client-1");
    proto::ConsumerData* c = hb->add_consumers();
    c->set_group(group);
    c->set_consume_type("CONSUME_ACTIVELY");
    c->set_message_model("CLUSTERING");
    Command answer = Call(std::move(request));
    EXPECT_EQ(answer.header.status(), proto::BAD_REQUEST) << group;
    EXPECT_THAT(answer.header.remark(), testing::HasSubstr("consumer group"));
  }
  ASSERT_EQ(
      Call(OffsetRequest(proto::UPDATE_CONSUMER_OFFSET, "CG", "TopicN", 0, 1))
          .header.status(),
      proto::SUCCESS);
  broker_->Shutdown();
  client_.CloseConnection(addr_);
  broker_.reset();

  StartBroker();  // fails the test if the state files cannot be read
  Command q =
      Call(OffsetRequest(proto::QUERY_CONSUMER_OFFSET, "CG", "TopicN", 0));
  EXPECT_EQ(q.header.consumer_offset_response().offset(), 1);
}

// As RocketMQ: past the end of a queue that still starts at 0 the consumer
// starts over at 0, so it does not skip what the queue holds (the topic was
// created again, the store emptied); at its end it waits there.
TEST_F(BrokerTest, PullPastTheEndOfAQueueFromZeroStartsOver) {
  StartBroker();
  ASSERT_EQ(CreateTopic("TopicM", 1).header.status(), proto::SUCCESS);
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(Send("TopicM", absl::StrCat("m", i)).header.status(),
              proto::SUCCESS);
  }
  ASSERT_TRUE(WaitFor([&] {
    return Call(PullRequest("TopicM", 0, 3, 0)).header.status() ==
           proto::PULL_NOT_FOUND;
  }));
  Command past = Call(PullRequest("TopicM", 0, 10, 1000));
  EXPECT_EQ(past.header.status(), proto::PULL_OFFSET_MOVED);
  EXPECT_EQ(past.header.pull_message_response().next_begin_offset(), 0);
  EXPECT_EQ(past.header.pull_message_response().max_offset(), 3);
  Command at_end = Call(PullRequest("TopicM", 0, 3, 0));
  EXPECT_EQ(at_end.header.status(), proto::PULL_NOT_FOUND);
  EXPECT_EQ(at_end.header.pull_message_response().next_begin_offset(), 3);
}

}  // namespace
}  // namespace cometmq::broker
