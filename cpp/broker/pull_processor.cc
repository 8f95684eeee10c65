#include "cpp/broker/pull_processor.h"

#include <unistd.h>

#include <algorithm>
#include <memory>
#include <string>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "cpp/common/byte_order.h"
#include "cpp/common/message_record.h"

namespace cometmq::broker {
namespace {

using remoting::Command;
using remoting::MakeResponse;

constexpr int kDefaultMaxMessages = 32;
constexpr int kMaxMessages = 1024;
// RocketMQ's maxTransferBytesOnMessageInMemory: one pull answer stays small
// enough to keep the connection fair to other requests.
constexpr int64_t kMaxTransferBytes = 256 * 1024;

}  // namespace

absl::flat_hash_set<int64_t> TagCodesOf(absl::string_view expression) {
  absl::flat_hash_set<int64_t> codes;
  absl::string_view trimmed = absl::StripAsciiWhitespace(expression);
  if (trimmed.empty() || trimmed == "*") return codes;
  for (absl::string_view tag : absl::StrSplit(trimmed, "||")) {
    tag = absl::StripAsciiWhitespace(tag);
    if (!tag.empty()) codes.insert(TagsHashCode(tag));
  }
  return codes;
}

PullProcessor::PullProcessor(const BrokerConfig& config,
                             store::MessageStore* store,
                             TopicConfigManager* topics,
                             SubscriptionGroupManager* groups,
                             ConsumerOffsetManager* offsets,
                             LongPollingService* holds, ThreadPool* pool)
    : config_(config),
      store_(store),
      topics_(topics),
      groups_(groups),
      offsets_(offsets),
      holds_(holds),
      pool_(pool) {
  const int64_t ram = static_cast<int64_t>(sysconf(_SC_PHYS_PAGES)) *
                      static_cast<int64_t>(sysconf(_SC_PAGESIZE));
  in_memory_bytes_ = ram / 100 * config_.accessMessageInMemoryMaxRatio;
}

void PullProcessor::Handle(Command&& request, remoting::Responder responder) {
  auto shared = std::make_shared<const Command>(std::move(request));
  if (std::optional<Command> refusal = Refusal(*shared)) {
    responder.Respond(*std::move(refusal));
    return;
  }
  const proto::PullMessageRequest& pull = shared->header.pull_message();
  // The piggy-backed commit is applied here, on the connection's I/O
  // thread, where the consumer's UPDATE_CONSUMER_OFFSETs are applied too:
  // so in the order the consumer sent them. Applied on the pool, an older
  // offset could land after a newer commit and move the group back. Never
  // again when a held pull is resumed, for the same reason.
  ApplyCommit(pull);
  // A consumer that keeps up asks for the next offset, where nothing is
  // yet: no read, the pull is held (or answered) at once. Doing that here
  // saves two thread wakeups per pull; reads of stored messages, which may
  // fault in cold pages, stay on the pool.
  if (pull.queue_offset() >=
      store_->MaxOffsetInQueue(pull.topic(), pull.queue_id())) {
    Serve(shared, responder, /*allow_suspend=*/true);
    return;
  }
  if (!pool_->TrySubmit([this, shared, responder] {
        Serve(shared, responder, /*allow_suspend=*/true);
      })) {
    Command busy = MakeResponse(*shared, proto::SYSTEM_BUSY,
                                "the broker's pull queue is full; try later");
    busy.header.mutable_pull_message_response();
    responder.Respond(std::move(busy));
  }
}

void PullProcessor::ApplyCommit(const proto::PullMessageRequest& pull) {
  if (pull.commit_offset() >= 0) {
    offsets_->Commit(pull.consumer_group(), pull.topic(), pull.queue_id(),
                     pull.commit_offset());
  }
}

void PullProcessor::HandleWhileStopping(Command&& request,
                                        remoting::Responder responder) {
  if (std::optional<Command> refusal = Refusal(request)) {
    responder.Respond(*std::move(refusal));
    return;
  }
  // On the I/O thread, like Handle(), so commits keep the consumer's order.
  ApplyCommit(request.header.pull_message());
  Command refused = MakeResponse(
      request, proto::SERVICE_NOT_AVAILABLE,
      absl::StrCat("the broker[", config_.brokerName, "] is shutting down"));
  refused.header.mutable_pull_message_response();
  responder.Respond(std::move(refused));
}

Command PullProcessor::NotFound(const Command& request) const {
  const proto::PullMessageRequest& pull = request.header.pull_message();
  Command response = MakeResponse(request, proto::PULL_NOT_FOUND,
                                  "no new message in the queue");
  proto::PullMessageResponse* out =
      response.header.mutable_pull_message_response();
  out->set_next_begin_offset(pull.queue_offset());
  out->set_min_offset(store_->MinOffsetInQueue(pull.topic(), pull.queue_id()));
  out->set_max_offset(store_->MaxOffsetInQueue(pull.topic(), pull.queue_id()));
  return response;
}

void PullProcessor::Hold(std::shared_ptr<const Command> request,
                         const remoting::Responder& responder, int64_t offset,
                         absl::Time deadline) {
  const proto::PullMessageRequest& pull = request->header.pull_message();
  holds_->Hold(pull.topic(), pull.queue_id(), offset, deadline,
               [this, request, responder, deadline](WakeReason reason) {
                 Resume(request, responder, reason, deadline);
               });
}

void PullProcessor::Resume(std::shared_ptr<const Command> request,
                           const remoting::Responder& responder,
                           WakeReason reason, absl::Time deadline) {
  if (reason == WakeReason::kArrived) {
    // On the thread that made the message readable (the store's
    // dispatcher): the pull asks for what just arrived, so its pages
    // are in memory and the read does not wait; a trip through the pool
    // would cost two thread wakeups per answer.
    // Answered as if it had just arrived, unless nothing matched its tags.
    Process(request, responder, deadline);
    return;
  }
  if (reason != WakeReason::kShutdown &&
      pool_->TrySubmit([this, request, responder] {
        // Answered as if it had just arrived; never held a second time.
        Process(request, responder);
      })) {
    return;
  }
  if (reason == WakeReason::kShutdown && stop_answer_listener_) {
    // A consumer already gone will not pull again: not waited for.
    std::shared_ptr<remoting::Connection> connection =
        responder.connection().lock();
    if (connection != nullptr && !connection->closed()) {
      stop_answer_listener_(request->header.pull_message(),
                            responder.remote_address());
    }
  }
  responder.Respond(NotFound(*request));
}

std::optional<Command> PullProcessor::Refusal(const Command& request) {
  auto fail = [&](proto::StatusCode code, absl::string_view remark) {
    Command response = MakeResponse(request, code, remark);
    response.header.mutable_pull_message_response();
    return response;
  };
  if (!request.header.has_pull_message()) {
    return fail(proto::BAD_REQUEST,
                "PULL_MESSAGE needs a pull_message payload");
  }
  const proto::PullMessageRequest& pull = request.header.pull_message();
  if ((config_.brokerPermission.load() & proto::PERM_READ) == 0) {
    return fail(proto::NO_PERMISSION,
                absl::StrCat("the broker[", config_.brokerName,
                             "] pulling message is forbidden"));
  }
  if (absl::Status s = ValidateGroupName(pull.consumer_group()); !s.ok()) {
    return fail(proto::BAD_REQUEST, s.message());
  }
  std::optional<SubscriptionGroup> group =
      groups_->FindOrCreate(pull.consumer_group());
  if (!group.has_value()) {
    return fail(proto::SUBSCRIPTION_GROUP_NOT_EXIST,
                absl::StrCat("subscription group[", pull.consumer_group(),
                             "] does not exist"));
  }
  if (!group->consume_enable) {
    return fail(proto::NO_PERMISSION,
                absl::StrCat("subscription group[", pull.consumer_group(),
                             "] may not consume"));
  }
  std::optional<proto::TopicConfig> topic = topics_->Find(pull.topic());
  // A slave serves what it replicated even before it copied the topic's
  // config from its master (which may be gone by now).
  if (!topic.has_value() &&
      !(config_.slave() &&
        store_->MaxOffsetInQueue(pull.topic(), pull.queue_id()) > 0)) {
    return fail(proto::TOPIC_NOT_EXIST,
                absl::StrCat("topic[", pull.topic(),
                             "] not exist, apply first please!"));
  }
  if (topic.has_value() && (topic->perm() & proto::PERM_READ) == 0) {
    return fail(proto::NO_PERMISSION,
                absl::StrCat("the topic[", pull.topic(),
                             "] pulling message is forbidden"));
  }
  if (pull.queue_id() < 0 ||
      (topic.has_value() && pull.queue_id() >= topic->read_queue_nums())) {
    return fail(proto::BAD_REQUEST,
                absl::StrCat("queueId[", pull.queue_id(),
                             "] is illegal, topic[", pull.topic(), "] has ",
                             topic->read_queue_nums(), " read queues"));
  }
  return std::nullopt;
}

void PullProcessor::Process(std::shared_ptr<const Command> request,
                            const remoting::Responder& responder,
                            absl::Time deadline) {
  if (std::optional<Command> refusal = Refusal(*request)) {
    responder.Respond(*std::move(refusal));
    return;
  }
  Serve(request, responder, /*allow_suspend=*/false, deadline);
}

void PullProcessor::Serve(std::shared_ptr<const Command> request,
                          const remoting::Responder& responder,
                          bool allow_suspend, absl::Time deadline) {
  const proto::PullMessageRequest& pull = request->header.pull_message();
  const int max_messages = pull.max_msg_nums() <= 0
                               ? kDefaultMaxMessages
                               : std::min(pull.max_msg_nums(), kMaxMessages);
  store::GetResult got;
  if (pull.expression_type() == proto::EXPRESSION_TAG) {
    got = store_->Get(pull.topic(), pull.queue_id(), pull.queue_offset(),
                      max_messages, kMaxTransferBytes,
                      TagCodesOf(pull.subscription()));
  } else {
    std::optional<Command> refusal;
    std::shared_ptr<const filter::SqlExpression> sql =
        SqlFilterOf(*request, &refusal);
    if (refusal.has_value()) {
      responder.Respond(*std::move(refusal));
      return;
    }
    const store::MessageStore::RecordFilter matches =
        [&sql](const store::RecordSlice& record) {
          return sql == nullptr || SqlMatchesRecord(*sql, record);
        };
    got = store_->Get(pull.topic(), pull.queue_id(), pull.queue_offset(),
                      max_messages, kMaxTransferBytes, {}, &matches);
  }

  proto::StatusCode code = proto::PULL_NOT_FOUND;
  std::string remark;
  switch (got.status) {
    case store::GetStatus::kFound:
      code = proto::SUCCESS;
      break;
    case store::GetStatus::kNoMatchedMessage:
      code = proto::PULL_RETRY_IMMEDIATELY;
      remark = "no message matched the subscription; retry from next offset";
      break;
    case store::GetStatus::kNoMessageInQueue:
    case store::GetStatus::kNoMatchedLogicQueue:
      // As RocketMQ: an empty queue pulled from a non-zero offset means the
      // consumer's offset is wrong, not that it should wait.
      code = pull.queue_offset() != 0 ? proto::PULL_OFFSET_MOVED
                                      : proto::PULL_NOT_FOUND;
      break;
    case store::GetStatus::kOffsetOverflowBadly:
      // As RocketMQ: past the end of a queue that still starts at 0 (the
      // topic was deleted and created again, the store was emptied, a crash
      // took back the log's tail) the consumer starts over at 0. The queue
      // holds nothing it consumed, and jumping to the end would skip every
      // message stored since.
      if (got.min_offset == 0) got.next_begin_offset = 0;
      [[fallthrough]];
    case store::GetStatus::kOffsetTooSmall:
      code = proto::PULL_OFFSET_MOVED;
      remark = absl::StrCat("offset ", pull.queue_offset(), " is outside [",
                            got.min_offset, ", ", got.max_offset,
                            "]; continue from next_begin_offset");
      break;
    case store::GetStatus::kOffsetOverflowOne:
    case store::GetStatus::kOffsetFoundNull:
      code = proto::PULL_NOT_FOUND;
      break;
  }

  // A slave may simply not have replicated that far yet (or the master's
  // consume queue is ahead of its own): it never moves a consumer's offset
  // forward or back except below its minimum (retention), as RocketMQ with
  // offsetCheckInSlave=false. The consumer waits here, or at the master.
  if (config_.slave() && code == proto::PULL_OFFSET_MOVED &&
      got.status != store::GetStatus::kOffsetTooSmall) {
    code = proto::PULL_NOT_FOUND;
    remark.clear();
    got.next_begin_offset = pull.queue_offset();
  }

  if (code == proto::PULL_NOT_FOUND && allow_suspend &&
      pull.suspend_timeout_millis() > 0) {
    const int64_t hold_ms = config_.longPollingEnable
                                ? pull.suspend_timeout_millis()
                                : std::min(pull.suspend_timeout_millis(),
                                           config_.shortPollingTimeMills);
    Hold(request, responder, pull.queue_offset(),
         absl::Now() + absl::Milliseconds(hold_ms));
    return;
  }
  // Woken by arrivals its tags do not match, with all of them scanned: held
  // again past them (a re-run reads from the pull's offset, so a scan cut
  // short by its limit is answered instead, else it would wake at once).
  if (code == proto::PULL_RETRY_IMMEDIATELY && !allow_suspend &&
      got.next_begin_offset >= got.max_offset && absl::Now() < deadline) {
    Hold(request, responder, got.next_begin_offset, deadline);
    return;
  }

  Command response = MakeResponse(*request, code, remark);
  proto::PullMessageResponse* out =
      response.header.mutable_pull_message_response();
  out->set_next_begin_offset(got.next_begin_offset);
  out->set_min_offset(got.min_offset);
  out->set_max_offset(got.max_offset);
  out->set_suggest_which_broker_id(SuggestBroker(got));
  if (code == proto::SUCCESS) {
    response.body.reserve(static_cast<size_t>(got.total_bytes));
    for (const store::RecordSlice& slice : got.messages) {
      response.body.append(slice.bytes().data(), slice.bytes().size());
    }
    out->set_message_count(static_cast<int32_t>(got.messages.size()));
    messages_got_.fetch_add(static_cast<int64_t>(got.messages.size()));
  }
  responder.Respond(std::move(response));
}

std::shared_ptr<const filter::SqlExpression> PullProcessor::SqlFilterOf(
    const Command& request, std::optional<Command>* refusal) {
  const proto::PullMessageRequest& pull = request.header.pull_message();
  auto fail = [&](proto::StatusCode code, absl::string_view remark) {
    Command response = MakeResponse(request, code, remark);
    response.header.mutable_pull_message_response();
    *refusal = std::move(response);
    return nullptr;
  };
  if (pull.expression_type() != proto::EXPRESSION_SQL92) {
    return fail(proto::BAD_REQUEST,
                absl::StrCat("unknown expression type ",
                             static_cast<int>(pull.expression_type())));
  }
  if (!config_.enablePropertyFilter) {
    return fail(proto::SYSTEM_ERROR, kSql92NotSupported);
  }
  // As RocketMQ (filterSupportRetry=false): what a consumer failed is
  // redelivered whatever its properties.
  if (absl::StartsWith(pull.topic(), kRetryGroupTopicPrefix)) return nullptr;
  absl::StatusOr<std::shared_ptr<const filter::SqlExpression>> compiled =
      sql_filters_.Get(pull.consumer_group(), pull.topic(),
                       pull.subscription());
  if (!compiled.ok()) {
    return fail(
        proto::SUBSCRIPTION_PARSE_FAILED,
        absl::StrCat("parse the consumer's subscription[", pull.subscription(),
                     "] failed: ", compiled.status().message()));
  }
  return *std::move(compiled);
}

int64_t PullProcessor::SuggestBroker(const store::GetResult& got) const {
  constexpr int64_t kMaster = 0;
  constexpr int64_t kFirstSlave = 1;
  if (config_.slave() || !config_.slaveReadEnable || got.messages.empty()) {
    return kMaster;
  }
  // The physical offset field of a stored record.
  constexpr int kPhysicalOffsetPos = 4 + 4 + 4 + 4 + 4 + 8;
  const int64_t last_pulled =
      GetBig64(got.messages.back().data + kPhysicalOffsetPos);
  return store_->MaxPhysicalOffset() - last_pulled > in_memory_bytes_
             ? kFirstSlave
             : kMaster;
}

}  // namespace cometmq::broker
