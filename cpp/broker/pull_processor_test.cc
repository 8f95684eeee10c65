#include "cpp/broker/pull_processor.h"

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "cpp/broker/broker_config.h"
#include "cpp/broker/consumer_offset_manager.h"
#include "cpp/broker/long_polling.h"
#include "cpp/broker/subscription_group_manager.h"
#include "cpp/broker/thread_pool.h"
#include "cpp/broker/topic_config_manager.h"
#include "cpp/common/message_record.h"
#include "cpp/remoting/remoting_server.h"
#include "cpp/store/message_store.h"
#include "cpp/store/store_test_util.h"
#include "gtest/gtest.h"

namespace cometmq::broker {
namespace {

using remoting::Command;

// A PullProcessor over a real store, with a one-thread pull pool the test
// can hold busy.
struct Fixture {
  BrokerConfig config;
  std::unique_ptr<store::MessageStore> store;
  std::unique_ptr<TopicConfigManager> topics;
  std::unique_ptr<SubscriptionGroupManager> groups;
  std::unique_ptr<ConsumerOffsetManager> offsets;
  std::unique_ptr<LongPollingService> holds;
  ThreadPool pool{"test-pull", 1, 16};
  std::unique_ptr<PullProcessor> pulls;

  explicit Fixture(const std::string& name) {
    const std::string dir = store::MakeTempDir(name);
    store = *store::MessageStore::Open(store::SmallStoreConfig(dir));
    topics = std::make_unique<TopicConfigManager>(dir + "/topics.json", 4);
    groups = std::make_unique<SubscriptionGroupManager>(dir + "/groups.json",
                                                        /*auto_create=*/true);
    offsets = std::make_unique<ConsumerOffsetManager>(dir + "/offsets.json");
    holds = std::make_unique<LongPollingService>(
        [this](absl::string_view topic, int32_t queue_id) {
          return store->MaxOffsetInQueue(topic, queue_id);
        });
    holds->Start();
    pulls = std::make_unique<PullProcessor>(config, store.get(), topics.get(),
                                            groups.get(), offsets.get(),
                                            holds.get(), &pool);
    proto::TopicConfig topic;
    topic.set_topic_name("T");
    topic.set_read_queue_nums(1);
    topic.set_write_queue_nums(1);
    topic.set_perm(proto::PERM_READ | proto::PERM_WRITE);
    EXPECT_TRUE(topics->Update(topic).ok());
  }
  ~Fixture() {
    holds->Shutdown();
    pool.Shutdown();
  }
};

Command Pull(int64_t queue_offset, int64_t commit_offset) {
  Command request = remoting::MakeRequest(proto::PULL_MESSAGE);
  proto::PullMessageRequest* pull = request.header.mutable_pull_message();
  pull->set_consumer_group("G");
  pull->set_topic("T");
  pull->set_queue_id(0);
  pull->set_queue_offset(queue_offset);
  pull->set_max_msg_nums(32);
  pull->set_commit_offset(commit_offset);
  return request;
}

TEST(PullProcessorTest, PiggyBackedCommitKeepsItsOrderWithLaterCommits) {
  Fixture f("pull_commit_order");
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(f.store->PutOneSync(store::MakeMessage("T", 0, "m")).ok());
  }
  f.store->WaitDispatched();
  // The pool is busy, so the pull (of stored messages) waits in its queue.
  absl::Notification release, answered;
  ASSERT_TRUE(f.pool.TrySubmit([&] { release.WaitForNotification(); }));
  Command request = Pull(/*queue_offset=*/1, /*commit_offset=*/1);
  std::optional<Command> response;
  f.pulls->Handle(Command(request),
                  remoting::Responder::ForHandlerTest(request, [&](Command r) {
                    response = std::move(r);
                    answered.Notify();
                  }));
  // Applied as the pull arrived, not when the pool gets to it...
  EXPECT_EQ(f.offsets->Query("G", "T", 0), 1);
  // ...so a commit the consumer sent after the pull stays.
  f.offsets->Commit("G", "T", 0, 3);
  release.Notify();
  answered.WaitForNotification();
  EXPECT_EQ(response->header.status(), proto::SUCCESS);
  EXPECT_EQ(response->header.pull_message_response().message_count(), 2);
  EXPECT_EQ(f.offsets->Query("G", "T", 0), 3);
}

// A message with user properties (and a tag) for SQL92 filtering.
MessageToStore PropertyMessage(const std::string& body,
                               std::map<std::string, std::string> props) {
  MessageToStore m = store::MakeMessage("T", 0, body);
  m.properties = EncodeProperties(props);
  return m;
}

Command SqlPull(int64_t queue_offset, const std::string& sql) {
  Command request = Pull(queue_offset, /*commit_offset=*/-1);
  request.header.mutable_pull_message()->set_subscription(sql);
  request.header.mutable_pull_message()->set_expression_type(
      proto::EXPRESSION_SQL92);
  return request;
}

// Runs a pull to its answer.
Command RunPull(Fixture& f, const Command& request) {
  absl::Notification answered;
  std::optional<Command> response;
  f.pulls->Handle(Command(request),
                  remoting::Responder::ForHandlerTest(request, [&](Command r) {
                    response = std::move(r);
                    answered.Notify();
                  }));
  answered.WaitForNotification();
  EXPECT_TRUE(response->header.has_pull_message_response());
  return *std::move(response);
}

std::vector<std::string> Bodies(const Command& response) {
  std::vector<std::string> out;
  absl::string_view body = response.body;
  while (!body.empty()) {
    RecordView v;
    EXPECT_EQ(
        DecodeRecord(body.data(), static_cast<int64_t>(body.size()), false, &v),
        DecodeResult::kRecord);
    if (v.total_size <= 0) break;
    out.emplace_back(v.body);
    body.remove_prefix(static_cast<size_t>(v.total_size));
  }
  return out;
}

void PutMixed(Fixture& f) {
  ASSERT_TRUE(f.store->PutOneSync(PropertyMessage("a3", {{"a", "3"}})).ok());
  ASSERT_TRUE(f.store
                  ->PutOneSync(PropertyMessage(
                      "a7eu", {{"a", "7"}, {"region", "eu"}, {"TAGS", "X"}}))
                  .ok());
  ASSERT_TRUE(f.store->PutOneSync(PropertyMessage("none", {})).ok());
  ASSERT_TRUE(
      f.store
          ->PutOneSync(PropertyMessage("a9us", {{"a", "9"}, {"region", "us"}}))
          .ok());
  ASSERT_TRUE(f.store->PutOneSync(PropertyMessage("abc", {{"a", "abc"}})).ok());
  f.store->WaitDispatched();
}

TEST(PullProcessorTest, SqlPullIsRefusedWithoutEnablePropertyFilter) {
  Fixture f("pull_sql_disabled");
  PutMixed(f);
  Command response = RunPull(f, SqlPull(0, "a > 5"));
  EXPECT_EQ(response.header.status(), proto::SYSTEM_ERROR);
  EXPECT_EQ(response.header.remark(),
            "The broker does not support consumer to filter message by SQL92");
  EXPECT_TRUE(response.body.empty());
}

TEST(PullProcessorTest, SqlPullWithABadExpressionIsAParseFailure) {
  Fixture f("pull_sql_bad");
  f.config.enablePropertyFilter = true;
  PutMixed(f);
  Command response = RunPull(f, SqlPull(0, "a > 'x'"));
  EXPECT_EQ(response.header.status(), proto::SUBSCRIPTION_PARSE_FAILED);
  EXPECT_TRUE(absl::StrContains(response.header.remark(), "position 5"))
      << response.header.remark();
}

TEST(PullProcessorTest, SqlPullReturnsOnlyMatchingMessagesAndMovesPastTheRest) {
  Fixture f("pull_sql_match");
  f.config.enablePropertyFilter = true;
  PutMixed(f);
  Command response = RunPull(f, SqlPull(0, "a > 5"));
  EXPECT_EQ(response.header.status(), proto::SUCCESS);
  EXPECT_EQ(Bodies(response), (std::vector<std::string>{"a7eu", "a9us"}));
  EXPECT_EQ(response.header.pull_message_response().message_count(), 2);
  EXPECT_EQ(response.header.pull_message_response().next_begin_offset(), 5);

  response = RunPull(f, SqlPull(0, "region = 'eu' AND TAGS = 'X'"));
  EXPECT_EQ(Bodies(response), (std::vector<std::string>{"a7eu"}));
  response = RunPull(f, SqlPull(0, "a IS NULL"));
  EXPECT_EQ(Bodies(response), (std::vector<std::string>{"none"}));

  // Nothing matches: retry from the end, never from where it was.
  response = RunPull(f, SqlPull(0, "a > 100"));
  EXPECT_EQ(response.header.status(), proto::PULL_RETRY_IMMEDIATELY);
  EXPECT_EQ(response.header.pull_message_response().next_begin_offset(), 5);
}

TEST(PullProcessorTest, SqlPullTagsPlayNoPart) {
  Fixture f("pull_sql_tags");
  f.config.enablePropertyFilter = true;
  ASSERT_TRUE(
      f.store->PutOneSync(store::MakeMessage("T", 0, "tagged", "TagA")).ok());
  f.store->WaitDispatched();
  // A subscription string that is also a tag expression is not one here.
  Command response = RunPull(f, SqlPull(0, "TAGS = 'TagA'"));
  EXPECT_EQ(Bodies(response), (std::vector<std::string>{"tagged"}));
}

TEST(PullProcessorTest, HeldSqlPullWaitsPastNonMatchingArrivals) {
  Fixture f("pull_sql_held");
  f.config.enablePropertyFilter = true;
  Command request = SqlPull(0, "a > 5");
  request.header.mutable_pull_message()->set_suspend_timeout_millis(20000);
  absl::Notification answered;
  std::optional<Command> response;
  f.pulls->Handle(Command(request),
                  remoting::Responder::ForHandlerTest(request, [&](Command r) {
                    response = std::move(r);
                    answered.Notify();
                  }));
  ASSERT_TRUE(f.store->PutOneSync(PropertyMessage("a1", {{"a", "1"}})).ok());
  f.store->WaitDispatched();
  f.holds->OnArrival("T", 0, f.store->MaxOffsetInQueue("T", 0));
  // Woken by a message its selector refuses: held again, not answered.
  EXPECT_FALSE(answered.WaitForNotificationWithTimeout(absl::Seconds(1)));
  ASSERT_TRUE(f.store->PutOneSync(PropertyMessage("a6", {{"a", "6"}})).ok());
  f.store->WaitDispatched();
  f.holds->OnArrival("T", 0, f.store->MaxOffsetInQueue("T", 0));
  ASSERT_TRUE(answered.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_EQ(response->header.status(), proto::SUCCESS);
  EXPECT_EQ(Bodies(*response), (std::vector<std::string>{"a6"}));
  EXPECT_EQ(response->header.pull_message_response().next_begin_offset(), 2);
}

TEST(PullProcessorTest, RetryTopicPullsAreNotSqlFiltered) {
  Fixture f("pull_sql_retry");
  f.config.enablePropertyFilter = true;
  proto::TopicConfig retry;
  retry.set_topic_name("%RETRY%G");
  retry.set_read_queue_nums(1);
  retry.set_write_queue_nums(1);
  retry.set_perm(proto::PERM_READ | proto::PERM_WRITE);
  ASSERT_TRUE(f.topics->Update(retry).ok());
  MessageToStore m = PropertyMessage("r", {{"a", "1"}});
  m.topic = "%RETRY%G";
  ASSERT_TRUE(f.store->PutOneSync(m).ok());
  f.store->WaitDispatched();
  Command request = SqlPull(0, "a > 5");
  request.header.mutable_pull_message()->set_topic("%RETRY%G");
  Command response = RunPull(f, request);
  EXPECT_EQ(Bodies(response), (std::vector<std::string>{"r"}));
}

}  // namespace
}  // namespace cometmq::broker
