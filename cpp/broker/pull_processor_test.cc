#include "cpp/broker/pull_processor.h"

#include <memory>
#include <optional>

#include "absl/synchronization/notification.h"
#include "cpp/broker/broker_config.h"
#include "cpp/broker/consumer_offset_manager.h"
#include "cpp/broker/long_polling.h"
#include "cpp/broker/subscription_group_manager.h"
#include "cpp/broker/thread_pool.h"
#include "cpp/broker/topic_config_manager.h"
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

}  // namespace
}  // namespace cometmq::broker
