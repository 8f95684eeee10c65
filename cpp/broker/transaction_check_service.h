#ifndef COMETMQ_BROKER_TRANSACTION_CHECK_SERVICE_H_
#define COMETMQ_BROKER_TRANSACTION_CHECK_SERVICE_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <thread>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "cpp/broker/consumer_offset_manager.h"
#include "cpp/remoting/command.h"
#include "cpp/store/message_store.h"

namespace cometmq::broker {

struct TransactionCheckOptions {
  // A half younger than this (since its born time, or its store time when
  // that is earlier) is not checked yet (transactionTimeOut).
  absl::Duration timeout = absl::Seconds(6);
  // Time between check rounds (transactionCheckInterval).
  absl::Duration interval = absl::Seconds(60);
  // Checks before a half is discarded (transactionCheckMax).
  int check_max = 15;
  // Op records read at a time.
  size_t op_read_batch = 100000;
};

// Asks producers about transactions they did not end (RocketMQ's
// TransactionalMessageCheckService). One named thread ("broker-txcheck")
// runs CheckOnce() every `interval`. A round reads the op records not yet
// passed (op_read_batch at a time, more whenever a half is not ended by those
// read so far), then walks the half queue from its progress offset:
//   - a half with an op record (or whose transaction id has one: another
//     copy of it was ended) is done;
//   - a half checked check_max times is discarded: it is copied to
//     TRANS_CHECK_MAX_TIME_TOPIC (created on first use, one queue, as in
//     RocketMQ), then an op record is appended and a warning logged;
//   - the first half younger than `timeout` ends the walk;
//   - a half that cannot be appended again (kMessageIllegal: its properties
//     leave no room for the count) is discarded as above, unchecked;
//   - any other half is appended again with TRANSACTION_CHECK_TIMES + 1 and
//     the new copy is sent to a live producer of its group (PGROUP) as a
//     oneway CHECK_TRANSACTION_STATE with the record as body. With no
//     producer online the check still counts, as in RocketMQ.
// Only halves present when the round began are walked, so copies appended by
// the round wait for the next one. An op record is passed once its half is
// behind the progress and so is every half present when a round first saw
// it (copies of its transaction may be among those, never after them).
//
// Guarantees: a half is never passed before it is done, discarded or copied
// (a failed append ends the round without moving on); the progress offsets
// are those of the group CID_SYS_RMQ_TRANS on the half and op topics,
// written to disk at the end of every round that moved them, so a restarted
// broker resumes where the last round ended and derives everything else
// (check counts, ended halves) from the half and op records in the log.
class TransactionCheckService {
 public:
  // Sends a check to a live producer of `group`; false when there is none
  // or the send failed.
  using CheckSender =
      std::function<bool(const std::string& group, remoting::Command request)>;
  // Makes sure TRANS_CHECK_MAX_TIME_TOPIC exists before a discarded half is
  // copied there.
  using DiscardTopicCreator = std::function<absl::Status()>;

  TransactionCheckService(TransactionCheckOptions options,
                          ConsumerOffsetManager* offsets, CheckSender sender,
                          DiscardTopicCreator create_discard_topic);
  ~TransactionCheckService();

  TransactionCheckService(const TransactionCheckService&) = delete;
  TransactionCheckService& operator=(const TransactionCheckService&) = delete;

  // `store` must outlive Shutdown().
  void Start(store::MessageStore* store);
  // Stops the thread (an ongoing round ends early). Idempotent.
  void Shutdown();

  // One round as of `now_ms`; the thread's work, public for tests. Needs a
  // store (Start() or SetStore()). Returns the checks sent this round.
  int CheckOnce(int64_t now_ms);
  void SetStore(store::MessageStore* store) { store_ = store; }

  int64_t checks() const { return checks_.load(); }
  int64_t discarded() const { return discarded_.load(); }

 private:
  void Run();
  bool Stopping() const;
  // Copies `half` to TRANS_CHECK_MAX_TIME_TOPIC and ends it with an op
  // record; false (logged) when either append failed.
  bool Discard(const RecordView& half, const std::string& id);
  int64_t Progress(absl::string_view topic) const;

  struct OpWindow;
  struct Round;
  // Reads up to `max_ops` more op records into `window`.
  static void ReadOps(const store::MessageStore& store, size_t max_ops,
                      OpWindow* window);
  // Op records below `window_end` not noted yet were first seen by a round
  // whose copies are all below `half_end`.
  void NoteFirstSeen(int64_t window_end, int64_t half_end)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(round_mu_);
  // True when an op record ends `half` (or its transaction `id`), reading
  // more op records while there are and none did.
  bool Ended(const RecordView& half, const std::string& id, Round* round)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(round_mu_);
  // Walks the half queue from round->next up to round->half_end, stopping
  // early at a young half, a failed append, a stop or kMaxRoundTime.
  void WalkHalves(Round* round) ABSL_EXCLUSIVE_LOCKS_REQUIRED(round_mu_);
  // Skips, discards or checks one half; false ends the walk.
  bool CheckHalf(const RecordView& half, Round* round)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(round_mu_);
  // Appends `half` again with its next check count and asks its producer
  // group about the copy; false (logged) when the append failed.
  bool AppendAndCheck(const RecordView& half, const std::string& id,
                      const std::string& group, int times, Round* round)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(round_mu_);
  // Sends CHECK_TRANSACTION_STATE for the copy `copied` appended at `put`;
  // false when no producer of `group` took it.
  bool SendCheck(const store::PutResult& put, const store::RecordSlice& copied,
                 const std::string& id, const std::string& group);
  // The op progress once the half progress is at `next`.
  int64_t PassOps(const OpWindow& ops, int64_t next)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(round_mu_);
  void SaveProgress(int64_t half_next, int64_t op_next);

  const TransactionCheckOptions options_;
  ConsumerOffsetManager* const offsets_;
  const CheckSender sender_;
  const DiscardTopicCreator create_discard_topic_;
  store::MessageStore* store_ = nullptr;
  std::atomic<int64_t> checks_{0};
  std::atomic<int64_t> discarded_{0};

  mutable absl::Mutex mu_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  absl::Mutex round_mu_;  // one round at a time (thread and tests)
  // (end of an op window, end of the half queue and of the copies appended
  // when it was read), since the op progress: an op record below the first
  // end was first seen when every copy of its transaction was below the
  // second.
  std::deque<std::pair<int64_t, int64_t>> first_seen_
      ABSL_GUARDED_BY(round_mu_);
  std::thread thread_;
};

}  // namespace cometmq::broker

#endif  // COMETMQ_BROKER_TRANSACTION_CHECK_SERVICE_H_
