#include "cpp/client/transaction_producer.h"

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "cpp/client/test_cluster.h"
#include "cpp/common/message_record.h"
#include "cpp/remoting/remoting_server.h"
#include "gtest/gtest.h"

namespace cometmq::client {
namespace {

constexpr absl::Duration kTimeout = absl::Seconds(10);

// A broker that stores nothing: SEND_MESSAGE answers SEND_OK, END_TRANSACTION
// is recorded, and the connection of the last heartbeat is kept so that a
// test can send the client a CHECK_TRANSACTION_STATE over it.
class FakeTxBroker {
 public:
  FakeTxBroker() {
    remoting::ServerOptions options;
    options.bind_address = "127.0.0.1";
    server_ = std::make_unique<remoting::RemotingServer>(options);
    server_->RegisterHandler(
        proto::SEND_MESSAGE,
        [](remoting::Command request, remoting::Responder responder) {
          remoting::Command response =
              remoting::MakeResponse(request, proto::SUCCESS);
          auto* answer = response.header.mutable_send_message_response();
          answer->set_msg_id("0A00000100002A9F0000000000000000");
          answer->set_queue_id(request.header.send_message().queue_id());
          answer->set_queue_offset(0);
          responder.Respond(std::move(response));
        });
    server_->RegisterHandler(
        proto::END_TRANSACTION,
        [this](remoting::Command request, remoting::Responder responder) {
          {
            absl::MutexLock lock(&mu_);
            ends_.push_back(request.header.end_transaction());
          }
          responder.Respond(remoting::MakeResponse(request, proto::SUCCESS));
        });
    server_->RegisterHandler(
        proto::HEART_BEAT,
        [this](remoting::Command request, remoting::Responder responder) {
          {
            absl::MutexLock lock(&mu_);
            heartbeat_ = responder.connection();
          }
          responder.Respond(remoting::MakeResponse(request, proto::SUCCESS));
        });
    server_->RegisterHandler(
        proto::UNREGISTER_CLIENT,
        [](remoting::Command request, remoting::Responder responder) {
          responder.Respond(remoting::MakeResponse(request, proto::SUCCESS));
        });
    EXPECT_TRUE(server_->Start().ok());
  }
  ~FakeTxBroker() { server_->Stop(); }

  std::string address() const {
    return absl::StrCat("127.0.0.1:", server_->port());
  }

  bool Heartbeated() {
    absl::MutexLock lock(&mu_);
    return !heartbeat_.expired();
  }

  // Asks the client that heartbeated last about a half of group PG.
  bool SendCheck(const std::string& id) {
    MessageToStore half;
    half.topic = "RMQ_SYS_TRANS_HALF_TOPIC";
    half.body = "half";
    half.properties = EncodeProperties({{"REAL_TOPIC", "TopicA"},
                                        {"REAL_QID", "0"},
                                        {"PGROUP", "PG"},
                                        {"UNIQ_KEY", id}});
    remoting::Command check =
        remoting::MakeRequest(proto::CHECK_TRANSACTION_STATE);
    check.header.set_flags(proto::FLAG_ONEWAY);
    auto* request = check.header.mutable_check_transaction_state();
    request->set_producer_group("PG");
    request->set_transaction_id(id);
    request->set_tran_state_table_offset(7);
    request->set_commit_log_offset(0);
    check.body.assign(static_cast<size_t>(RecordSize(half)), '\0');
    EncodeRecord(half, StoreStamp{}, check.body.data());
    std::shared_ptr<remoting::Connection> connection;
    {
      absl::MutexLock lock(&mu_);
      connection = heartbeat_.lock();
    }
    return connection != nullptr && connection->Send(std::move(check)).ok();
  }

  // The END_TRANSACTION requests received, once there are `count`.
  std::vector<proto::EndTransactionRequest> AwaitEnds(size_t count) {
    absl::MutexLock lock(&mu_);
    auto enough = [this, count]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
      return ends_.size() >= count;
    };
    mu_.AwaitWithTimeout(absl::Condition(&enough), kTimeout);
    return ends_;
  }

 private:
  std::unique_ptr<remoting::RemotingServer> server_;
  absl::Mutex mu_;
  std::weak_ptr<remoting::Connection> heartbeat_ ABSL_GUARDED_BY(mu_);
  std::vector<proto::EndTransactionRequest> ends_ ABSL_GUARDED_BY(mu_);
};

class TransactionProducerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    namesrv_.RegisterBroker("broker-a", broker_.address(), {"TopicA"}, 1);
  }

  ProducerOptions Options() {
    ProducerOptions options;
    options.client.namesrv_addr = namesrv_.address();
    options.client.instance_name = "tx-test";
    return options;
  }

  testing::TestNameServer namesrv_;
  FakeTxBroker broker_;
};

// A started producer that has sent nothing yet is reachable for checks: the
// halves an earlier process of its group left open are asked of it.
TEST_F(TransactionProducerTest, StartedProducerIsKnownToEveryBroker) {
  TransactionProducer producer("PG", Options(), [](const MessageExt&) {
    return TransactionState::kCommit;
  });
  ASSERT_TRUE(producer.Start().ok());
  EXPECT_TRUE(broker_.Heartbeated());
  ASSERT_TRUE(broker_.SendCheck("OLD"));
  std::vector<proto::EndTransactionRequest> ends = broker_.AwaitEnds(1);
  ASSERT_EQ(ends.size(), 1u);
  EXPECT_EQ(ends[0].transaction_id(), "OLD");
  EXPECT_EQ(ends[0].commit_or_rollback(), kTransactionCommitType);
  EXPECT_TRUE(ends[0].from_transaction_check());
  EXPECT_EQ(ends[0].tran_state_table_offset(), 7);
  producer.Shutdown();
}

// An exception out of the user's executor or check listener is UNKNOWN, as
// in RocketMQ: the executor's used to leave SendInTransaction without
// telling the broker anything, and the listener's ended the process (it
// runs on the producer's check thread).
TEST_F(TransactionProducerTest, ThrowingExecutorAndListenerAnswerUnknown) {
  TransactionProducer producer(
      "PG", Options(), [](const MessageExt&) -> TransactionState {
        throw std::runtime_error("the database is down");
      });
  ASSERT_TRUE(producer.Start().ok());
  Message message;
  message.topic = "TopicA";
  message.body = "tx";
  absl::StatusOr<TransactionSendResult> sent = producer.SendInTransaction(
      message, [](const MessageExt&) -> TransactionState {
        throw std::runtime_error("the local transaction failed");
      });
  ASSERT_TRUE(sent.ok()) << sent.status();
  EXPECT_EQ(sent->local_state, TransactionState::kUnknown);
  ASSERT_TRUE(broker_.SendCheck("CHECKED"));
  std::vector<proto::EndTransactionRequest> ends = broker_.AwaitEnds(2);
  ASSERT_EQ(ends.size(), 2u);
  EXPECT_EQ(ends[0].commit_or_rollback(), kTransactionNotType);
  EXPECT_FALSE(ends[0].from_transaction_check());
  EXPECT_EQ(ends[1].transaction_id(), "CHECKED");
  EXPECT_EQ(ends[1].commit_or_rollback(), kTransactionNotType);
  EXPECT_TRUE(ends[1].from_transaction_check());
  producer.Shutdown();
}

}  // namespace
}  // namespace cometmq::client
