// A slave's metadata sync against a master whose answers the test sets.

#include "cpp/broker/slave_sync.h"

#include <algorithm>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "cpp/broker/delay_levels.h"
#include "cpp/remoting/remoting_server.h"
#include "cpp/store/store_test_util.h"
#include "gtest/gtest.h"

namespace cometmq::broker {
namespace {

proto::TopicConfig Topic(const std::string& name) {
  proto::TopicConfig topic;
  topic.set_topic_name(name);
  topic.set_read_queue_nums(1);
  topic.set_write_queue_nums(1);
  topic.set_perm(kPermReadWrite);
  return topic;
}

// Answers the four sync requests: the topic table as set (or the status
// set), empty tables for the rest.
class FakeMaster {
 public:
  FakeMaster() {
    remoting::ServerOptions options;
    options.bind_address = "127.0.0.1";
    server_ = std::make_unique<remoting::RemotingServer>(options);
    server_->RegisterHandler(
        proto::GET_ALL_TOPIC_CONFIG,
        [this](remoting::Command request, remoting::Responder responder) {
          responder.Respond(AnswerTopics(request));
        });
    for (int code : {proto::GET_ALL_CONSUMER_OFFSET,
                     proto::GET_ALL_SUBSCRIPTIONGROUP_CONFIG,
                     proto::GET_ALL_DELAY_OFFSET}) {
      server_->RegisterHandler(code, [this, code](
                                         remoting::Command request,
                                         remoting::Responder responder) {
        remoting::Command response =
            remoting::MakeResponse(request, proto::SUCCESS);
        absl::MutexLock lock(&mu_);
        response.body = bodies_[code];
        if (code == proto::GET_ALL_DELAY_OFFSET && delay_copies_end_) {
          response.header.mutable_delay_offset_table_response()->set_copies_end(
              *delay_copies_end_);
        }
        responder.Respond(std::move(response));
      });
    }
    EXPECT_TRUE(server_->Start().ok());
  }
  ~FakeMaster() { Stop(); }

  void Stop() { server_->Stop(); }
  std::string address() const {
    return absl::StrCat("127.0.0.1:", server_->port());
  }

  // The table answered; `with_list` false answers SUCCESS without one.
  void SetTopics(std::vector<std::string> topics, bool with_list = true) {
    absl::MutexLock lock(&mu_);
    topics_ = std::move(topics);
    with_list_ = with_list;
    status_ = proto::SUCCESS;
  }
  // The body answered to `code` (an encoded table).
  void SetBody(int32_t code, std::string body) {
    absl::MutexLock lock(&mu_);
    bodies_[code] = std::move(body);
  }
  // GET_ALL_DELAY_OFFSET answers that its progress needs the log up to
  // `end` (none: as a master older than that field).
  void SetDelayCopiesEnd(std::optional<int64_t> end) {
    absl::MutexLock lock(&mu_);
    delay_copies_end_ = end;
  }
  // Answers requests that ask for a page with `per_page` topics at a time
  // (0: the whole table, as a master older than paging does).
  void SetTopicsPerPage(int per_page) {
    absl::MutexLock lock(&mu_);
    per_page_ = per_page;
  }
  // Topic answers so far.
  int answers() {
    absl::MutexLock lock(&mu_);
    return answers_;
  }
  void SetStatus(int32_t status) {
    absl::MutexLock lock(&mu_);
    status_ = status;
  }
  // Runs once, before the next table is answered.
  void BeforeNextAnswer(std::function<void()> fn) {
    absl::MutexLock lock(&mu_);
    before_answer_ = std::move(fn);
  }

 private:
  remoting::Command AnswerTopics(const remoting::Command& request) {
    std::function<void()> before;
    {
      absl::MutexLock lock(&mu_);
      before.swap(before_answer_);
    }
    if (before) before();
    absl::MutexLock lock(&mu_);
    ++answers_;
    if (status_ != proto::SUCCESS) {
      return remoting::MakeResponse(request, status_, "the master is unwell");
    }
    remoting::Command response =
        remoting::MakeResponse(request, proto::SUCCESS);
    if (with_list_ && per_page_ > 0 && request.header.has_page()) {
      std::vector<std::string> sorted = topics_;
      std::sort(sorted.begin(), sorted.end());
      proto::TopicList* list = response.header.mutable_topic_list_response();
      int taken = 0;
      for (const std::string& name : sorted) {
        if (name <= request.header.page().after()) continue;
        if (taken == per_page_) {
          list->mutable_page()->set_more(true);
          break;
        }
        *list->add_configs() = Topic(name);
        list->mutable_page()->set_last(name);
        ++taken;
      }
    } else if (with_list_) {
      proto::TopicList* list = response.header.mutable_topic_list_response();
      for (const std::string& name : topics_) {
        list->add_topics(name);
        *list->add_configs() = Topic(name);
      }
    }
    return response;
  }

  std::unique_ptr<remoting::RemotingServer> server_;
  absl::Mutex mu_;
  std::vector<std::string> topics_ ABSL_GUARDED_BY(mu_);
  bool with_list_ ABSL_GUARDED_BY(mu_) = true;
  int per_page_ ABSL_GUARDED_BY(mu_) = 0;
  int answers_ ABSL_GUARDED_BY(mu_) = 0;
  int32_t status_ ABSL_GUARDED_BY(mu_) = proto::SUCCESS;
  std::function<void()> before_answer_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<int32_t, std::string> bodies_ ABSL_GUARDED_BY(mu_);
  std::optional<int64_t> delay_copies_end_ ABSL_GUARDED_BY(mu_);
};

class SlaveSyncTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = store::MakeTempDir("slave-sync");
    topics_ = std::make_unique<TopicConfigManager>(dir_ + "/topics.json", 4);
    ASSERT_TRUE(topics_->Load().ok());
    offsets_ = std::make_unique<ConsumerOffsetManager>(dir_ + "/offsets");
    groups_ = std::make_unique<SubscriptionGroupManager>(dir_ + "/groups",
                                                         /*auto_create=*/true);
    schedule_ = std::make_unique<ScheduleService>(
        DelayLevels::Default(), dir_ + "/delay", absl::Seconds(10));
    store_config_ = store::SmallStoreConfig(dir_ + "/store");
    absl::StatusOr<std::unique_ptr<store::MessageStore>> store =
        store::MessageStore::Open(store_config_);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    sync_ = std::make_unique<SlaveSync>(
        absl::Hours(1), [this] { return master_addr_; }, topics_.get(),
        offsets_.get(), groups_.get(), schedule_.get(), store_.get());
    master_addr_ = master_.address();
    // The master's other tables: empty ones.
    master_.SetBody(proto::GET_ALL_CONSUMER_OFFSET, offsets_->Encode());
    master_.SetBody(proto::GET_ALL_SUBSCRIPTIONGROUP_CONFIG, groups_->Encode());
    master_.SetBody(proto::GET_ALL_DELAY_OFFSET, schedule_->Encode());

    // What earlier rounds copied: two topics with messages.
    for (const char* name : {"Gone", "Kept"}) {
      ASSERT_TRUE(topics_->Update(Topic(name)).ok());
      Put(name);
    }
    store_->WaitDispatched();
  }

  void TearDown() override {
    sync_.reset();
    store_->Shutdown();
  }

  void Put(const std::string& topic) {
    ASSERT_TRUE(store_->PutSync({store::MakeMessage(topic, 0, "m")}).ok());
  }

  // The slave still has `topic`: its config, its queue and its messages.
  bool Has(const std::string& topic) {
    return topics_->Find(topic).has_value() &&
           store_->Queues().contains(topic) &&
           store_->MaxOffsetInQueue(topic, 0) > 0 &&
           std::filesystem::exists(
               absl::StrCat(store_config_.ConsumeQueueDir(), "/", topic));
  }
  // Nothing of `topic` is left.
  bool Lacks(const std::string& topic) {
    return !topics_->Find(topic).has_value() &&
           !store_->Queues().contains(topic) &&
           store_->MaxOffsetInQueue(topic, 0) == 0 &&
           !std::filesystem::exists(
               absl::StrCat(store_config_.ConsumeQueueDir(), "/", topic));
  }

  std::string dir_;
  FakeMaster master_;
  std::string master_addr_;
  std::unique_ptr<TopicConfigManager> topics_;
  std::unique_ptr<ConsumerOffsetManager> offsets_;
  std::unique_ptr<SubscriptionGroupManager> groups_;
  std::unique_ptr<ScheduleService> schedule_;
  store::StoreConfig store_config_;
  std::unique_ptr<store::MessageStore> store_;
  std::unique_ptr<SlaveSync> sync_;
};

TEST_F(SlaveSyncTest, TopicGoneFromTheMastersTableIsDeleted) {
  master_.SetTopics({std::string(kScheduleTopic), "Kept", "New"});
  ASSERT_EQ(sync_->SyncOnce(), absl::OkStatus());
  EXPECT_TRUE(Lacks("Gone"));
  EXPECT_TRUE(Has("Kept"));
  EXPECT_TRUE(topics_->Find("New").has_value());
  EXPECT_TRUE(topics_->Find(kScheduleTopic).has_value());
  // The topic created again starts at offset 0, as on its master.
  Put("Gone");
  store_->WaitDispatched();
  EXPECT_EQ(store_->MinOffsetInQueue("Gone", 0), 0);
  EXPECT_EQ(store_->MaxOffsetInQueue("Gone", 0), 1);
}

TEST_F(SlaveSyncTest, NoAnswerOrNoFullTableDeletesNothing) {
  master_.SetStatus(proto::SYSTEM_ERROR);
  EXPECT_FALSE(sync_->SyncOnce().ok());
  EXPECT_TRUE(Has("Gone"));

  master_.SetTopics({}, /*with_list=*/false);
  EXPECT_FALSE(sync_->SyncOnce().ok());
  EXPECT_TRUE(Has("Gone"));

  master_.SetTopics({});
  EXPECT_FALSE(sync_->SyncOnce().ok());
  EXPECT_TRUE(Has("Gone"));

  // A table without the schedule topic every broker has is not whole.
  master_.SetTopics({"Kept"});
  EXPECT_FALSE(sync_->SyncOnce().ok());
  EXPECT_TRUE(Has("Gone"));
  EXPECT_TRUE(Has("Kept"));

  master_addr_ = "";
  EXPECT_FALSE(sync_->SyncOnce().ok());
  master_addr_ = master_.address();
  master_.Stop();
  EXPECT_FALSE(sync_->SyncOnce().ok());
  EXPECT_TRUE(Has("Gone"));
  EXPECT_TRUE(Has("Kept"));
}

// The master deleted the topic and created it again after answering; its
// new records reached the slave while the answer was on its way.
TEST_F(SlaveSyncTest, TopicWithRecordsNewerThanTheTableIsKept) {
  master_.SetTopics({std::string(kScheduleTopic), "Kept"});
  master_.BeforeNextAnswer([this] {
    Put("Gone");
    store_->WaitDispatched();
  });
  ASSERT_EQ(sync_->SyncOnce(), absl::OkStatus());
  EXPECT_TRUE(Has("Gone"));
  EXPECT_EQ(store_->MaxOffsetInQueue("Gone", 0), 2);
  // A later table that still lacks it: deleted then.
  ASSERT_EQ(sync_->SyncOnce(), absl::OkStatus());
  EXPECT_TRUE(Lacks("Gone"));
  EXPECT_TRUE(Has("Kept"));
}

TEST_F(SlaveSyncTest, PagedTableIsCopiedWholeAndThenDeletes) {
  master_.SetTopicsPerPage(2);
  master_.SetTopics(
      {std::string(kScheduleTopic), "Kept", "New1", "New2", "New3", "New4"});
  ASSERT_EQ(sync_->SyncOnce(), absl::OkStatus());
  EXPECT_EQ(master_.answers(), 3);
  for (const char* name : {"New1", "New2", "New3", "New4"}) {
    EXPECT_TRUE(topics_->Find(name).has_value()) << name;
  }
  EXPECT_TRUE(Has("Kept"));
  EXPECT_TRUE(Lacks("Gone"));
}

// The copy stops at a page that fails: the pages before it are applied
// (they are the master's topics), and nothing is deleted.
TEST_F(SlaveSyncTest, FailedPageDeletesNothing) {
  master_.SetTopicsPerPage(2);
  master_.SetTopics({std::string(kScheduleTopic), "Kept", "A1", "A2"});
  // "A1", "A2" come first; the second answer fails.
  master_.BeforeNextAnswer([this] {
    master_.BeforeNextAnswer(
        [this] { master_.SetStatus(proto::SYSTEM_ERROR); });
  });
  EXPECT_FALSE(sync_->SyncOnce().ok());
  EXPECT_TRUE(topics_->Find("A1").has_value());
  EXPECT_TRUE(topics_->Find("A2").has_value());
  EXPECT_TRUE(Has("Gone"));
  EXPECT_TRUE(Has("Kept"));
  // The next round, whole, deletes it.
  master_.SetTopics({std::string(kScheduleTopic), "Kept", "A1", "A2"});
  ASSERT_EQ(sync_->SyncOnce(), absl::OkStatus());
  EXPECT_TRUE(Lacks("Gone"));
}

// The master deletes topics while the slave is between pages: one it has
// not answered yet is missing from the copy and deleted; one already
// answered is deleted by the next round.
TEST_F(SlaveSyncTest, TopicsDeletedOnTheMasterBetweenPages) {
  ASSERT_TRUE(topics_->Update(Topic("Late")).ok());
  Put("Late");
  store_->WaitDispatched();
  master_.SetTopicsPerPage(2);
  // Sorted: Gone Kept | Late SCHEDULE_TOPIC_XXXX.
  master_.SetTopics({"Gone", "Kept", "Late", std::string(kScheduleTopic)});
  master_.BeforeNextAnswer([this] {
    master_.BeforeNextAnswer([this] {
      master_.SetTopics({"Kept", std::string(kScheduleTopic)});
    });
  });
  ASSERT_EQ(sync_->SyncOnce(), absl::OkStatus());
  EXPECT_TRUE(Lacks("Late"));
  EXPECT_TRUE(Has("Gone"));
  ASSERT_EQ(sync_->SyncOnce(), absl::OkStatus());
  EXPECT_TRUE(Lacks("Gone"));
  EXPECT_TRUE(Has("Kept"));
}

// The master's delay progress passed re-put copies this slave has not
// replicated yet: taken as the master's, a promoted slave would never
// deliver them. It is kept as it was until the slave's log reaches them.
TEST_F(SlaveSyncTest, DelayProgressWaitsForTheSlavesLogToHoldItsCopies) {
  master_.SetTopics({std::string(kScheduleTopic), "Gone", "Kept"});
  master_.SetBody(proto::GET_ALL_DELAY_OFFSET, "{\"offsetTable\":{\"1\":7}}");
  const int64_t log_end = store_->MaxPhysicalOffset();
  master_.SetDelayCopiesEnd(log_end + 1);
  const absl::Status held = sync_->SyncOnce();
  EXPECT_TRUE(absl::IsUnavailable(held)) << held;
  EXPECT_EQ(schedule_->Offset(1), 0);

  master_.SetDelayCopiesEnd(log_end);
  ASSERT_EQ(sync_->SyncOnce(), absl::OkStatus());
  EXPECT_EQ(schedule_->Offset(1), 7);

  // A master without the field: taken as before.
  master_.SetBody(proto::GET_ALL_DELAY_OFFSET, "{\"offsetTable\":{\"1\":9}}");
  master_.SetDelayCopiesEnd(std::nullopt);
  ASSERT_EQ(sync_->SyncOnce(), absl::OkStatus());
  EXPECT_EQ(schedule_->Offset(1), 9);
}

}  // namespace
}  // namespace cometmq::broker
