// Delayed delivery and consumer send-back, with the broker in-process and
// driven over the wire (level table "1s 2s").
#include <atomic>
#include <cstring>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "cpp/broker/broker_config.h"
#include "cpp/broker/broker_controller.h"
#include "cpp/broker/broker_test_util.h"
#include "cpp/broker/config_file.h"
#include "cpp/broker/schedule_service.h"
#include "cpp/broker/send_processor.h"
#include "cpp/common/byte_order.h"
#include "cpp/common/message_record.h"
#include "cpp/namesrv/name_server.h"
#include "cpp/remoting/remoting_client.h"
#include "cpp/store/message_store.h"
#include "cpp/store/store_test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cometmq::broker {
namespace {

using remoting::Command;
using remoting::MakeRequest;

constexpr absl::Duration kTimeout = absl::Seconds(10);

struct Pulled {
  std::string topic;
  std::string body;
  std::map<std::string, std::string> props;
  int64_t physical_offset = 0;
  int64_t born_timestamp = 0;
  int64_t store_timestamp = 0;
  int32_t reconsume_times = 0;
};

class DelayRetryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    namesrv_ = StartLoopbackNameServer();
    ASSERT_NE(namesrv_, nullptr);
    config_ = LoopbackBrokerConfig(*namesrv_, "delay");
    config_.delay_levels = *DelayLevels::Parse("1s 2s");
  }

  void TearDown() override {
    if (broker_ != nullptr) broker_->Shutdown();
    client_.Shutdown();
    namesrv_->Stop();
  }

  void StartBroker() {
    broker_ = std::make_unique<BrokerController>(config_);
    ASSERT_TRUE(broker_->Start().ok());
  }

  Command Call(Command request) {
    absl::StatusOr<Command> response = client_.InvokeSync(
        broker_->broker_addr(), std::move(request), kTimeout);
    EXPECT_TRUE(response.ok()) << response.status();
    return response.ok() ? *std::move(response) : Command{};
  }

  Command Send(const std::string& topic, const std::string& body,
               std::map<std::string, std::string> props,
               int32_t reconsume_times = 0, int32_t max_reconsume_times = 0) {
    Command request = MakeRequest(proto::SEND_MESSAGE);
    proto::SendMessageRequest* send = request.header.mutable_send_message();
    send->set_producer_group("PG");
    send->set_topic(topic);
    send->set_queue_id(0);
    send->set_born_timestamp(12345);
    send->set_properties(EncodeProperties(props));
    send->set_reconsume_times(reconsume_times);
    send->set_max_reconsume_times(max_reconsume_times);
    request.body = body;
    return Call(std::move(request));
  }

  // Messages of queue 0 of `topic` from `offset`, without waiting.
  std::vector<Pulled> Pull(const std::string& topic, int64_t offset = 0,
                           int32_t queue_id = 0) {
    Command request = MakeRequest(proto::PULL_MESSAGE);
    proto::PullMessageRequest* pull = request.header.mutable_pull_message();
    pull->set_consumer_group("CG");
    pull->set_topic(topic);
    pull->set_queue_id(queue_id);
    pull->set_queue_offset(offset);
    pull->set_max_msg_nums(32);
    pull->set_suspend_timeout_millis(0);
    pull->set_subscription("*");
    pull->set_commit_offset(-1);
    Command response = Call(std::move(request));
    std::vector<Pulled> out;
    if (response.header.status() != proto::SUCCESS) return out;
    for (const RecordView& view : DecodeRecords(response.body)) {
      out.push_back({std::string(view.topic), std::string(view.body),
                     DecodeProperties(view.properties), view.physical_offset,
                     view.born_timestamp, view.store_timestamp,
                     view.reconsume_times});
    }
    return out;
  }

  // Waits (bounded) until queue 0 of `topic` has `count` messages; returns
  // what it has then.
  std::vector<Pulled> AwaitMessages(const std::string& topic,
                                    absl::Duration limit, size_t count = 1) {
    const absl::Time deadline = absl::Now() + limit;
    std::vector<Pulled> got = Pull(topic);
    while (got.size() < count && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(20));
      got = Pull(topic);
    }
    return got;
  }

  Command SendBack(const std::string& group, int64_t commit_log_offset,
                   int32_t max_reconsume_times,
                   const std::string& original_topic = "T") {
    Command request = MakeRequest(proto::CONSUMER_SEND_MSG_BACK);
    proto::ConsumerSendMsgBackRequest* back =
        request.header.mutable_consumer_send_msg_back();
    back->set_group(group);
    back->set_commit_log_offset(commit_log_offset);
    back->set_original_msg_id("UNIQ-1");
    back->set_original_topic(original_topic);
    back->set_max_reconsume_times(max_reconsume_times);
    return Call(std::move(request));
  }

  std::unique_ptr<namesrv::NameServer> namesrv_;
  BrokerConfig config_;
  std::unique_ptr<BrokerController> broker_;
  remoting::RemotingClient client_;
};

TEST_F(DelayRetryTest, DelayedMessageAppearsOnlyWhenDue) {
  StartBroker();
  const absl::Time sent_at = absl::Now();
  Command sent = Send("T", "later",
                      {{"DELAY", "2"},
                       {"UNIQ_KEY", "UNIQ-1"},
                       {"KEYS", "k1"},
                       {"TAGS", "A"},
                       {"user", "v"}});
  ASSERT_EQ(sent.header.status(), proto::SUCCESS) << sent.header.remark();
  // Stored on the schedule topic's queue of level 2, not on T.
  EXPECT_EQ(sent.header.send_message_response().queue_id(), 0);
  EXPECT_TRUE(Pull("T").empty());

  std::vector<Pulled> got = AwaitMessages("T", absl::Seconds(10));
  const absl::Time seen_at = absl::Now();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_GE(seen_at - sent_at, absl::Seconds(2));
  EXPECT_LT(seen_at - sent_at, absl::Seconds(4));
  const Pulled& m = got.front();
  EXPECT_EQ(m.topic, "T");
  EXPECT_EQ(m.body, "later");
  EXPECT_EQ(m.born_timestamp, 12345);
  EXPECT_EQ(m.props, (std::map<std::string, std::string>{{"KEYS", "k1"},
                                                         {"TAGS", "A"},
                                                         {"UNIQ_KEY", "UNIQ-1"},
                                                         {"user", "v"}}));
  // Progress is persisted at shutdown and resumed: after a restart, a new
  // level-1 message arrives (every level was scanned before it was due) and
  // the first one was not delivered again.
  broker_->Shutdown();
  StartBroker();
  ASSERT_EQ(Send("T", "marker", {{"DELAY", "1"}}).header.status(),
            proto::SUCCESS);
  std::vector<Pulled> all = AwaitMessages("T", absl::Seconds(10), 2);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].body, "later");
  EXPECT_EQ(all[1].body, "marker");
}

TEST_F(DelayRetryTest, ShortenedLevelTableStillDeliversItsQueues) {
  config_.delay_levels = *DelayLevels::Parse("1s 30s");
  StartBroker();
  ASSERT_EQ(Send("T", "parked on level 2", {{"DELAY", "2"}}).header.status(),
            proto::SUCCESS);
  broker_->Shutdown();
  // Level 2 is gone from the table: its queue is still delivered, with the
  // last remaining level's delay, and exactly once across a restart.
  config_.delay_levels = *DelayLevels::Parse("1s");
  StartBroker();
  std::vector<Pulled> got = AwaitMessages("T", absl::Seconds(10));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].body, "parked on level 2");
  broker_->Shutdown();
  config_.delay_levels = *DelayLevels::Parse("1s 1s");
  StartBroker();
  ASSERT_EQ(Send("T", "marker", {{"DELAY", "2"}}).header.status(),
            proto::SUCCESS);
  std::vector<Pulled> all = AwaitMessages("T", absl::Seconds(10), 2);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[1].body, "marker");
}

TEST_F(DelayRetryTest, OutOfRangeLevelIsClampedToTheLast) {
  StartBroker();
  const absl::Time sent_at = absl::Now();
  ASSERT_EQ(Send("T", "x", {{"DELAY", "40"}}).header.status(), proto::SUCCESS);
  ASSERT_EQ(AwaitMessages("T", absl::Seconds(10)).size(), 1u);
  EXPECT_GE(absl::Now() - sent_at, absl::Seconds(2));
}

// A DELAY that is not a number is refused, as RocketMQ's broker fails to
// parse it, rather than read as "no delay" and delivered at once. A level of
// 0 or below means no delay, as in RocketMQ.
TEST_F(DelayRetryTest, MalformedLevelIsRefused) {
  StartBroker();
  for (const char* level : {"5s", "abc", "", "1.5", "99999999999"}) {
    SCOPED_TRACE(level);
    Command sent = Send("T", "early", {{"DELAY", level}});
    EXPECT_EQ(sent.header.status(), proto::MESSAGE_ILLEGAL);
    EXPECT_NE(sent.header.remark().find("DELAY"), std::string::npos)
        << sent.header.remark();
  }
  ASSERT_EQ(Send("T", "now", {{"DELAY", "-1"}}).header.status(),
            proto::SUCCESS);
  std::vector<Pulled> got = AwaitMessages("T", absl::Seconds(10));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].body, "now");
}

TEST_F(DelayRetryTest, SendBackRetriesThenDeadLetters) {
  StartBroker();
  ASSERT_EQ(Send("T", "failing", {{"UNIQ_KEY", "UNIQ-1"}, {"TAGS", "A"}})
                .header.status(),
            proto::SUCCESS);
  std::vector<Pulled> original = AwaitMessages("T", absl::Seconds(5));
  ASSERT_EQ(original.size(), 1u);

  // First failure: to %RETRY%CG through delay level 3 (clamped to 2 s).
  const absl::Time sent_back_at = absl::Now();
  Command back = SendBack("CG", original[0].physical_offset, 1);
  ASSERT_EQ(back.header.status(), proto::SUCCESS) << back.header.remark();
  EXPECT_TRUE(Pull("%RETRY%CG").empty());
  std::vector<Pulled> retry = AwaitMessages("%RETRY%CG", absl::Seconds(10));
  ASSERT_EQ(retry.size(), 1u);
  EXPECT_GE(absl::Now() - sent_back_at, absl::Seconds(2));
  EXPECT_EQ(retry[0].body, "failing");
  EXPECT_EQ(retry[0].reconsume_times, 1);
  EXPECT_EQ(retry[0].props["RETRY_TOPIC"], "T");
  EXPECT_EQ(retry[0].props["ORIGIN_MESSAGE_ID"], "UNIQ-1");
  EXPECT_EQ(retry[0].props["UNIQ_KEY"], "UNIQ-1");
  EXPECT_EQ(retry[0].props.count("DELAY"), 0u);

  // Second failure exceeds max_reconsume_times = 1: straight to the DLQ.
  back = SendBack("CG", retry[0].physical_offset, 1);
  ASSERT_EQ(back.header.status(), proto::SUCCESS) << back.header.remark();
  std::vector<Pulled> dlq = AwaitMessages("%DLQ%CG", absl::Seconds(5));
  ASSERT_EQ(dlq.size(), 1u);
  EXPECT_EQ(dlq[0].reconsume_times, 2);
  EXPECT_EQ(dlq[0].props["RETRY_TOPIC"], "T");
  EXPECT_EQ(dlq[0].body, "failing");
  EXPECT_EQ(Pull("%RETRY%CG", 1).size(), 0u);
}

// A consumer whose send-back failed sends a copy to the retry topic itself;
// the broker applies the send-back's rule to it.
TEST_F(DelayRetryTest, RetryCopySentToTheRetryTopicFollowsTheSendBackRule) {
  config_.autoCreateTopicEnable = false;  // retry and DLQ topics still made
  StartBroker();
  std::map<std::string, std::string> props = {
      {"UNIQ_KEY", "UNIQ-1"}, {"RETRY_TOPIC", "T"}, {"DELAY", "1"}};

  // Within the consumer's limit: a delayed retry.
  const absl::Time sent_at = absl::Now();
  Command sent = Send("%RETRY%CG", "again", props, /*reconsume_times=*/2,
                      /*max_reconsume_times=*/2);
  ASSERT_EQ(sent.header.status(), proto::SUCCESS) << sent.header.remark();
  std::vector<Pulled> retry = AwaitMessages("%RETRY%CG", absl::Seconds(10));
  ASSERT_EQ(retry.size(), 1u);
  EXPECT_GE(absl::Now() - sent_at, absl::Seconds(1));
  EXPECT_EQ(retry[0].body, "again");
  EXPECT_EQ(retry[0].reconsume_times, 2);
  EXPECT_EQ(retry[0].props["RETRY_TOPIC"], "T");
  EXPECT_EQ(retry[0].props["UNIQ_KEY"], "UNIQ-1");

  // No limit of its own: the group's retryMaxTimes (16).
  sent = Send("%RETRY%CG", "retried", props, 3, 0);
  ASSERT_EQ(sent.header.status(), proto::SUCCESS) << sent.header.remark();
  // Past the limit, or a negative one: the dead-letter queue, not delayed
  // (level 2 would hold it on its own schedule queue).
  props["DELAY"] = "2";
  props["REAL_TOPIC"] = "T";
  sent = Send("%RETRY%CG", "dead", props, 3, 2);
  ASSERT_EQ(sent.header.status(), proto::SUCCESS) << sent.header.remark();
  sent = Send("%RETRY%CG", "orderly", props, 1, -1);
  ASSERT_EQ(sent.header.status(), proto::SUCCESS) << sent.header.remark();
  std::vector<Pulled> dlq = AwaitMessages("%DLQ%CG", absl::Seconds(5), 2);
  ASSERT_EQ(dlq.size(), 2u);
  EXPECT_EQ(dlq[0].body, "dead");
  EXPECT_EQ(dlq[0].reconsume_times, 3);
  EXPECT_EQ(dlq[0].props.count("DELAY"), 0u);
  EXPECT_EQ(dlq[0].props.count("REAL_TOPIC"), 0u);
  EXPECT_EQ(dlq[0].props["RETRY_TOPIC"], "T");
  EXPECT_EQ(dlq[1].body, "orderly");
  EXPECT_TRUE(Pull("SCHEDULE_TOPIC_XXXX", 0, /*queue_id=*/1).empty());
  retry = AwaitMessages("%RETRY%CG", absl::Seconds(10), 2);
  ASSERT_EQ(retry.size(), 2u);
  EXPECT_EQ(retry[1].body, "retried");

  // A well-formed batch is still refused: each message has its own count.
  std::string entry;
  const std::string body = "x";
  for (int32_t field : {22 + static_cast<int32_t>(body.size()), 0, 0, 0,
                        static_cast<int32_t>(body.size())}) {
    char word[4];
    PutBig32(word, field);
    entry.append(word, 4);
  }
  entry += body;
  entry.append("\0\0", 2);  // no properties
  ASSERT_TRUE(DecodeBatchBody(entry).ok());
  Command batch = MakeRequest(proto::SEND_BATCH_MESSAGE);
  proto::SendMessageRequest* send = batch.header.mutable_send_message();
  send->set_topic("%RETRY%CG");
  send->set_batch(true);
  batch.body = entry;
  Command refused = Call(std::move(batch));
  EXPECT_EQ(refused.header.status(), proto::MESSAGE_ILLEGAL);
  EXPECT_THAT(refused.header.remark(), ::testing::HasSubstr("retry topic"));
}

// Reconsume counts at the ends of int32: the count after a failure used to
// overflow (undefined; in practice it wrapped negative), so a message
// reconsumed INT32_MAX times went to the retry topic with a negative count,
// to be retried about 2^31 more times instead of going to the DLQ. A
// negative count sent by a client is refused rather than buying retries.
TEST_F(DelayRetryTest, ReconsumeTimesAtTheLimitsOfInt32) {
  constexpr int32_t kMax = std::numeric_limits<int32_t>::max();
  StartBroker();
  ASSERT_EQ(Send("T", "worn", {{"UNIQ_KEY", "UNIQ-1"}}, kMax).header.status(),
            proto::SUCCESS);
  ASSERT_EQ(
      Send("T", "patient", {{"UNIQ_KEY", "UNIQ-2"}}, kMax - 1).header.status(),
      proto::SUCCESS);
  std::vector<Pulled> original = AwaitMessages("T", absl::Seconds(5), 2);
  ASSERT_EQ(original.size(), 2u);
  ASSERT_EQ(original[0].reconsume_times, kMax);

  // Reconsumed INT32_MAX times already: past any limit.
  Command back = SendBack("CG", original[0].physical_offset, kMax);
  ASSERT_EQ(back.header.status(), proto::SUCCESS) << back.header.remark();
  std::vector<Pulled> dlq = AwaitMessages("%DLQ%CG", absl::Seconds(5));
  ASSERT_EQ(dlq.size(), 1u);
  EXPECT_EQ(dlq[0].body, "worn");
  EXPECT_EQ(dlq[0].reconsume_times, kMax);

  // One reconsume left under a limit of INT32_MAX: a retry at the last
  // level (2 s).
  back = SendBack("CG", original[1].physical_offset, kMax);
  ASSERT_EQ(back.header.status(), proto::SUCCESS) << back.header.remark();
  std::vector<Pulled> retry = AwaitMessages("%RETRY%CG", absl::Seconds(10));
  ASSERT_EQ(retry.size(), 1u);
  EXPECT_EQ(retry[0].body, "patient");
  EXPECT_EQ(retry[0].reconsume_times, kMax);

  Command refused = Send("T", "cheat", {}, -1);
  EXPECT_EQ(refused.header.status(), proto::MESSAGE_ILLEGAL);
  EXPECT_THAT(refused.header.remark(), ::testing::HasSubstr("reconsume times"));
  refused = Send("%RETRY%CG", "cheat", {}, -1, 16);
  EXPECT_EQ(refused.header.status(), proto::MESSAGE_ILLEGAL);
  EXPECT_EQ(Pull("T", 2).size(), 0u);
}

// A send-back names its message by commit log offset only. One naming a
// record no consumer was given (a delayed message still waiting, a half of
// an open or rolled-back transaction) used to be copied to the retry topic
// like any other: the delayed message came early (and again when due), the
// uncommitted transaction was delivered. Refused now, with nothing stored.
TEST_F(DelayRetryTest, SendBackOfAnInternalRecordIsRefused) {
  StartBroker();
  std::vector<int64_t> offsets;
  for (const auto& props : std::vector<std::map<std::string, std::string>>{
           {{"UNIQ_KEY", "D"}, {"DELAY", "2"}},
           {{"UNIQ_KEY", "H"}, {"TRAN_MSG", "true"}, {"PGROUP", "PG"}}}) {
    Command sent = Send("T", "hidden", props);
    ASSERT_EQ(sent.header.status(), proto::SUCCESS) << sent.header.remark();
    int64_t offset = 0;
    ASSERT_TRUE(ParseOffsetMessageId(
        sent.header.send_message_response().msg_id(), &offset));
    offsets.push_back(offset);
  }
  for (const int64_t offset : offsets) {
    Command back = SendBack("CG", offset, 16);
    EXPECT_EQ(back.header.status(), proto::BAD_REQUEST) << offset;
    EXPECT_THAT(back.header.remark(),
                ::testing::HasSubstr("not a message a consumer was given"));
  }
  // Long enough for a copy to come through the longest level (2 s).
  absl::SleepFor(absl::Seconds(3));
  EXPECT_TRUE(Pull("%RETRY%CG").empty());
  // The delayed one is delivered once, when due: due by now, but a loaded
  // machine may run the delivery late.
  std::vector<Pulled> delivered = AwaitMessages("T", kTimeout);
  ASSERT_EQ(delivered.size(), 1u);
  EXPECT_EQ(delivered[0].props["UNIQ_KEY"], "D");
}

// Delayed messages stored before the broker's clock stepped back (NTP, a
// VM restored): their store time is ahead of the clock, so they used to wait
// out the step on top of their delay (hours, for a step of hours), and every
// message of their level behind them too. As RocketMQ does, a message due
// later than now + its level's delay is delivered now.
TEST(ScheduleServiceTest, ClockSteppedBackDoesNotHoldDelayedMessages) {
  const std::string root = store::MakeTempDir("schedule-step");
  const int64_t ahead_ms = 24 * 3600 * 1000;
  DelayLevels levels = *DelayLevels::Parse("1s 2s");
  {
    store::StoreHooks hooks;
    hooks.now_ms = [ahead_ms] {
      return absl::ToUnixMillis(absl::Now()) + ahead_ms;
    };
    auto opened =
        store::MessageStore::Open(store::SmallStoreConfig(root), hooks);
    ASSERT_TRUE(opened.ok()) << opened.status();
    MessageToStore m;
    m.topic = "T";
    m.queue_id = 0;
    m.body = "stepped";
    RewriteForDelay(levels, 1, &m);
    ASSERT_TRUE((*opened)->PutOneSync(std::move(m)).ok());
    (*opened)->Shutdown();
  }
  auto opened = store::MessageStore::Open(store::SmallStoreConfig(root));
  ASSERT_TRUE(opened.ok()) << opened.status();
  std::unique_ptr<store::MessageStore> store = *std::move(opened);
  ScheduleService schedule(levels, root + "/delayOffset.json",
                           absl::Seconds(10));
  ASSERT_TRUE(schedule.Load().ok());
  schedule.Start(store.get());
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (schedule.delivered() == 0 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_EQ(schedule.delivered(), 1);
  schedule.Shutdown();
  store->WaitDispatched();
  store::GetResult got = store->Get("T", 0, 0, 32, 1 << 20, {});
  ASSERT_EQ(got.status, store::GetStatus::kFound);
  EXPECT_EQ(got.messages.size(), 1u);
  store->Shutdown();
}

// The progress file must never pass a re-put copy that is not on disk: a
// crash would lose the copy while the file says it was delivered (it used
// to be written every `persist_interval` regardless).
class ScheduleFlushTest : public ::testing::Test {
 protected:
  // A store of `flush_disk_type` whose commit log flushes call `fault`,
  // holding one level-1 delayed message; and a schedule service that
  // would write its progress every 100 ms.
  void SetUp() override {
    root_ = store::MakeTempDir("schedule-flush");
    file_ = root_ + "/delayOffset.json";
  }

  void Open(const std::string& flush_disk_type,
            std::function<absl::Status()> fault) {
    store::StoreConfig config = store::SmallStoreConfig(root_);
    config.flushDiskType = flush_disk_type;
    config.flushCommitLogThoroughInterval = 3600 * 1000;
    store::StoreHooks hooks;
    hooks.flush_fault = std::move(fault);
    auto opened = store::MessageStore::Open(config, hooks);
    ASSERT_TRUE(opened.ok()) << opened.status();
    store_ = *std::move(opened);
    MessageToStore m;
    m.topic = "T";
    m.queue_id = 0;
    m.body = "delayed";
    RewriteForDelay(levels_, 1, &m);
    ASSERT_TRUE(store_->PutOneSync(std::move(m)).ok());
    schedule_ = std::make_unique<ScheduleService>(levels_, file_,
                                                  absl::Milliseconds(100));
    ASSERT_TRUE(schedule_->Load().ok());
  }

  // The file says the message was delivered.
  bool Saved() const {
    absl::StatusOr<std::optional<std::string>> text = ReadFileIfExists(file_);
    return text.ok() && text->has_value() &&
           absl::StrContains(**text, "\"1\":1");
  }

  // Starts delivering; returns once the message was re-put.
  void Deliver() {
    schedule_->Start(store_.get());
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (schedule_->delivered() == 0 && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(10));
    }
    ASSERT_EQ(schedule_->delivered(), 1);
    EXPECT_EQ(schedule_->Offset(1), 1);
  }

  // For 15 times the save gap and persist_interval, and longer than the
  // schedule thread's idle tick (1 s): no progress saved.
  void ExpectNotSavedForAWhile() {
    const absl::Time deadline = absl::Now() + absl::Milliseconds(1500);
    while (absl::Now() < deadline) {
      ASSERT_FALSE(Saved()) << "progress saved past an unflushed copy";
      absl::SleepFor(absl::Milliseconds(10));
    }
  }

  const DelayLevels levels_ = *DelayLevels::Parse("1s");
  std::string root_;
  std::string file_;
  std::unique_ptr<store::MessageStore> store_;
  std::unique_ptr<ScheduleService> schedule_;
};

// ASYNC_FLUSH: the copy sits in the page cache while the flush is held; its
// progress is written soon after the flush goes on, with no wait for the
// flush's own thorough round (the schedule service asks for the flush).
TEST_F(ScheduleFlushTest, SavedProgressWaitsForTheAsyncFlush) {
  absl::Mutex mu;
  bool hold = false;
  Open("ASYNC_FLUSH", [&mu, &hold] {
    absl::MutexLock lock(&mu);
    mu.Await(absl::Condition(
        +[](bool* held) { return !*held; }, &hold));
    return absl::OkStatus();
  });
  {
    absl::MutexLock lock(&mu);
    hold = true;
  }
  Deliver();
  ExpectNotSavedForAWhile();
  {
    absl::MutexLock lock(&mu);
    hold = false;
  }
  const absl::Time deadline = absl::Now() + absl::Seconds(3);
  while (!Saved() && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_TRUE(Saved()) << "progress not saved after the flush";
  schedule_->Shutdown();
  store_->Shutdown();
}

// SYNC_FLUSH: the copy's flush fails, so its put is reported as a flush
// timeout (stored, not on disk) and the store takes no more. Its progress
// is never written, not even at shutdown: after a restart the message is
// delivered again rather than perhaps lost.
TEST_F(ScheduleFlushTest, SavedProgressNeverPassesAnUnflushedSyncCopy) {
  std::atomic<bool> device_error{false};
  // Idle group commit rounds flush nothing and do not fail: the copy's
  // flush is the first to.
  Open("SYNC_FLUSH", [this, &device_error] {
    return device_error.load() &&
                   store_->MaxPhysicalOffset() > store_->FlushedOffset()
               ? absl::DataLossError("injected EIO")
               : absl::OkStatus();
  });
  device_error = true;
  Deliver();
  ExpectNotSavedForAWhile();
  schedule_->Shutdown();
  store_->Shutdown();
  EXPECT_TRUE(schedule_->Persist().ok());
  EXPECT_FALSE(Saved());
}

// `props` with a PAD property making their encoding exactly `size` bytes.
std::map<std::string, std::string> PaddedTo(
    std::map<std::string, std::string> props, size_t size) {
  const size_t without = EncodeProperties(props).size();
  props["PAD"] = std::string(size - without - std::strlen("PAD") - 2, 'p');
  EXPECT_EQ(EncodeProperties(props).size(), size);
  return props;
}

// A producer may send properties only up to kMaxProducerPropertiesSize, so
// the bookkeeping of retries and the DLQ always fits in the record. A
// message sent near the record limit used to be stored, then could be
// neither sent back nor copied to the retry topic: redelivered locally
// without end.
TEST_F(DelayRetryTest, MessageAProducerMaySendCanBeRetriedAndDeadLettered) {
  StartBroker();
  const std::map<std::string, std::string> base = {{"UNIQ_KEY", "UNIQ-1"}};
  Command refused =
      Send("T", "too-big", PaddedTo(base, kMaxProducerPropertiesSize + 1));
  EXPECT_EQ(refused.header.status(), proto::MESSAGE_ILLEGAL);
  EXPECT_THAT(refused.header.remark(),
              ::testing::HasSubstr(absl::StrCat(kMaxProducerPropertiesSize,
                                                " bytes a message may carry")));

  ASSERT_EQ(Send("T", "biggest", PaddedTo(base, kMaxProducerPropertiesSize))
                .header.status(),
            proto::SUCCESS);
  std::vector<Pulled> original = AwaitMessages("T", absl::Seconds(5));
  ASSERT_EQ(original.size(), 1u);
  EXPECT_EQ(original[0].body, "biggest");
  Command back = SendBack("CG", original[0].physical_offset, 1);
  ASSERT_EQ(back.header.status(), proto::SUCCESS) << back.header.remark();
  std::vector<Pulled> retry = AwaitMessages("%RETRY%CG", absl::Seconds(10));
  ASSERT_EQ(retry.size(), 1u);
  EXPECT_EQ(retry[0].props["PAD"], original[0].props["PAD"]);
  back = SendBack("CG", retry[0].physical_offset, 1);
  ASSERT_EQ(back.header.status(), proto::SUCCESS) << back.header.remark();
  std::vector<Pulled> dlq = AwaitMessages("%DLQ%CG", absl::Seconds(5));
  ASSERT_EQ(dlq.size(), 1u);
  EXPECT_EQ(dlq[0].body, "biggest");
  EXPECT_EQ(dlq[0].props["PAD"], original[0].props["PAD"]);
  EXPECT_EQ(dlq[0].props["RETRY_TOPIC"], "T");
}

// A message already too big for a retry's delay bookkeeping (a consumer's
// copy sent to the retry topic, or a record stored before the producer
// limit) goes to the DLQ, which needs none, instead of being refused.
TEST_F(DelayRetryTest, MessageWithNoRoomForADelayGoesToTheDlq) {
  StartBroker();
  // As a consumer's copy: delayed. No room for REAL_TOPIC and REAL_QID.
  const std::map<std::string, std::string> props =
      PaddedTo({{"UNIQ_KEY", "UNIQ-1"},
                {"DELAY", "3"},
                {"RETRY_TOPIC", "T"},
                {"ORIGIN_MESSAGE_ID", "UNIQ-1"},
                {"RECONSUME_TIME", "1"}},
               kMaxRecordPropertiesSize - 30);
  Command sent = Send("%RETRY%CG", "copy", props, /*reconsume_times=*/1,
                      /*max_reconsume_times=*/5);
  ASSERT_EQ(sent.header.status(), proto::SUCCESS) << sent.header.remark();
  std::vector<Pulled> dlq = AwaitMessages("%DLQ%CG", absl::Seconds(5));
  ASSERT_EQ(dlq.size(), 1u);
  EXPECT_EQ(dlq[0].body, "copy");
  EXPECT_EQ(dlq[0].props["PAD"], props.at("PAD"));
  EXPECT_TRUE(Pull("%RETRY%CG").empty());

  // A consumer of the DLQ fails it: its send-back has no room for the
  // delay bookkeeping either.
  Command back = SendBack("CG", dlq[0].physical_offset, 5);
  ASSERT_EQ(back.header.status(), proto::SUCCESS) << back.header.remark();
  dlq = AwaitMessages("%DLQ%CG", absl::Seconds(5), 2);
  ASSERT_EQ(dlq.size(), 2u);
  EXPECT_EQ(dlq[1].body, "copy");
  EXPECT_EQ(dlq[1].reconsume_times, 2);
  EXPECT_EQ(dlq[1].props["RETRY_TOPIC"], "T");
  EXPECT_EQ(dlq[1].props.count("DELAY"), 0u);
  EXPECT_TRUE(Pull("%RETRY%CG").empty());
}

// The first topic of a sent-back message comes from its record (its
// RETRY_TOPIC, else its topic), as in RocketMQ; a client naming another
// topic could otherwise move a message into that topic's retry flow.
TEST_F(DelayRetryTest, SendBackTakesTheOriginalTopicFromTheRecord) {
  StartBroker();
  ASSERT_EQ(Send("T", "mine", {{"UNIQ_KEY", "UNIQ-1"}}).header.status(),
            proto::SUCCESS);
  std::vector<Pulled> original = AwaitMessages("T", absl::Seconds(5));
  ASSERT_EQ(original.size(), 1u);
  Command back = SendBack("CG", original[0].physical_offset, 1, "Other");
  ASSERT_EQ(back.header.status(), proto::SUCCESS) << back.header.remark();
  std::vector<Pulled> retry = AwaitMessages("%RETRY%CG", absl::Seconds(10));
  ASSERT_EQ(retry.size(), 1u);
  EXPECT_EQ(retry[0].props["RETRY_TOPIC"], "T");
  // Failing again on the retry topic: still its first topic, whatever the
  // client says (here the retry topic itself).
  back = SendBack("CG", retry[0].physical_offset, 1, "%RETRY%CG");
  ASSERT_EQ(back.header.status(), proto::SUCCESS) << back.header.remark();
  std::vector<Pulled> dlq = AwaitMessages("%DLQ%CG", absl::Seconds(5));
  ASSERT_EQ(dlq.size(), 1u);
  EXPECT_EQ(dlq[0].props["RETRY_TOPIC"], "T");
}

TEST_F(DelayRetryTest, SendBackOfUnknownOffsetFails) {
  StartBroker();
  EXPECT_NE(SendBack("CG", 1 << 30, 1).header.status(), proto::SUCCESS);
}

}  // namespace
}  // namespace cometmq::broker
