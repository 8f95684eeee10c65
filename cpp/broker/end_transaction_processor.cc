#include "cpp/broker/end_transaction_processor.h"

#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "cpp/broker/transactional_message.h"
#include "spdlog/spdlog.h"

namespace cometmq::broker {
namespace {

using remoting::Command;
using remoting::MakeResponse;

const char* TypeName(int32_t type) {
  switch (type) {
    case kTransactionCommitType:
      return "COMMIT";
    case kTransactionRollbackType:
      return "ROLLBACK";
    default:
      return "UNKNOWN";
  }
}

}  // namespace

EndTransactionProcessor::EndTransactionProcessor(const BrokerConfig& config,
                                                 store::MessageStore* store,
                                                 ThreadPool* pool)
    : config_(config), store_(store), pool_(pool) {}

void EndTransactionProcessor::Handle(Command request,
                                     remoting::Responder responder) {
  auto shared = std::make_shared<Command>(std::move(request));
  if (!pool_->TrySubmit(
          [this, shared, responder] { Process(*shared, responder); })) {
    responder.Respond(MakeResponse(
        *shared, proto::SYSTEM_BUSY,
        "[TOO_MANY_REQUESTS] the broker's send queue is full; try later"));
  }
}

void EndTransactionProcessor::Finish(const std::string& id, int32_t type,
                                     bool stored) {
  absl::MutexLock lock(&mu_);
  if (!stored) {
    ended_.erase(id);
    return;
  }
  ended_[id] = type;
  ended_order_.push_back(id);
  while (ended_order_.size() > kRememberedTransactions) {
    ended_.erase(ended_order_.front());
    ended_order_.pop_front();
  }
}

void EndTransactionProcessor::Process(const Command& request,
                                      const remoting::Responder& responder) {
  if (!request.header.has_end_transaction()) {
    responder.Respond(
        remoting::MissingPayloadResponse(request, "end_transaction"));
    return;
  }
  const proto::EndTransactionRequest& end = request.header.end_transaction();
  auto answer = [&](proto::StatusCode code, absl::string_view remark) {
    responder.Respond(MakeResponse(request, code, remark));
  };
  const int32_t type = end.commit_or_rollback();
  if (type == kTransactionNotType) {
    // The producer does not know yet; the check service asks again.
    spdlog::info("transaction {} of group {} still unknown{}",
                 end.transaction_id(), end.producer_group(),
                 end.from_transaction_check() ? " (check answer)" : "");
    return answer(proto::SUCCESS, "");
  }
  if (type != kTransactionCommitType && type != kTransactionRollbackType) {
    return answer(proto::BAD_REQUEST,
                  absl::StrCat("commit_or_rollback ", type,
                               " is not COMMIT (8), ROLLBACK (12) or NOT (0)"));
  }
  if ((config_.brokerPermission.load() & proto::PERM_WRITE) == 0) {
    return answer(proto::NO_PERMISSION,
                  absl::StrCat("the broker[", config_.brokerName,
                               "] sending message is forbidden"));
  }
  store::RecordSlice slice;
  RecordView half;
  if (!store_->ReadRecord(end.commit_log_offset(), &slice) ||
      DecodeRecord(slice.data, slice.size, /*check_crc=*/false, &half) !=
          DecodeResult::kRecord ||
      half.topic != kTransHalfTopic) {
    return answer(proto::SYSTEM_ERROR,
                  absl::StrCat("no prepared transaction message at commit log "
                               "offset ",
                               end.commit_log_offset()));
  }
  const std::string group = std::string(
      FindProperty(half.properties, kPropertyProducerGroup).value_or(""));
  if (group != end.producer_group()) {
    return answer(proto::BAD_REQUEST,
                  absl::StrCat("the half message belongs to producer group[",
                               group, "], not [", end.producer_group(), "]"));
  }
  if (half.queue_offset != end.tran_state_table_offset()) {
    return answer(proto::BAD_REQUEST,
                  absl::StrCat("the half message at commit log offset ",
                               end.commit_log_offset(), " has queue offset ",
                               half.queue_offset, ", not ",
                               end.tran_state_table_offset()));
  }
  std::string id = TransactionIdOf(half);
  if (id.empty()) id = absl::StrCat("@", half.physical_offset);
  {
    absl::MutexLock lock(&mu_);
    auto [it, claimed] = ended_.try_emplace(id, kInFlight);
    if (!claimed) {
      if (it->second == type) return answer(proto::SUCCESS, "already ended");
      if (it->second == kInFlight) {
        return answer(proto::SYSTEM_BUSY,
                      absl::StrCat("transaction ", id,
                                   " is being ended by another request"));
      }
      return answer(proto::BAD_REQUEST,
                    absl::StrCat("transaction ", id, " was already ended with ",
                                 TypeName(it->second)));
    }
  }

  MessageToStore op = MakeOpMessage(half.queue_offset, id);
  auto respond = [this, id, type, request_header = Command{request.header, {}},
                  responder](store::PutResult result) {
    const bool stored = store::PutStored(result.status);
    Finish(id, type, stored);
    if (stored) {
      (type == kTransactionCommitType ? committed_ : rolled_back_).fetch_add(1);
    }
    responder.Respond(MakeResponse(
        request_header, stored ? proto::SUCCESS : proto::SYSTEM_ERROR,
        stored ? "" : result.error));
  };
  if (type == kTransactionRollbackType) {
    std::vector<MessageToStore> one;
    one.push_back(std::move(op));
    store_->Put(std::move(one), std::move(respond));
    return;
  }

  MessageToStore real;
  if (!RestoreFromHalf(half, &real)) {
    Finish(id, type, false);
    return answer(
        proto::SYSTEM_ERROR,
        absl::StrCat("the half message at commit log offset ",
                     end.commit_log_offset(), " has no ", kPropertyRealTopic));
  }
  // One append of both, the op right after the real message: the log is
  // flushed and recovered as a prefix, so whatever a crash keeps of it
  // (even unflushed, from the page cache a killed process leaves), the op
  // is never kept without its real message (which would lose it), and the
  // real message is kept without its op only if the crash cut the append
  // itself. Appended apart, the op waited for the real message's flush
  // under SYNC_FLUSH, and a crash in that wait left a half that the check
  // service then had committed, and delivered, a second time.
  std::vector<MessageToStore> both;
  both.push_back(std::move(real));
  both.push_back(std::move(op));
  store_->Put(std::move(both), std::move(respond));
}

}  // namespace cometmq::broker
