#include "cpp/broker/transaction_check_service.h"

#include <pthread.h>

#include <map>
#include <optional>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "cpp/broker/real_queue.h"
#include "cpp/broker/transactional_message.h"
#include "spdlog/spdlog.h"

namespace cometmq::broker {
namespace {

constexpr int kBatch = 32;
constexpr int64_t kBatchBytes = 4 << 20;
// Op records read per round at most; the rest wait for the next round.
constexpr size_t kMaxOpsPerRound = 100000;
// One round walks for at most this long (as RocketMQ's MAX_PROCESS_TIME).
constexpr absl::Duration kMaxRoundTime = absl::Seconds(60);

// Op records from `from` on, in queue order: their half offsets (-1 for a
// malformed op) and the transaction ids they end.
struct OpWindow {
  int64_t from = 0;
  std::vector<int64_t> half_offsets;  // index i: op queue offset from + i
  absl::flat_hash_set<int64_t> removed;
  absl::flat_hash_set<std::string> ended_ids;
};

OpWindow ReadOps(const store::MessageStore& store, int64_t from) {
  OpWindow window;
  window.from = from;
  int64_t offset = from;
  while (window.half_offsets.size() < kMaxOpsPerRound) {
    store::GetResult got =
        store.Get(kTransOpHalfTopic, 0, offset, kBatch, kBatchBytes, {});
    if (got.status == store::GetStatus::kOffsetTooSmall &&
        window.half_offsets.empty() && got.next_begin_offset > offset) {
      // Retention removed old ops: they were all passed long ago.
      offset = got.next_begin_offset;
      window.from = offset;
      continue;
    }
    if (got.status != store::GetStatus::kFound) break;
    for (const store::RecordSlice& slice : got.messages) {
      RecordView record;
      std::optional<OpEntry> op;
      if (DecodeRecord(slice.data, slice.size, /*check_crc=*/false, &record) ==
          DecodeResult::kRecord) {
        op = ParseOp(record);
      }
      window.half_offsets.push_back(op.has_value() ? op->half_queue_offset
                                                   : -1);
      if (op.has_value()) {
        window.removed.insert(op->half_queue_offset);
        if (!op->transaction_id.empty()) {
          window.ended_ids.insert(op->transaction_id);
        }
      }
      ++offset;
    }
  }
  return window;
}

}  // namespace

TransactionCheckService::TransactionCheckService(
    TransactionCheckOptions options, ConsumerOffsetManager* offsets,
    CheckSender sender, DiscardTopicCreator create_discard_topic)
    : options_(options),
      offsets_(offsets),
      sender_(std::move(sender)),
      create_discard_topic_(std::move(create_discard_topic)) {}

TransactionCheckService::~TransactionCheckService() { Shutdown(); }

void TransactionCheckService::Start(store::MessageStore* store) {
  store_ = store;
  thread_ = std::thread([this] { Run(); });
}

void TransactionCheckService::Shutdown() {
  if (!thread_.joinable()) return;
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  thread_.join();
}

bool TransactionCheckService::Stopping() const {
  absl::MutexLock lock(&mu_);
  return stop_;
}

void TransactionCheckService::Run() {
  pthread_setname_np(pthread_self(), "broker-txcheck");
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      auto stopping = [this]()
                          ABSL_SHARED_LOCKS_REQUIRED(mu_) { return stop_; };
      if (mu_.AwaitWithTimeout(absl::Condition(&stopping), options_.interval)) {
        return;
      }
    }
    CheckOnce(absl::ToUnixMillis(absl::Now()));
  }
}

int64_t TransactionCheckService::Progress(absl::string_view topic) const {
  std::optional<int64_t> offset = offsets_->Query(kTransCheckGroup, topic, 0);
  const int64_t min = store_->MinOffsetInQueue(topic, 0);
  return offset.has_value() && *offset > min ? *offset : min;
}

bool TransactionCheckService::Discard(const RecordView& half,
                                      const std::string& id) {
  // Copy first: a crash between the two appends copies the half again on
  // the next round rather than losing it.
  if (absl::Status s = create_discard_topic_(); !s.ok()) {
    spdlog::warn("transaction check: cannot create {}: {}",
                 std::string(kTransCheckMaxTimeTopic), s.ToString());
    return false;
  }
  MessageToStore appends[] = {MakeDiscardedCopy(half),
                              MakeOpMessage(half.queue_offset, id)};
  for (MessageToStore& m : appends) {
    store::PutResult put = store_->PutOneSync(std::move(m));
    if (!store::PutStored(put.status)) {
      spdlog::warn("transaction check: cannot discard half {}: {}",
                   half.queue_offset, put.error);
      return false;
    }
  }
  return true;
}

int TransactionCheckService::CheckOnce(int64_t now_ms) {
  absl::MutexLock round(&round_mu_);
  const absl::Time round_start = absl::Now();
  const int64_t half_start = Progress(kTransHalfTopic);
  const int64_t half_end = store_->MaxOffsetInQueue(kTransHalfTopic, 0);
  const int64_t op_start = Progress(kTransOpHalfTopic);
  const OpWindow ops = ReadOps(*store_, op_start);
  const int64_t timeout_ms = absl::ToInt64Milliseconds(options_.timeout);

  int sent = 0;
  int64_t next = half_start;  // every half below it is done or copied
  bool walking = true;
  while (walking && next < half_end) {
    if (Stopping() || absl::Now() - round_start > kMaxRoundTime) break;
    if (ops.removed.contains(next)) {
      ++next;
      continue;
    }
    store::GetResult got =
        store_->Get(kTransHalfTopic, 0, next, kBatch, kBatchBytes, {});
    if (got.status != store::GetStatus::kFound) {
      if (got.next_begin_offset > next) {
        spdlog::warn("transaction check: half progress {} moved to {} ({})",
                     next, got.next_begin_offset,
                     store::GetStatusName(got.status));
        next = got.next_begin_offset;
        continue;
      }
      break;
    }
    for (const store::RecordSlice& slice : got.messages) {
      // Each append may wait up to syncFlushTimeout: look for a stop between.
      if (Stopping()) {
        walking = false;
        break;
      }
      RecordView half;
      if (DecodeRecord(slice.data, slice.size, /*check_crc=*/false, &half) !=
          DecodeResult::kRecord) {
        spdlog::error("transaction check: unreadable half at queue offset {}",
                      next);
        ++next;
        continue;
      }
      if (half.queue_offset >= half_end) {
        walking = false;
        break;
      }
      const std::string id = TransactionIdOf(half);
      if (ops.removed.contains(half.queue_offset) ||
          (!id.empty() && ops.ended_ids.contains(id))) {
        next = half.queue_offset + 1;
        continue;
      }
      const std::string group = std::string(
          FindProperty(half.properties, kPropertyProducerGroup).value_or(""));
      const int times = CheckTimesOf(half);
      if (times >= options_.check_max) {
        if (!Discard(half, id)) {
          walking = false;
          break;
        }
        discarded_.fetch_add(1);
        spdlog::warn(
            "transaction {} of producer group {} discarded after {} checks "
            "without an answer (half queue offset {}; copied to {})",
            id, group, times, half.queue_offset,
            std::string(kTransCheckMaxTimeTopic));
        next = half.queue_offset + 1;
        continue;
      }
      if (now_ms - half.born_timestamp < timeout_ms) {
        walking = false;  // later halves are younger still
        break;
      }
      // The copy carries the new count, so the count survives a restart.
      MessageToStore copy = CopyRecord(half);
      std::map<std::string, std::string> props =
          DecodeProperties(copy.properties);
      props[std::string(kPropertyCheckTimes)] = absl::StrCat(times + 1);
      copy.properties = EncodeProperties(props);
      store::PutResult put = store_->PutOneSync(std::move(copy));
      if (put.status == store::PutStatus::kMessageIllegal) {
        // Never appendable with its count (its properties leave no room):
        // discarded now, or every later half would wait behind it for good.
        if (!Discard(half, id)) {
          walking = false;
          break;
        }
        discarded_.fetch_add(1);
        spdlog::error(
            "transaction {} of producer group {} discarded unchecked: it "
            "cannot be appended again for a check ({}); half queue offset "
            "{}, copied to {}",
            id, group, put.error, half.queue_offset,
            std::string(kTransCheckMaxTimeTopic));
        next = half.queue_offset + 1;
        continue;
      }
      if (!store::PutStored(put.status)) {
        spdlog::warn("transaction check: cannot append half {} again: {}",
                     half.queue_offset, put.error);
        walking = false;
        break;
      }
      next = half.queue_offset + 1;
      checks_.fetch_add(1);
      store::RecordSlice copied;
      if (!store_->ReadRecord(put.physical_offset, &copied)) continue;
      remoting::Command check =
          remoting::MakeRequest(proto::CHECK_TRANSACTION_STATE);
      check.header.set_flags(proto::FLAG_ONEWAY);
      proto::CheckTransactionStateRequest* request =
          check.header.mutable_check_transaction_state();
      request->set_tran_state_table_offset(put.queue_offset);
      request->set_commit_log_offset(put.physical_offset);
      request->set_msg_id(put.offset_msg_ids.empty() ? std::string()
                                                     : put.offset_msg_ids[0]);
      request->set_transaction_id(id);
      request->set_producer_group(group);
      check.body = std::string(copied.bytes());
      if (sender_(group, std::move(check))) {
        ++sent;
      } else {
        spdlog::info(
            "transaction {}: no producer of group {} online to check "
            "(check {} of {})",
            id, group, times + 1, options_.check_max);
      }
    }
  }

  // Ops of halves now behind the progress are done too, but an op also ends
  // copies of its transaction elsewhere in the queue (by id), and it must
  // stay in the window until they are behind the progress as well. Every
  // copy was appended before the first round that saw the op began (that
  // round and later ones skip the transaction), so once the progress has
  // reached that round's half_end, none is left ahead. Op records not seen
  // by an earlier round of this process count as first seen now.
  const int64_t window_end =
      ops.from + static_cast<int64_t>(ops.half_offsets.size());
  if (first_seen_.empty() || window_end > first_seen_.back().first) {
    first_seen_.emplace_back(window_end, half_end);
  }
  int64_t op_next = ops.from;
  auto seen = first_seen_.begin();
  for (int64_t half_offset : ops.half_offsets) {
    while (seen->first <= op_next) ++seen;
    if (half_offset >= next || seen->second > next) break;
    ++op_next;
  }
  while (!first_seen_.empty() && first_seen_.front().first <= op_next) {
    first_seen_.pop_front();
  }
  if (next != half_start || op_next != op_start) {
    offsets_->Commit(kTransCheckGroup, kTransHalfTopic, 0, next);
    offsets_->Commit(kTransCheckGroup, kTransOpHalfTopic, 0, op_next);
    if (absl::Status s = offsets_->Persist(); !s.ok()) {
      spdlog::error("cannot persist transaction check progress: {}",
                    s.ToString());
    }
  }
  return sent;
}

}  // namespace cometmq::broker
