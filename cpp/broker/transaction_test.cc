// Transactional messages: the half/op record helpers, the check service on a
// real store, and the broker over the wire (half invisible until committed,
// commit, rollback, check-back, restart).
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "cpp/broker/broker_config.h"
#include "cpp/broker/broker_controller.h"
#include "cpp/broker/broker_test_util.h"
#include "cpp/broker/consumer_offset_manager.h"
#include "cpp/broker/end_transaction_processor.h"
#include "cpp/broker/thread_pool.h"
#include "cpp/broker/transaction_check_service.h"
#include "cpp/broker/transactional_message.h"
#include "cpp/common/eventually.h"
#include "cpp/common/message_record.h"
#include "cpp/namesrv/name_server.h"
#include "cpp/remoting/remoting_client.h"
#include "cpp/remoting/remoting_server.h"
#include "cpp/store/message_store.h"
#include "cpp/store/store_test_util.h"
#include "gtest/gtest.h"

namespace cometmq::broker {
namespace {

using remoting::Command;
using remoting::MakeRequest;

constexpr absl::Duration kTimeout = absl::Seconds(10);

MessageToStore Prepared(const std::string& body, const std::string& id) {
  MessageToStore m;
  m.topic = "T";
  m.queue_id = 2;
  m.body = body;
  m.born_timestamp = 1000;
  m.properties = EncodeProperties({{"TRAN_MSG", "true"},
                                   {"PGROUP", "PG"},
                                   {"UNIQ_KEY", id},
                                   {"KEYS", "k"},
                                   {"TAGS", "A"}});
  return m;
}

TEST(TransactionalMessageTest, HalfKeepsTheRealQueueAndCommitRestoresIt) {
  MessageToStore m = Prepared("b", "ID1");
  m.sys_flag = kTransactionPreparedType | kSysFlagCompressed;
  RewriteForHalf(&m);
  EXPECT_EQ(m.topic, kTransHalfTopic);
  EXPECT_EQ(m.queue_id, 0);
  // Not "prepared" any more, so the half topic's consume queue indexes it.
  EXPECT_EQ(TransactionType(m.sys_flag), kTransactionNotType);
  EXPECT_EQ(m.sys_flag & kSysFlagCompressed, kSysFlagCompressed);

  std::string bytes(static_cast<size_t>(RecordSize(m)), '\0');
  StoreStamp stamp;
  stamp.physical_offset = 777;
  stamp.queue_offset = 5;
  EncodeRecord(m, stamp, bytes.data());
  RecordView half;
  ASSERT_EQ(DecodeRecord(bytes.data(), static_cast<int64_t>(bytes.size()), true,
                         &half),
            DecodeResult::kRecord);
  EXPECT_EQ(TransactionIdOf(half), "ID1");
  EXPECT_EQ(CheckTimesOf(half), 0);

  MessageToStore real;
  ASSERT_TRUE(RestoreFromHalf(half, &real));
  EXPECT_EQ(real.topic, "T");
  EXPECT_EQ(real.queue_id, 2);
  EXPECT_EQ(TransactionType(real.sys_flag), kTransactionCommitType);
  EXPECT_EQ(real.prepared_tx_offset, 777);
  EXPECT_EQ(real.born_timestamp, 1000);
  EXPECT_EQ(DecodeProperties(real.properties),
            (std::map<std::string, std::string>{{"KEYS", "k"},
                                                {"PGROUP", "PG"},
                                                {"TAGS", "A"},
                                                {"UNIQ_KEY", "ID1"}}));
}

TEST(TransactionalMessageTest, OpRecordsRoundTrip) {
  MessageToStore op = MakeOpMessage(42, "ID1");
  EXPECT_EQ(op.topic, kTransOpHalfTopic);
  EXPECT_EQ(op.body, "42");
  std::string bytes(static_cast<size_t>(RecordSize(op)), '\0');
  EncodeRecord(op, StoreStamp{}, bytes.data());
  RecordView view;
  ASSERT_EQ(DecodeRecord(bytes.data(), static_cast<int64_t>(bytes.size()), true,
                         &view),
            DecodeResult::kRecord);
  std::optional<OpEntry> parsed = ParseOp(view);
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->half_queue_offset, 42);
  EXPECT_EQ(parsed->transaction_id, "ID1");

  MessageToStore bad = MakeOpMessage(1, "");
  bad.body = "x";
  bytes.assign(static_cast<size_t>(RecordSize(bad)), '\0');
  EncodeRecord(bad, StoreStamp{}, bytes.data());
  ASSERT_EQ(DecodeRecord(bytes.data(), static_cast<int64_t>(bytes.size()), true,
                         &view),
            DecodeResult::kRecord);
  EXPECT_FALSE(ParseOp(view).has_value());
}

// The check service on a real store, with the producer side recorded.
class CheckServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = store::MakeTempDir("txcheck");
    Open();
  }

  void Open() {
    store::StoreConfig config = store::SmallStoreConfig(root_);
    if (!flush_disk_type_.empty()) config.flushDiskType = flush_disk_type_;
    absl::StatusOr<std::unique_ptr<store::MessageStore>> opened =
        store::MessageStore::Open(config, hooks_);
    ASSERT_TRUE(opened.ok()) << opened.status();
    store_ = *std::move(opened);
    offsets_ = std::make_unique<ConsumerOffsetManager>(root_ + "/offsets");
    ASSERT_TRUE(offsets_->Load().ok());
    TransactionCheckOptions options;
    options.timeout = absl::Seconds(6);
    options.check_max = 3;
    service_ = std::make_unique<TransactionCheckService>(
        options, offsets_.get(),
        [this](const std::string& group, Command c) {
          absl::MutexLock lock(&mu_);
          sent_.push_back({group, std::move(c)});
          return online_;
        },
        [this] {
          absl::MutexLock lock(&mu_);
          ++discard_topic_creations_;
          return discard_topic_status_;
        });
    service_->SetStore(store_.get());
  }

  void Reopen() {
    service_.reset();
    store_->Shutdown();
    store_.reset();
    Open();
  }

  // Stores a half born at `born_ms`; returns its half queue offset.
  int64_t PutHalf(const std::string& id, int64_t born_ms) {
    MessageToStore m = Prepared("body-" + id, id);
    m.born_timestamp = born_ms;
    RewriteForHalf(&m);
    std::vector<MessageToStore> one;
    one.push_back(std::move(m));
    store::PutResult put = store_->PutSync(std::move(one));
    EXPECT_TRUE(put.ok()) << put.error;
    store_->WaitDispatched();
    return put.queue_offset;
  }

  void PutOp(int64_t half_offset, const std::string& id) {
    std::vector<MessageToStore> one;
    one.push_back(MakeOpMessage(half_offset, id));
    ASSERT_TRUE(store_->PutSync(std::move(one)).ok());
    store_->WaitDispatched();
  }

  int Round(int64_t now_ms) {
    const int sent = service_->CheckOnce(now_ms);
    store_->WaitDispatched();
    return sent;
  }

  // Ids of the checks sent so far, in order, and clears them.
  std::vector<std::string> TakeChecked() {
    absl::MutexLock lock(&mu_);
    std::vector<std::string> ids;
    for (const auto& [group, check] : sent_) {
      EXPECT_EQ(group, "PG");
      EXPECT_EQ(check.header.code(), proto::CHECK_TRANSACTION_STATE);
      EXPECT_TRUE(check.is_oneway());
      const auto& req = check.header.check_transaction_state();
      RecordView half;
      EXPECT_EQ(
          DecodeRecord(check.body.data(),
                       static_cast<int64_t>(check.body.size()), true, &half),
          DecodeResult::kRecord);
      // The request points at the copy it carries.
      EXPECT_EQ(half.queue_offset, req.tran_state_table_offset());
      EXPECT_EQ(half.physical_offset, req.commit_log_offset());
      EXPECT_EQ(TransactionIdOf(half), req.transaction_id());
      EXPECT_EQ(req.producer_group(), "PG");
      ids.push_back(
          absl::StrCat(req.transaction_id(), "#", CheckTimesOf(half)));
    }
    sent_.clear();
    return ids;
  }

  std::string root_;
  std::string flush_disk_type_;  // SmallStoreConfig's unless set
  store::StoreHooks hooks_;
  std::unique_ptr<store::MessageStore> store_;
  std::unique_ptr<ConsumerOffsetManager> offsets_;
  std::unique_ptr<TransactionCheckService> service_;
  absl::Mutex mu_;
  std::vector<std::pair<std::string, Command>> sent_ ABSL_GUARDED_BY(mu_);
  bool online_ ABSL_GUARDED_BY(mu_) = true;
  int discard_topic_creations_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Status discard_topic_status_ ABSL_GUARDED_BY(mu_);
};

TEST_F(CheckServiceTest, ChecksOnlyOldUnendedHalves) {
  const int64_t now = absl::ToUnixMillis(absl::Now());
  const int64_t ended = PutHalf("ENDED", now - 60000);
  PutHalf("OPEN", now - 60000);
  PutHalf("YOUNG", now - 1000);
  PutOp(ended, "ENDED");

  EXPECT_EQ(Round(now), 1);
  EXPECT_EQ(TakeChecked(), std::vector<std::string>{"OPEN#1"});
  // Progress stops at the young half; the op of ENDED stays until the
  // progress has passed every half this round saw (copies of ENDED could be
  // among them).
  EXPECT_EQ(offsets_->Query(kTransCheckGroup, kTransHalfTopic, 0), 2);
  EXPECT_EQ(offsets_->Query(kTransCheckGroup, kTransOpHalfTopic, 0), 0);

  // Six seconds later both are due; OPEN's copy is checked again, and the
  // op of ENDED is passed.
  EXPECT_EQ(Round(now + 6000), 2);
  EXPECT_EQ(TakeChecked(), (std::vector<std::string>{"YOUNG#1", "OPEN#2"}));
  EXPECT_EQ(offsets_->Query(kTransCheckGroup, kTransOpHalfTopic, 0), 1);
}

TEST_F(CheckServiceTest, DiscardsAfterCheckMaxAndSkipsEndedCopies) {
  const int64_t now = absl::ToUnixMillis(absl::Now());
  PutHalf("A", now - 60000);
  PutHalf("B", now - 60000);
  EXPECT_EQ(Round(now), 2);
  EXPECT_EQ(TakeChecked(), (std::vector<std::string>{"A#1", "B#1"}));
  // B is ended on its first (original) half: its copy is never checked.
  PutOp(1, "B");
  for (int i = 2; i <= 3; ++i) {
    EXPECT_EQ(Round(now), 1);
    EXPECT_EQ(TakeChecked(), std::vector<std::string>{absl::StrCat("A#", i)});
  }
  // The third copy of A is due for discarding, but its topic cannot be
  // made: nothing is discarded and the walk stops there.
  {
    absl::MutexLock lock(&mu_);
    discard_topic_status_ = absl::InternalError("no topic today");
  }
  const std::optional<int64_t> progress =
      offsets_->Query(kTransCheckGroup, kTransHalfTopic, 0);
  EXPECT_EQ(Round(now), 0);
  EXPECT_EQ(service_->discarded(), 0);
  EXPECT_EQ(offsets_->Query(kTransCheckGroup, kTransHalfTopic, 0), progress);
  {
    absl::MutexLock lock(&mu_);
    discard_topic_status_ = absl::OkStatus();
  }
  EXPECT_EQ(Round(now), 0);  // now it is discarded
  EXPECT_EQ(service_->discarded(), 1);
  EXPECT_EQ(service_->checks(), 4);
  EXPECT_EQ(Round(now), 0);
  EXPECT_EQ(service_->discarded(), 1);
  EXPECT_TRUE(TakeChecked().empty());
  EXPECT_EQ(offsets_->Query(kTransCheckGroup, kTransHalfTopic, 0),
            store_->MaxOffsetInQueue(kTransHalfTopic, 0));

  // A is readable, once, on TRANS_CHECK_MAX_TIME_TOPIC with its real topic.
  store::GetResult got =
      store_->Get(kTransCheckMaxTimeTopic, 0, 0, 32, 1 << 20, {});
  ASSERT_EQ(got.status, store::GetStatus::kFound);
  ASSERT_EQ(got.messages.size(), 1u);
  RecordView copy;
  ASSERT_EQ(
      DecodeRecord(got.messages[0].data, got.messages[0].size, true, &copy),
      DecodeResult::kRecord);
  EXPECT_EQ(copy.body, "body-A");
  EXPECT_EQ(TransactionIdOf(copy), "A");
  EXPECT_EQ(CheckTimesOf(copy), 3);
  EXPECT_EQ(FindProperty(copy.properties, kPropertyRealTopic).value_or(""),
            "T");
  absl::MutexLock lock(&mu_);
  EXPECT_EQ(discard_topic_creations_, 2);
}

TEST_F(CheckServiceTest, ChecksCountWithoutProducerAndSurviveRestart) {
  {
    absl::MutexLock lock(&mu_);
    online_ = false;
  }
  const int64_t now = absl::ToUnixMillis(absl::Now());
  PutHalf("A", now - 60000);
  EXPECT_EQ(Round(now), 0);  // counted, but nobody to ask
  EXPECT_EQ(service_->checks(), 1);
  TakeChecked();

  // Progress and the count come back from disk: the next check is the 2nd.
  Reopen();
  {
    absl::MutexLock lock(&mu_);
    online_ = true;
  }
  EXPECT_EQ(Round(now), 1);
  EXPECT_EQ(TakeChecked(), std::vector<std::string>{"A#2"});
}

// A half born "in the future" (its producer's clock is ahead of the
// broker's, or it sent a bogus born timestamp) looked younger than
// transactionTimeOut for as long as that lasted, and since the first young
// half ends the walk, no half behind it was ever checked either. Its age is
// now taken from the broker's own store time when the born time is ahead.
TEST_F(CheckServiceTest, HalfBornInTheFutureDoesNotHoldBackTheWalk) {
  const int64_t now = absl::ToUnixMillis(absl::Now());
  PutHalf("FUTURE", now + 24 * 3600 * 1000);
  PutHalf("OPEN", now - 60000);
  // Young by its store time: not checked yet, and holds the walk back.
  EXPECT_EQ(Round(now), 0);
  // Once transactionTimeOut has passed since it was stored, both are.
  EXPECT_EQ(Round(now + 7000), 2);
  EXPECT_EQ(TakeChecked(), (std::vector<std::string>{"FUTURE#1", "OPEN#1"}));
}

// More op records than one read holds: a half ended by an op past the
// first read was checked as if open, and its producer's COMMIT answer (once
// END_TRANSACTION had forgotten the id, or after a restart) delivered it a
// second time. At the default 100000 ops a read, about 2500 transactions a
// second between two rounds did it. A producer that ends the checked
// transaction during the round must not be asked again either.
TEST_F(CheckServiceTest, HalvesEndedPastOneOpReadAreNotChecked) {
  TransactionCheckOptions options;
  options.timeout = absl::Seconds(6);
  options.check_max = 3;
  options.op_read_batch = 2;
  service_ = std::make_unique<TransactionCheckService>(
      options, offsets_.get(),
      [this](const std::string& group, Command c) {
        // The producer answers at once: the copy checked is ended.
        const auto& req = c.header.check_transaction_state();
        PutOp(req.tran_state_table_offset(), req.transaction_id());
        absl::MutexLock lock(&mu_);
        sent_.push_back({group, std::move(c)});
        return true;
      },
      [] { return absl::OkStatus(); });
  service_->SetStore(store_.get());
  const int64_t now = absl::ToUnixMillis(absl::Now());
  PutHalf("A", now - 60000);
  for (const std::string id : {"B", "C", "D"}) {
    PutOp(PutHalf(id, now - 60000), id);
  }
  EXPECT_EQ(Round(now), 1);
  EXPECT_EQ(TakeChecked(), std::vector<std::string>{"A#1"});
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(Round(now), 0);
    EXPECT_TRUE(TakeChecked().empty());
  }
  EXPECT_EQ(service_->discarded(), 0);
  // Everything ended is behind the progress now.
  EXPECT_EQ(offsets_->Query(kTransCheckGroup, kTransHalfTopic, 0),
            store_->MaxOffsetInQueue(kTransHalfTopic, 0));
  EXPECT_EQ(offsets_->Query(kTransCheckGroup, kTransOpHalfTopic, 0),
            store_->MaxOffsetInQueue(kTransOpHalfTopic, 0));
}

// A half whose properties leave no room for the check count cannot be
// appended again for a check. It is discarded (its copy needs no count)
// instead of stopping every round at it, which left every later half
// unchecked for good.
TEST_F(CheckServiceTest, HalfThatCannotBeCopiedIsDiscardedNotInTheWay) {
  const int64_t now = absl::ToUnixMillis(absl::Now());
  MessageToStore big = Prepared("body-BIG", "BIG");
  big.born_timestamp = now - 60000;
  RewriteForHalf(&big);
  std::map<std::string, std::string> props = DecodeProperties(big.properties);
  const std::string encoded = EncodeProperties(props);
  // Room left for 4 bytes: the count ("TRANSACTION_CHECK_TIMES", "1") takes
  // more.
  props["PAD"] = std::string(
      32767 - kCrcPropertySize - encoded.size() - std::strlen("PAD") - 2 - 4,
      'p');
  big.properties = EncodeProperties(props);
  std::vector<MessageToStore> one;
  one.push_back(std::move(big));
  ASSERT_TRUE(store_->PutSync(std::move(one)).ok());
  PutHalf("AFTER", now - 60000);

  EXPECT_EQ(Round(now), 1);
  EXPECT_EQ(TakeChecked(), std::vector<std::string>{"AFTER#1"});
  EXPECT_EQ(service_->discarded(), 1);
  store::GetResult got =
      store_->Get(kTransCheckMaxTimeTopic, 0, 0, 32, 1 << 20, {});
  ASSERT_EQ(got.status, store::GetStatus::kFound);
  ASSERT_EQ(got.messages.size(), 1u);
  RecordView copy;
  ASSERT_EQ(
      DecodeRecord(got.messages[0].data, got.messages[0].size, true, &copy),
      DecodeResult::kRecord);
  EXPECT_EQ(copy.body, "body-BIG");
  // Not asked about again.
  EXPECT_EQ(Round(now), 1);
  EXPECT_EQ(TakeChecked(), std::vector<std::string>{"AFTER#2"});
}

// END_TRANSACTION served over the wire on the check service's store, so a
// test decides exactly when rounds run and answers arrive.
class EndAndCheckTest : public CheckServiceTest {
 protected:
  void SetUp() override {
    CheckServiceTest::SetUp();
    StartEnd();
    server_ =
        std::make_unique<remoting::RemotingServer>(remoting::ServerOptions{});
    server_->RegisterHandler(
        proto::END_TRANSACTION,
        [this](Command&& request, remoting::Responder responder) {
          end_->Handle(std::move(request), std::move(responder));
        });
    ASSERT_TRUE(server_->Start().ok());
  }

  void TearDown() override {
    client_.Shutdown();
    server_->Stop();
    pool_->Shutdown();
  }

  void StartEnd() {
    pool_ = std::make_unique<ThreadPool>("test-end", 1, 16);
    end_ = std::make_unique<EndTransactionProcessor>(config_, store_.get(),
                                                     pool_.get());
  }

  // A broker restart: the store, the check service and END_TRANSACTION
  // start again from what is on disk.
  void Restart() {
    pool_->Shutdown();
    end_.reset();
    Reopen();
    StartEnd();
  }

  // Bodies stored on the real topic T.
  std::vector<std::string> Delivered() {
    std::vector<std::string> bodies;
    for (int32_t queue = 0; queue < 4; ++queue) {
      store::GetResult got = store_->Get("T", queue, 0, 32, 1 << 20, {});
      for (const store::RecordSlice& slice : got.messages) {
        RecordView view;
        EXPECT_EQ(DecodeRecord(slice.data, slice.size, true, &view),
                  DecodeResult::kRecord);
        bodies.push_back(std::string(view.body));
      }
    }
    return bodies;
  }

  // Ends the half at `queue_offset` (found in the store) with `type`.
  Command End(int64_t queue_offset, int32_t type) {
    absl::StatusOr<Command> response =
        client_.InvokeSync(address(), EndRequest(queue_offset, type), kTimeout);
    EXPECT_TRUE(response.ok()) << response.status();
    store_->WaitDispatched();
    return response.ok() ? *std::move(response) : Command{};
  }

  std::string address() const {
    return absl::StrCat("127.0.0.1:", server_->port());
  }

  // END_TRANSACTION of the half at `queue_offset` with `type`.
  Command EndRequest(int64_t queue_offset, int32_t type) {
    store::GetResult got =
        store_->Get(kTransHalfTopic, 0, queue_offset, 1, 1 << 20, {});
    EXPECT_EQ(got.status, store::GetStatus::kFound);
    RecordView half;
    EXPECT_EQ(DecodeRecord(got.messages.at(0).data, got.messages.at(0).size,
                           true, &half),
              DecodeResult::kRecord);
    Command request = MakeRequest(proto::END_TRANSACTION);
    proto::EndTransactionRequest* end =
        request.header.mutable_end_transaction();
    end->set_producer_group("PG");
    end->set_tran_state_table_offset(half.queue_offset);
    end->set_commit_log_offset(half.physical_offset);
    end->set_commit_or_rollback(type);
    return request;
  }

  BrokerConfig config_;
  std::unique_ptr<ThreadPool> pool_;
  std::unique_ptr<EndTransactionProcessor> end_;
  std::unique_ptr<remoting::RemotingServer> server_;
  remoting::RemotingClient client_;
};

// The producer ends a transaction on its first half while a check of a copy
// is under way, and a younger half holds the walk back. The op record must
// not be passed before the copy is: it used to be, and the copy was then
// checked on every round until transactionCheckMax and discarded, though
// the transaction was ended (the answers to those checks only met
// END_TRANSACTION's memory of it).
TEST_F(EndAndCheckTest, CopyOfATransactionEndedMeanwhileIsNotCheckedAgain) {
  for (const int32_t type :
       {kTransactionCommitType, kTransactionRollbackType}) {
    SCOPED_TRACE(type);
    const std::string id = absl::StrCat("A", type);
    const int64_t now = absl::ToUnixMillis(absl::Now());
    const int64_t first = PutHalf(id, now - 60000);
    PutHalf(absl::StrCat("Y", type), now - 1000);
    EXPECT_EQ(Round(now), 1);
    EXPECT_EQ(TakeChecked(), std::vector<std::string>{id + "#1"});
    const int64_t copy = store_->MaxOffsetInQueue(kTransHalfTopic, 0) - 1;

    ASSERT_EQ(End(first, type).header.status(), proto::SUCCESS);
    EXPECT_EQ(Round(now), 0);  // the young half still holds the walk
    ASSERT_EQ(End(copy, type).header.status(), proto::SUCCESS);

    // Once the young half is due, only it is checked; again and again.
    for (int i = 1; i <= 2; ++i) {
      EXPECT_EQ(Round(now + 6000), 1);
      EXPECT_EQ(TakeChecked(),
                std::vector<std::string>{absl::StrCat("Y", type, "#", i)});
    }
    // Y is ended too, so the next transaction starts from a clean queue.
    End(store_->MaxOffsetInQueue(kTransHalfTopic, 0) - 1, type);
    EXPECT_EQ(Round(now + 6000), 0);
  }
  EXPECT_EQ(service_->discarded(), 0);
  // A and Y of each round, each ended once.
  EXPECT_EQ(end_->committed(), 2);
  EXPECT_EQ(end_->rolled_back(), 2);
}

// As above, with a broker restart before the young half is due: what
// END_TRANSACTION remembered is gone, so a check of the copy answered
// COMMIT would deliver the message a second time.
TEST_F(EndAndCheckTest, EndedTransactionIsNotAskedAgainAfterRestart) {
  const int64_t now = absl::ToUnixMillis(absl::Now());
  const int64_t first = PutHalf("A", now - 60000);
  PutHalf("Y", now - 1000);
  EXPECT_EQ(Round(now), 1);
  EXPECT_EQ(TakeChecked(), std::vector<std::string>{"A#1"});
  ASSERT_EQ(End(first, kTransactionCommitType).header.status(), proto::SUCCESS);
  EXPECT_EQ(Round(now), 0);
  EXPECT_EQ(Delivered(), std::vector<std::string>{"body-A"});

  Restart();
  EXPECT_EQ(Round(now + 6000), 1);
  EXPECT_EQ(TakeChecked(), std::vector<std::string>{"Y#1"});
  EXPECT_EQ(Round(now + 6000), 1);
  EXPECT_EQ(TakeChecked(), std::vector<std::string>{"Y#2"});
  EXPECT_EQ(Delivered(), std::vector<std::string>{"body-A"});
}

// SYNC_FLUSH with the commit log's flushes held while `hold_` is set.
class HeldFlushEndTest : public EndAndCheckTest {
 protected:
  void SetUp() override {
    flush_disk_type_ = "SYNC_FLUSH";
    hooks_.flush_fault = [this] {
      absl::MutexLock lock(&hold_mu_);
      hold_mu_.Await(absl::Condition(
          +[](bool* hold) { return !*hold; }, &hold_));
      return absl::OkStatus();
    };
    EndAndCheckTest::SetUp();
  }
  void TearDown() override {
    Hold(false);
    EndAndCheckTest::TearDown();
  }
  void Hold(bool hold) {
    absl::MutexLock lock(&hold_mu_);
    hold_ = hold;
  }

  absl::Mutex hold_mu_;
  bool hold_ ABSL_GUARDED_BY(hold_mu_) = false;
};

// A commit's real message never reaches the commit log without its op
// record, not even for the time of a SYNC_FLUSH flush: a broker killed then
// keeps both or neither (the page cache survives a killed process), so the
// restarted check service never asks about a transaction it committed and
// never delivers its message twice.
TEST_F(HeldFlushEndTest, ACommitsRealMessageAndOpReachTheLogTogether) {
  const int64_t half = PutHalf("A", absl::ToUnixMillis(absl::Now()) - 60000);
  Hold(true);
  const int64_t before = store_->MaxPhysicalOffset();
  struct Answer {
    absl::Mutex mu;
    std::optional<absl::StatusOr<Command>> response ABSL_GUARDED_BY(mu);
  };
  auto answer = std::make_shared<Answer>();
  client_.InvokeAsync(address(), EndRequest(half, kTransactionCommitType),
                      kTimeout, [answer](absl::StatusOr<Command> response) {
                        absl::MutexLock lock(&answer->mu);
                        answer->response = std::move(response);
                      });
  ASSERT_TRUE(Eventually([&] { return store_->MaxPhysicalOffset() > before; }));
  store::RecordSlice real, op;
  ASSERT_TRUE(store_->ReadRecord(before, &real));
  RecordView view;
  ASSERT_EQ(DecodeRecord(real.data, real.size, true, &view),
            DecodeResult::kRecord);
  EXPECT_EQ(view.topic, "T");
  ASSERT_TRUE(store_->ReadRecord(before + real.size, &op))
      << "the real message is in the log, unflushed, without its op";
  ASSERT_EQ(DecodeRecord(op.data, op.size, true, &view), DecodeResult::kRecord);
  EXPECT_EQ(view.topic, kTransOpHalfTopic);
  {
    absl::MutexLock lock(&answer->mu);
    EXPECT_FALSE(answer->response.has_value()) << "answered before the flush";
  }
  Hold(false);
  ASSERT_TRUE(Eventually([&] {
    absl::MutexLock lock(&answer->mu);
    return answer->response.has_value();
  }));
  absl::MutexLock lock(&answer->mu);
  ASSERT_TRUE(answer->response->ok()) << answer->response->status();
  EXPECT_EQ((*answer->response)->header.status(), proto::SUCCESS);
  EXPECT_EQ(end_->committed(), 1);
}

// The broker in-process, driven over the wire; transactionTimeOut 0 and a
// short check interval so check-backs happen within the test.
class TransactionBrokerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    namesrv_ = StartLoopbackNameServer();
    ASSERT_NE(namesrv_, nullptr);
    config_ = LoopbackBrokerConfig(*namesrv_, "txbroker");
    config_.transactionTimeOut = 0;
    config_.transactionCheckInterval = 200;
    config_.transactionCheckMax = 1000;
  }

  void TearDown() override {
    if (broker_ != nullptr) broker_->Shutdown();
    producer_.Shutdown();
    client_.Shutdown();
    namesrv_->Stop();
  }

  void StartBroker() {
    broker_ = std::make_unique<BrokerController>(config_);
    ASSERT_TRUE(broker_->Start().ok());
    // The restarted broker serves another port: keep using the new one.
    addr_ = broker_->broker_addr();
  }

  Command Call(remoting::RemotingClient* client, Command request) {
    absl::StatusOr<Command> response =
        client->InvokeSync(addr_, std::move(request), kTimeout);
    EXPECT_TRUE(response.ok()) << response.status();
    return response.ok() ? *std::move(response) : Command{};
  }

  // A half for topic T queue 0; returns the send answer.
  Command SendHalf(const std::string& body, const std::string& id) {
    Command request = MakeRequest(proto::SEND_MESSAGE);
    proto::SendMessageRequest* send = request.header.mutable_send_message();
    send->set_producer_group("PG");
    send->set_topic("T");
    send->set_queue_id(0);
    send->set_sys_flag(kTransactionPreparedType);
    send->set_born_timestamp(absl::ToUnixMillis(absl::Now()));
    send->set_properties(EncodeProperties(
        {{"TRAN_MSG", "true"}, {"PGROUP", "PG"}, {"UNIQ_KEY", id}}));
    request.body = body;
    return Call(&client_, std::move(request));
  }

  static Command End(int64_t queue_offset, int64_t commit_log_offset,
                     int32_t type, const std::string& group = "PG") {
    Command request = MakeRequest(proto::END_TRANSACTION);
    proto::EndTransactionRequest* end =
        request.header.mutable_end_transaction();
    end->set_producer_group(group);
    end->set_tran_state_table_offset(queue_offset);
    end->set_commit_log_offset(commit_log_offset);
    end->set_commit_or_rollback(type);
    return request;
  }

  Command EndHalf(const Command& sent, int32_t type,
                  const std::string& group = "PG") {
    const proto::SendMessageResponse& r = sent.header.send_message_response();
    int64_t offset = 0;
    EXPECT_TRUE(ParseOffsetMessageId(r.msg_id(), &offset));
    return Call(&client_, End(r.queue_offset(), offset, type, group));
  }

  // Bodies on queue 0 of T.
  std::vector<std::string> Pull() {
    Command request = MakeRequest(proto::PULL_MESSAGE);
    proto::PullMessageRequest* pull = request.header.mutable_pull_message();
    pull->set_consumer_group("CG");
    pull->set_topic("T");
    pull->set_queue_id(0);
    pull->set_max_msg_nums(32);
    pull->set_subscription("*");
    pull->set_commit_offset(-1);
    Command response = Call(&client_, std::move(request));
    std::vector<std::string> bodies;
    if (response.header.status() != proto::SUCCESS) return bodies;
    for (const RecordView& view : DecodeRecords(response.body)) {
      EXPECT_EQ(FindProperty(view.properties, "TRAN_MSG"), std::nullopt);
      EXPECT_EQ(TransactionType(view.sys_flag), kTransactionCommitType);
      bodies.push_back(std::string(view.body));
    }
    return bodies;
  }

  std::vector<std::string> AwaitPull(size_t count) {
    const absl::Time deadline = absl::Now() + kTimeout;
    std::vector<std::string> got = Pull();
    while (got.size() < count && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(20));
      got = Pull();
    }
    return got;
  }

  // A producer of group PG that answers checks with `answer_`.
  void StartProducer() {
    producer_.RegisterHandler(
        proto::CHECK_TRANSACTION_STATE,
        [this](const std::string& addr, Command check) {
          const auto& req = check.header.check_transaction_state();
          RecordView half;
          EXPECT_EQ(DecodeRecord(check.body.data(),
                                 static_cast<int64_t>(check.body.size()), true,
                                 &half),
                    DecodeResult::kRecord);
          int32_t answer;
          {
            absl::MutexLock lock(&mu_);
            checked_.push_back(
                absl::StrCat(req.transaction_id(), "#", CheckTimesOf(half)));
            answer = answer_;
          }
          Command end = End(req.tran_state_table_offset(),
                            req.commit_log_offset(), answer);
          end.header.mutable_end_transaction()->set_from_transaction_check(
              true);
          producer_.InvokeAsync(addr, std::move(end), kTimeout,
                                [](absl::StatusOr<Command>) {});
        });
    Heartbeat();
  }

  void Heartbeat() {
    Command hb = MakeRequest(proto::HEART_BEAT);
    hb.header.mutable_heartbeat()->set_client_id("producer-1");
    hb.header.mutable_heartbeat()->add_producers()->set_group("PG");
    ASSERT_EQ(Call(&producer_, std::move(hb)).header.status(), proto::SUCCESS);
  }

  size_t Checks() {
    absl::MutexLock lock(&mu_);
    return checked_.size();
  }

  std::unique_ptr<namesrv::NameServer> namesrv_;
  BrokerConfig config_;
  std::unique_ptr<BrokerController> broker_;
  std::string addr_;
  remoting::RemotingClient client_;
  remoting::RemotingClient producer_;
  absl::Mutex mu_;
  std::vector<std::string> checked_ ABSL_GUARDED_BY(mu_);
  int32_t answer_ ABSL_GUARDED_BY(mu_) = kTransactionNotType;
};

TEST_F(TransactionBrokerTest, CommitDeliversRollbackDiscards) {
  config_.transactionCheckInterval = 600000;  // no check-backs here
  StartBroker();
  Command committed = SendHalf("yes", "ID-C");
  ASSERT_EQ(committed.header.status(), proto::SUCCESS)
      << committed.header.remark();
  Command rolled_back = SendHalf("no", "ID-R");
  ASSERT_EQ(rolled_back.header.status(), proto::SUCCESS);
  // The answer names the real queue; nothing is visible there yet.
  EXPECT_EQ(committed.header.send_message_response().queue_id(), 0);
  EXPECT_TRUE(Pull().empty());

  Command end = EndHalf(committed, kTransactionCommitType);
  ASSERT_EQ(end.header.status(), proto::SUCCESS) << end.header.remark();
  ASSERT_EQ(EndHalf(rolled_back, kTransactionRollbackType).header.status(),
            proto::SUCCESS);
  EXPECT_EQ(AwaitPull(1), std::vector<std::string>{"yes"});

  // Ending again: same outcome is idempotent, the other one is refused, and
  // a wrong group or offset is refused.
  EXPECT_EQ(EndHalf(committed, kTransactionCommitType).header.status(),
            proto::SUCCESS);
  EXPECT_EQ(EndHalf(committed, kTransactionRollbackType).header.status(),
            proto::BAD_REQUEST);
  EXPECT_EQ(EndHalf(rolled_back, kTransactionCommitType).header.status(),
            proto::BAD_REQUEST);
  Command other = SendHalf("other", "ID-O");
  EXPECT_EQ(EndHalf(other, kTransactionCommitType, "XG").header.status(),
            proto::BAD_REQUEST);
  EXPECT_EQ(
      Call(&client_, End(0, 1 << 30, kTransactionCommitType)).header.status(),
      proto::SYSTEM_ERROR);
  EXPECT_EQ(Pull(), std::vector<std::string>{"yes"});

  // Nobody may send to or pull the system topics.
  Command direct = MakeRequest(proto::SEND_MESSAGE);
  direct.header.mutable_send_message()->set_topic(std::string(kTransHalfTopic));
  direct.body = "x";
  EXPECT_EQ(Call(&client_, std::move(direct)).header.status(),
            proto::NO_PERMISSION);
  Command pull = MakeRequest(proto::PULL_MESSAGE);
  pull.header.mutable_pull_message()->set_topic(std::string(kTransHalfTopic));
  pull.header.mutable_pull_message()->set_consumer_group("CG");
  pull.header.mutable_pull_message()->set_max_msg_nums(1);
  EXPECT_EQ(Call(&client_, std::move(pull)).header.status(),
            proto::TOPIC_NOT_EXIST);
}

TEST_F(TransactionBrokerTest, UnknownIsCheckedBackUntilCommitted) {
  StartBroker();
  StartProducer();
  Command sent = SendHalf("later", "ID-U");
  ASSERT_EQ(sent.header.status(), proto::SUCCESS);
  ASSERT_EQ(EndHalf(sent, kTransactionNotType).header.status(), proto::SUCCESS);
  // Asked at least twice while the answer stays UNKNOWN.
  const absl::Time deadline = absl::Now() + kTimeout;
  while (Checks() < 2 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  ASSERT_GE(Checks(), 2u);
  EXPECT_TRUE(Pull().empty());
  {
    absl::MutexLock lock(&mu_);
    answer_ = kTransactionCommitType;
    EXPECT_EQ(checked_[0], "ID-U#1");
    EXPECT_EQ(checked_[1], "ID-U#2");
  }
  EXPECT_EQ(AwaitPull(1), std::vector<std::string>{"later"});
}

TEST_F(TransactionBrokerTest, RestartedBrokerResolvesOpenTransaction) {
  StartBroker();
  StartProducer();
  Command sent = SendHalf("survivor", "ID-S");
  ASSERT_EQ(sent.header.status(), proto::SUCCESS);
  const absl::Time deadline = absl::Now() + kTimeout;
  while (Checks() < 1 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  ASSERT_GE(Checks(), 1u);
  broker_->Shutdown();
  producer_.CloseConnection(addr_);
  {
    absl::MutexLock lock(&mu_);
    answer_ = kTransactionRollbackType;
    checked_.clear();
  }

  StartBroker();
  Heartbeat();
  const absl::Time again = absl::Now() + kTimeout;
  while (Checks() < 1 && absl::Now() < again) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  ASSERT_GE(Checks(), 1u);
  {
    // The restarted broker knows the transaction was checked before.
    absl::MutexLock lock(&mu_);
    EXPECT_NE(checked_[0], "ID-S#1");
    EXPECT_EQ(checked_[0].rfind("ID-S#", 0), 0u);
  }
  // Rolled back through the check: recorded, and nothing delivered.
  std::string rolled_back;
  const absl::Time settled = absl::Now() + kTimeout;
  while (rolled_back != "1" && absl::Now() < settled) {
    absl::SleepFor(absl::Milliseconds(20));
    Command info = Call(&client_, MakeRequest(proto::GET_BROKER_RUNTIME_INFO));
    const auto& table = info.header.broker_runtime_info_response().table();
    auto it = table.find("transactionRolledBack");
    if (it != table.end()) rolled_back = it->second;
  }
  EXPECT_EQ(rolled_back, "1");
  EXPECT_TRUE(Pull().empty());
}

}  // namespace
}  // namespace cometmq::broker
