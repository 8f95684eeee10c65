#include "cpp/broker/transaction_check_service.h"

#include <pthread.h>

#include <algorithm>
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
// One round walks for at most this long (as RocketMQ's MAX_PROCESS_TIME).
constexpr absl::Duration kMaxRoundTime = absl::Seconds(60);

}  // namespace

// Op records from `from` on, in queue order: their half offsets (-1 for a
// malformed op) and the transaction ids they end.
struct TransactionCheckService::OpWindow {
  int64_t from = 0;
  std::vector<int64_t> half_offsets;  // index i: op queue offset from + i
  absl::flat_hash_set<int64_t> removed;
  absl::flat_hash_set<std::string> ended_ids;
  bool more = false;  // the last read stopped at its limit, not the end

  int64_t end() const {
    return from + static_cast<int64_t>(half_offsets.size());
  }
};

void TransactionCheckService::ReadOps(const store::MessageStore& store,
                                      size_t max_ops, OpWindow* window) {
  int64_t offset = window->end();
  size_t read = 0;
  window->more = false;
  while (true) {
    if (read >= max_ops) {
      window->more = true;
      return;
    }
    store::GetResult got =
        store.Get(kTransOpHalfTopic, 0, offset,
                  static_cast<int>(std::min<size_t>(kBatch, max_ops - read)),
                  kBatchBytes, {});
    if (got.status == store::GetStatus::kOffsetTooSmall &&
        window->half_offsets.empty() && got.next_begin_offset > offset) {
      // Retention removed old ops: they were all passed long ago.
      offset = got.next_begin_offset;
      window->from = offset;
      continue;
    }
    if (got.status != store::GetStatus::kFound) return;
    for (const store::RecordSlice& slice : got.messages) {
      RecordView record;
      std::optional<OpEntry> op;
      if (DecodeRecord(slice.data, slice.size, /*check_crc=*/false, &record) ==
          DecodeResult::kRecord) {
        op = ParseOp(record);
      }
      window->half_offsets.push_back(op.has_value() ? op->half_queue_offset
                                                    : -1);
      if (op.has_value()) {
        window->removed.insert(op->half_queue_offset);
        if (!op->transaction_id.empty()) {
          window->ended_ids.insert(op->transaction_id);
        }
      }
      ++offset;
      ++read;
    }
  }
}

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

// One round's view: what it reads at its start and how far it got.
struct TransactionCheckService::Round {
  int64_t now_ms = 0;
  absl::Time start;
  int64_t half_end = 0;  // halves from here on wait for the next round
  // One past the last copy this round appended (at or past half_end).
  int64_t appended_end = 0;
  OpWindow ops;
  int64_t next = 0;  // every half below it is done or copied
  int sent = 0;
};

int TransactionCheckService::CheckOnce(int64_t now_ms) {
  absl::MutexLock lock(&round_mu_);
  Round round;
  round.now_ms = now_ms;
  round.start = absl::Now();
  const int64_t half_start = Progress(kTransHalfTopic);
  round.half_end = store_->MaxOffsetInQueue(kTransHalfTopic, 0);
  const int64_t op_start = Progress(kTransOpHalfTopic);
  round.ops.from = op_start;
  ReadOps(*store_, options_.op_read_batch, &round.ops);
  // Op records not seen by an earlier round of this process count as first
  // seen now.
  NoteFirstSeen(round.ops.end(), round.half_end);
  round.next = half_start;
  WalkHalves(&round);
  const int64_t op_next = PassOps(round.ops, round.next);
  if (round.next != half_start || op_next != op_start) {
    SaveProgress(round.next, op_next);
  }
  return round.sent;
}

void TransactionCheckService::WalkHalves(Round* round) {
  while (round->next < round->half_end) {
    if (Stopping() || absl::Now() - round->start > kMaxRoundTime) return;
    if (round->ops.removed.contains(round->next)) {
      ++round->next;
      continue;
    }
    store::GetResult got =
        store_->Get(kTransHalfTopic, 0, round->next, kBatch, kBatchBytes, {});
    if (got.status != store::GetStatus::kFound) {
      if (got.next_begin_offset <= round->next) return;
      spdlog::warn("transaction check: half progress {} moved to {} ({})",
                   round->next, got.next_begin_offset,
                   store::GetStatusName(got.status));
      round->next = got.next_begin_offset;
      continue;
    }
    for (const store::RecordSlice& slice : got.messages) {
      // Each append may wait up to syncFlushTimeout: look for a stop between.
      if (Stopping()) return;
      RecordView half;
      if (DecodeRecord(slice.data, slice.size, /*check_crc=*/false, &half) !=
          DecodeResult::kRecord) {
        spdlog::error("transaction check: unreadable half at queue offset {}",
                      round->next);
        ++round->next;
        continue;
      }
      if (half.queue_offset >= round->half_end) return;
      if (!CheckHalf(half, round)) return;
    }
  }
}

bool TransactionCheckService::Ended(const RecordView& half,
                                    const std::string& id, Round* round) {
  auto ended = [&] {
    return round->ops.removed.contains(half.queue_offset) ||
           (!id.empty() && round->ops.ended_ids.contains(id));
  };
  // Not known to be ended by the op records read so far: read on before
  // asking, or a transaction ended by a later op record would be asked
  // about (and a COMMIT answer re-put) again.
  while (!ended() && round->ops.more) {
    ReadOps(*store_, options_.op_read_batch, &round->ops);
    // Copies of their transactions may already sit past half_end: this
    // round appended them before it read these op records.
    NoteFirstSeen(round->ops.end(),
                  std::max(round->half_end, round->appended_end));
  }
  return ended();
}

bool TransactionCheckService::CheckHalf(const RecordView& half, Round* round) {
  const std::string id = TransactionIdOf(half);
  if (Ended(half, id, round)) {
    round->next = half.queue_offset + 1;
    return true;
  }
  const std::string group = std::string(
      FindProperty(half.properties, kPropertyProducerGroup).value_or(""));
  const int times = CheckTimesOf(half);
  if (times >= options_.check_max) {
    if (!Discard(half, id)) return false;
    discarded_.fetch_add(1);
    spdlog::warn(
        "transaction {} of producer group {} discarded after {} checks "
        "without an answer (half queue offset {}; copied to {})",
        id, group, times, half.queue_offset,
        std::string(kTransCheckMaxTimeTopic));
    round->next = half.queue_offset + 1;
    return true;
  }
  // Later halves are younger still. A born time ahead of the broker's clock
  // (a producer's clock, or a bogus value) would keep a half "young", and
  // every half behind it unchecked, for as long as it is ahead: the
  // broker's own store time bounds it.
  const int64_t born = std::min(half.born_timestamp, half.store_timestamp);
  if (round->now_ms - born < absl::ToInt64Milliseconds(options_.timeout)) {
    return false;
  }
  return AppendAndCheck(half, id, group, times, round);
}

bool TransactionCheckService::AppendAndCheck(const RecordView& half,
                                             const std::string& id,
                                             const std::string& group,
                                             int times, Round* round) {
  // The copy carries the new count, so the count survives a restart.
  MessageToStore copy = CopyRecord(half);
  std::map<std::string, std::string> props = DecodeProperties(copy.properties);
  props[std::string(kPropertyCheckTimes)] = absl::StrCat(times + 1);
  copy.properties = EncodeProperties(props);
  store::PutResult put = store_->PutOneSync(std::move(copy));
  if (put.status == store::PutStatus::kMessageIllegal) {
    // Never appendable with its count (its properties leave no room):
    // discarded now, or every later half would wait behind it for good.
    if (!Discard(half, id)) return false;
    discarded_.fetch_add(1);
    spdlog::error(
        "transaction {} of producer group {} discarded unchecked: it "
        "cannot be appended again for a check ({}); half queue offset "
        "{}, copied to {}",
        id, group, put.error, half.queue_offset,
        std::string(kTransCheckMaxTimeTopic));
    round->next = half.queue_offset + 1;
    return true;
  }
  if (!store::PutStored(put.status)) {
    spdlog::warn("transaction check: cannot append half {} again: {}",
                 half.queue_offset, put.error);
    return false;
  }
  round->next = half.queue_offset + 1;
  round->appended_end = std::max(round->appended_end, put.queue_offset + 1);
  checks_.fetch_add(1);
  store::RecordSlice copied;
  if (!store_->ReadRecord(put.physical_offset, &copied)) return true;
  if (SendCheck(put, copied, id, group)) {
    ++round->sent;
  } else {
    spdlog::info(
        "transaction {}: no producer of group {} online to check "
        "(check {} of {})",
        id, group, times + 1, options_.check_max);
  }
  return true;
}

bool TransactionCheckService::SendCheck(const store::PutResult& put,
                                        const store::RecordSlice& copied,
                                        const std::string& id,
                                        const std::string& group) {
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
  return sender_(group, std::move(check));
}

void TransactionCheckService::NoteFirstSeen(int64_t window_end,
                                            int64_t half_end) {
  if (first_seen_.empty() || window_end > first_seen_.back().first) {
    first_seen_.emplace_back(window_end, half_end);
  }
}

int64_t TransactionCheckService::PassOps(const OpWindow& ops, int64_t next) {
  // Ops of halves now behind the progress are done too, but an op also ends
  // copies of its transaction elsewhere in the queue (by id), and it must
  // stay in the window until they are behind the progress as well. Every
  // copy was appended before the first round that saw the op began, or by
  // that round before it read the op (that round and later ones skip the
  // transaction once they know the op), so once the progress has reached
  // what first_seen_ noted for the op, none is left ahead.
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
  return op_next;
}

void TransactionCheckService::SaveProgress(int64_t half_next, int64_t op_next) {
  offsets_->Commit(kTransCheckGroup, kTransHalfTopic, 0, half_next);
  offsets_->Commit(kTransCheckGroup, kTransOpHalfTopic, 0, op_next);
  if (absl::Status s = offsets_->Persist(); !s.ok()) {
    spdlog::error("cannot persist transaction check progress: {}",
                  s.ToString());
  }
}

}  // namespace cometmq::broker
