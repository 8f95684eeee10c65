#ifndef COMETMQ_CLIENT_FAKE_BROKER_H_
#define COMETMQ_CLIENT_FAKE_BROKER_H_

#include <algorithm>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cpp/client/consumer_options.h"
#include "cpp/client/test_cluster.h"
#include "cpp/common/message_record.h"
#include "cpp/remoting/remoting_server.h"
#include "gtest/gtest.h"

namespace cometmq::client::testing {

// A broker for client tests, on a free loopback port: serves the messages
// a test put in its queues (bodies "m<offset>"), lists the clients that
// heartbeat it as one group's consumers, answers offset queries with the
// last committed offset (else set_default_offset's, 0 unless set), locks
// every queue asked for (or none, see set_lockable), and records every
// offset committed, by UPDATE_CONSUMER_OFFSET or piggy-backed on a pull.
// CONSUMER_SEND_MSG_BACK is recorded and refused as unsupported unless
// set_accept_send_back(true) (or left unanswered until AnswerSendBacks(),
// see set_park_send_backs). SEND_MESSAGE is counted and answered with the
// `send_status` given at construction, or, without one, refused as
// unsupported, as are all other requests. A pull past a queue's last message
// is parked until Append() or the broker's end. Register it with
// TestNameServer::RegisterBroker, or use OneBrokerCluster.
class FakeBroker {
 public:
  using QueueKey = std::pair<std::string, int32_t>;  // topic, queue id

  explicit FakeBroker(std::optional<int32_t> send_status = std::nullopt) {
    remoting::ServerOptions options;
    options.bind_address = "127.0.0.1";
    server_ = std::make_unique<remoting::RemotingServer>(options);
    Handle(proto::HEART_BEAT, [this](const remoting::Command& request) {
      clients_.insert(request.header.heartbeat().client_id());
      heartbeat_groups_.clear();
      heartbeat_topics_.clear();
      for (const auto& consumer : request.header.heartbeat().consumers()) {
        heartbeat_groups_.insert(consumer.group());
        for (const auto& subscription : consumer.subscriptions()) {
          heartbeat_topics_.insert(subscription.topic());
        }
      }
      return remoting::MakeResponse(request, proto::SUCCESS);
    });
    if (send_status.has_value()) {
      Handle(proto::SEND_MESSAGE,
             [this, status = *send_status](const remoting::Command& request) {
               return SendAnswer(request, status);
             });
    }
    Handle(proto::GET_CONSUMER_LIST_BY_GROUP,
           [this](const remoting::Command& request) {
             remoting::Command response =
                 remoting::MakeResponse(request, proto::SUCCESS);
             for (const std::string& id : clients_) {
               response.header.mutable_consumer_list_response()->add_client_ids(
                   id);
             }
             return response;
           });
    server_->RegisterHandler(
        proto::QUERY_CONSUMER_OFFSET,
        [this](remoting::Command request, remoting::Responder responder) {
          absl::MutexLock lock(&mu_);
          // As a broker whose admin reset the group between reading the
          // offset and sending the answer: the reset reaches the client
          // first.
          SendParkedReset(&reset_before_offset_answer_,
                          request.header.consumer_offset().topic(), responder);
          responder.Respond(OffsetAnswer(request));
        });
    server_->RegisterHandler(
        proto::UPDATE_CONSUMER_OFFSET,
        [this](remoting::Command request, remoting::Responder responder) {
          absl::MutexLock lock(&mu_);
          const auto& commit = request.header.consumer_offset();
          const QueueKey queue{commit.topic(), commit.queue_id()};
          // As a broker whose admin reset the group just before this
          // commit arrived: the commit replaces the reset, and is answered
          // after the reset's notice.
          SendParkedReset(&reset_before_commit_answer_, commit.topic(),
                          responder);
          RecordCommit(queue, commit.commit_offset());
          updated_[queue] = commit.commit_offset();
          responder.Respond(remoting::MakeResponse(request, proto::SUCCESS));
        });
    Handle(proto::LOCK_BATCH_MQ, [this](const remoting::Command& request) {
      ++lock_requests_;
      lock_times_.push_back(absl::Now());
      remoting::Command response =
          remoting::MakeResponse(request, proto::SUCCESS);
      response.header.mutable_lock_batch_response();
      for (const auto& queue : request.header.lock_batch().queues()) {
        if (!lockable_) break;
        *response.header.mutable_lock_batch_response()->add_locked() = queue;
      }
      return response;
    });
    server_->RegisterHandler(
        proto::CONSUMER_SEND_MSG_BACK,
        [this](remoting::Command request, remoting::Responder responder) {
          absl::MutexLock lock(&mu_);
          send_backs_.push_back(request.header.consumer_send_msg_back());
          if (park_send_backs_) {
            parked_send_backs_.emplace_back(std::move(request),
                                            std::move(responder));
          } else {
            responder.Respond(SendBackAnswer(request));
          }
        });
    Handle(proto::UNREGISTER_CLIENT, [this](const remoting::Command& request) {
      ++unregisters_;
      return remoting::MakeResponse(request, proto::SUCCESS);
    });
    Handle(proto::UNLOCK_BATCH_MQ, [this](const remoting::Command& request) {
      ++unlock_requests_;
      return remoting::MakeResponse(request, proto::SUCCESS);
    });
    server_->RegisterHandler(
        proto::PULL_MESSAGE,
        [this](remoting::Command request, remoting::Responder responder) {
          absl::MutexLock lock(&mu_);
          const proto::PullMessageRequest& pull = request.header.pull_message();
          if (pull.commit_offset() >= 0) {
            RecordCommit({pull.topic(), pull.queue_id()}, pull.commit_offset());
          }
          ++pulls_;
          if (std::optional<remoting::Command> answer = Answer(request)) {
            responder.Respond(*std::move(answer));
          } else {
            parked_.emplace_back(std::move(request), std::move(responder));
          }
        });
    EXPECT_TRUE(server_->Start().ok());
  }
  ~FakeBroker() {
    {
      absl::MutexLock lock(&mu_);
      parked_.clear();
      parked_send_backs_.clear();
    }
    server_->Stop();
  }

  std::string address() const {
    return absl::StrCat("127.0.0.1:", server_->port());
  }

  // Adds `count` messages to the queue and answers the pulls parked on it.
  void Append(const std::string& topic, int32_t queue_id, int count) {
    absl::MutexLock lock(&mu_);
    int64_t& size = sizes_[{topic, queue_id}];
    size += count;
    std::vector<std::pair<remoting::Command, remoting::Responder>> parked;
    parked.swap(parked_);
    for (auto& [request, responder] : parked) {
      if (std::optional<remoting::Command> answer = Answer(request)) {
        responder.Respond(*std::move(answer));
      } else {
        parked_.emplace_back(std::move(request), std::move(responder));
      }
    }
  }

  // Sends the client of the latest heartbeat a RESET_CONSUMER_CLIENT_OFFSET
  // of `group`'s queues of `topic` (queue id -> offset), as a broker does
  // for resetOffsetByTime; false if that client's connection is gone.
  bool SendResetOffset(const std::string& topic, const std::string& group,
                       const std::map<int32_t, int64_t>& offsets) {
    std::shared_ptr<remoting::Connection> connection;
    {
      absl::MutexLock lock(&mu_);
      connection = heartbeat_connection_.lock();
    }
    if (connection == nullptr) return false;
    return connection->Send(ResetCommand(topic, group, offsets)).ok();
  }
  // The next QUERY_CONSUMER_OFFSET of `topic` is answered from the
  // committed offsets as before, but only after this reset was sent to the
  // asking client.
  void SendResetBeforeNextOffsetAnswer(
      const std::string& topic, const std::string& group,
      const std::map<int32_t, int64_t>& offsets) {
    absl::MutexLock lock(&mu_);
    reset_before_offset_answer_ = ResetCommand(topic, group, offsets);
  }
  // The next UPDATE_CONSUMER_OFFSET of `topic` is applied as before, but
  // answered only after this reset was sent to the committing client.
  void SendResetBeforeNextCommitAnswer(
      const std::string& topic, const std::string& group,
      const std::map<int32_t, int64_t>& offsets) {
    absl::MutexLock lock(&mu_);
    reset_before_commit_answer_ = ResetCommand(topic, group, offsets);
  }
  // Every offset committed for the queue, in arrival order.
  std::vector<int64_t> commit_history(const std::string& topic,
                                      int32_t queue_id) const {
    absl::MutexLock lock(&mu_);
    auto it = history_.find({topic, queue_id});
    return it == history_.end() ? std::vector<int64_t>{} : it->second;
  }
  // The last offset committed for the queue, if any.
  std::optional<int64_t> committed(const std::string& topic,
                                   int32_t queue_id) const {
    absl::MutexLock lock(&mu_);
    auto it = committed_.find({topic, queue_id});
    if (it == committed_.end()) return std::nullopt;
    return it->second;
  }
  // The last offset UPDATE_CONSUMER_OFFSET committed for each queue (the
  // commits piggy-backed on pulls left out).
  std::map<QueueKey, int64_t> updated_offsets() const {
    absl::MutexLock lock(&mu_);
    return updated_;
  }
  // How many commits the queue had.
  int64_t commits(const std::string& topic, int32_t queue_id) const {
    absl::MutexLock lock(&mu_);
    auto it = commits_.find({topic, queue_id});
    return it == commits_.end() ? 0 : it->second;
  }
  int64_t pulls() const {
    absl::MutexLock lock(&mu_);
    return pulls_;
  }
  // Whether LOCK_BATCH_MQ locks what it is asked for (else nothing, as if
  // another client held every queue).
  void set_lockable(bool lockable) {
    absl::MutexLock lock(&mu_);
    lockable_ = lockable;
  }
  int64_t lock_requests() const {
    absl::MutexLock lock(&mu_);
    return lock_requests_;
  }
  // The consumer groups of the latest heartbeat.
  std::set<std::string> heartbeat_groups() const {
    absl::MutexLock lock(&mu_);
    return heartbeat_groups_;
  }
  // The topics the consumers of the latest heartbeat subscribe to.
  std::set<std::string> heartbeat_topics() const {
    absl::MutexLock lock(&mu_);
    return heartbeat_topics_;
  }
  // What QUERY_CONSUMER_OFFSET answers for a queue nothing was committed to.
  void set_default_offset(int64_t offset) {
    absl::MutexLock lock(&mu_);
    default_offset_ = offset;
  }
  // When each LOCK_BATCH_MQ arrived.
  std::vector<absl::Time> lock_times() const {
    absl::MutexLock lock(&mu_);
    return lock_times_;
  }
  int64_t unlock_requests() const {
    absl::MutexLock lock(&mu_);
    return unlock_requests_;
  }
  // UNREGISTER_CLIENT requests so far.
  int64_t unregisters() const {
    absl::MutexLock lock(&mu_);
    return unregisters_;
  }
  // Whether CONSUMER_SEND_MSG_BACK succeeds (else it is refused as
  // unsupported, the default).
  void set_accept_send_back(bool accept) {
    absl::MutexLock lock(&mu_);
    accept_send_back_ = accept;
  }
  // Whether CONSUMER_SEND_MSG_BACK is left unanswered until
  // AnswerSendBacks() (recorded at once all the same).
  void set_park_send_backs(bool park) {
    absl::MutexLock lock(&mu_);
    park_send_backs_ = park;
  }
  // Answers the parked send-backs as set_accept_send_back says now.
  void AnswerSendBacks() {
    absl::MutexLock lock(&mu_);
    for (auto& [request, responder] : parked_send_backs_) {
      responder.Respond(SendBackAnswer(request));
    }
    parked_send_backs_.clear();
  }
  // Every CONSUMER_SEND_MSG_BACK so far, accepted or not.
  std::vector<proto::ConsumerSendMsgBackRequest> send_backs() const {
    absl::MutexLock lock(&mu_);
    return send_backs_;
  }
  // Messages sent in pull answers so far.
  int64_t served() const {
    absl::MutexLock lock(&mu_);
    return served_;
  }
  // SEND_MESSAGE requests answered so far.
  int64_t sends() const {
    absl::MutexLock lock(&mu_);
    return sends_;
  }

 private:
  // Answers `code` with `fn`, called under mu_.
  void Handle(int code,
              std::function<remoting::Command(const remoting::Command&)> fn) {
    server_->RegisterHandler(
        code, [this, code, fn = std::move(fn)](remoting::Command request,
                                               remoting::Responder responder) {
          absl::MutexLock lock(&mu_);
          if (code == proto::HEART_BEAT) {
            heartbeat_connection_ = responder.connection();
          }
          responder.Respond(fn(request));
        });
  }

  remoting::Command OffsetAnswer(const remoting::Command& request)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    const auto& query = request.header.consumer_offset();
    auto it = committed_.find({query.topic(), query.queue_id()});
    remoting::Command response =
        remoting::MakeResponse(request, proto::SUCCESS);
    response.header.mutable_consumer_offset_response()->set_offset(
        it == committed_.end() ? default_offset_ : it->second);
    return response;
  }

  static remoting::Command ResetCommand(
      const std::string& topic, const std::string& group,
      const std::map<int32_t, int64_t>& offsets) {
    remoting::Command reset =
        remoting::MakeRequest(proto::RESET_CONSUMER_CLIENT_OFFSET);
    reset.header.set_flags(proto::FLAG_ONEWAY);
    proto::ResetOffsetTable* table = reset.header.mutable_reset_offset_table();
    table->set_topic(topic);
    table->set_group(group);
    table->set_broker_name("broker-a");
    for (const auto& [queue_id, offset] : offsets) {
      proto::QueueResetOffset* entry = table->add_offsets();
      entry->set_queue_id(queue_id);
      entry->set_offset(offset);
    }
    return reset;
  }

  remoting::Command SendBackAnswer(const remoting::Command& request)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (accept_send_back_) {
      return remoting::MakeResponse(request, proto::SUCCESS);
    }
    // As a broker without a handler answers.
    return remoting::MakeResponse(request, proto::REQUEST_CODE_NOT_SUPPORTED,
                                  "send-back refused by the test");
  }

  // A send's answer: `status` (remark "broker is busy" unless SUCCESS), the
  // sends so far as the queue offset.
  remoting::Command SendAnswer(const remoting::Command& request, int32_t status)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    remoting::Command response = remoting::MakeResponse(
        request, status, status == proto::SUCCESS ? "" : "broker is busy");
    auto* answer = response.header.mutable_send_message_response();
    answer->set_msg_id("0A00000100002A9F0000000000000000");
    answer->set_queue_id(request.header.send_message().queue_id());
    answer->set_queue_offset(sends_++);
    return response;
  }

  void RecordCommit(const QueueKey& queue, int64_t offset)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    committed_[queue] = offset;
    ++commits_[queue];
    history_[queue].push_back(offset);
  }

  // Sends `*parked` (a reset of `topic`, if that is what it holds) to the
  // client of `responder`'s connection, once.
  void SendParkedReset(std::optional<remoting::Command>* parked,
                       const std::string& topic,
                       const remoting::Responder& responder)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (!parked->has_value() ||
        (*parked)->header.reset_offset_table().topic() != topic) {
      return;
    }
    remoting::Command reset = **std::move(parked);
    parked->reset();
    if (auto connection = responder.connection().lock()) {
      (void)connection->Send(std::move(reset));
    }
  }
  // Messages from the pull's offset, or nullopt to park it.
  std::optional<remoting::Command> Answer(const remoting::Command& request)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    const proto::PullMessageRequest& pull = request.header.pull_message();
    auto it = sizes_.find({pull.topic(), pull.queue_id()});
    const int64_t size = it == sizes_.end() ? 0 : it->second;
    if (pull.queue_offset() >= size) return std::nullopt;
    const int64_t end =
        std::min<int64_t>(size, pull.queue_offset() + pull.max_msg_nums());
    remoting::Command response =
        remoting::MakeResponse(request, proto::SUCCESS);
    for (int64_t offset = pull.queue_offset(); offset < end; ++offset) {
      MessageToStore message;
      message.topic = pull.topic();
      message.queue_id = pull.queue_id();
      message.body = absl::StrCat("m", offset);
      message.properties = EncodeProperties({});
      StoreStamp stamp;
      stamp.queue_offset = offset;
      stamp.physical_offset = offset * 1000;
      std::string record(static_cast<size_t>(RecordSize(message)), '\0');
      EncodeRecord(message, stamp, record.data());
      response.body += record;
    }
    proto::PullMessageResponse* out =
        response.header.mutable_pull_message_response();
    out->set_next_begin_offset(end);
    out->set_max_offset(size);
    out->set_message_count(static_cast<int32_t>(end - pull.queue_offset()));
    served_ += end - pull.queue_offset();
    return response;
  }

  std::unique_ptr<remoting::RemotingServer> server_;
  mutable absl::Mutex mu_;
  std::set<std::string> clients_ ABSL_GUARDED_BY(mu_);
  std::set<std::string> heartbeat_groups_ ABSL_GUARDED_BY(mu_);
  std::set<std::string> heartbeat_topics_ ABSL_GUARDED_BY(mu_);
  std::map<QueueKey, int64_t> sizes_ ABSL_GUARDED_BY(mu_);
  std::map<QueueKey, int64_t> committed_ ABSL_GUARDED_BY(mu_);
  std::map<QueueKey, int64_t> commits_ ABSL_GUARDED_BY(mu_);
  std::map<QueueKey, std::vector<int64_t>> history_ ABSL_GUARDED_BY(mu_);
  std::weak_ptr<remoting::Connection> heartbeat_connection_
      ABSL_GUARDED_BY(mu_);
  std::map<QueueKey, int64_t> updated_ ABSL_GUARDED_BY(mu_);
  int64_t default_offset_ ABSL_GUARDED_BY(mu_) = 0;
  std::optional<remoting::Command> reset_before_offset_answer_
      ABSL_GUARDED_BY(mu_);
  std::optional<remoting::Command> reset_before_commit_answer_
      ABSL_GUARDED_BY(mu_);
  int64_t sends_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t pulls_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t served_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t unregisters_ ABSL_GUARDED_BY(mu_) = 0;
  bool lockable_ ABSL_GUARDED_BY(mu_) = true;
  int64_t lock_requests_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<absl::Time> lock_times_ ABSL_GUARDED_BY(mu_);
  int64_t unlock_requests_ ABSL_GUARDED_BY(mu_) = 0;
  bool accept_send_back_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<proto::ConsumerSendMsgBackRequest> send_backs_
      ABSL_GUARDED_BY(mu_);
  std::vector<std::pair<remoting::Command, remoting::Responder>> parked_
      ABSL_GUARDED_BY(mu_);
  bool park_send_backs_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::pair<remoting::Command, remoting::Responder>>
      parked_send_backs_ ABSL_GUARDED_BY(mu_);
};

// A TestNameServer with one FakeBroker registered on it as "broker-a",
// holding `topics` of `queues` queues each: the set-up most consumer tests
// share.
class OneBrokerCluster {
 public:
  OneBrokerCluster(const std::vector<std::string>& topics, int queues) {
    namesrv_.RegisterBroker("broker-a", broker_.address(), topics, queues);
  }

  FakeBroker& broker() { return broker_; }
  // Options of a consumer of this cluster in client instance `instance`.
  ConsumerOptions consumer_options(const std::string& instance) const {
    ConsumerOptions options;
    options.client.namesrv_addr = namesrv_.address();
    options.client.instance_name = instance;
    return options;
  }

 private:
  TestNameServer namesrv_;
  FakeBroker broker_;
};

}  // namespace cometmq::client::testing

#endif  // COMETMQ_CLIENT_FAKE_BROKER_H_
