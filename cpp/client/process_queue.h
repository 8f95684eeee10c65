#ifndef COMETMQ_CLIENT_PROCESS_QUEUE_H_
#define COMETMQ_CLIENT_PROCESS_QUEUE_H_

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "cpp/client/message.h"
#include "cpp/client/message_queue.h"

namespace cometmq::client {

// A consumer's view of one owned queue (RocketMQ's ProcessQueue): the
// messages pulled and not yet consumed, keyed by queue offset, and how far
// pulling got. Guarantee: CommittableOffset() is the lowest offset not yet
// consumed, so committing it never skips a message, however out of order
// consumption finishes. For orderly consumption it also buffers the pulled
// messages in offset order, carries the broker lock state, and has the
// consume lock that keeps a rebalance from releasing the queue while a
// message is being consumed. For concurrent push consumption it records
// when each listener call began, so a call past the consume timeout can
// have its message sent back and removed, and that call's own result is
// then ignored. Thread-safe.
class ProcessQueue {
 public:
  ProcessQueue(MessageQueue queue, int64_t next_offset);

  const MessageQueue& queue() const { return queue_; }

  // Where the next pull starts.
  int64_t next_offset() const;
  // Records a pull answer: `messages` (those that passed the filter) are now
  // in flight, and everything before `next_offset` has been seen.
  void OnPulled(const std::vector<MessageExt>& messages, int64_t next_offset);
  // The message at `queue_offset` is consumed.
  void Remove(int64_t queue_offset);

  // The lowest offset not consumed yet; the pinned offset once pinned.
  int64_t CommittableOffset() const;
  // A broker's offset reset moved the queue to `offset` and this process
  // queue was replaced: whatever still commits it (a given-up queue's final
  // commit, a shutdown) commits `offset` from now on, never what the
  // consumption still running here reaches, which would undo the reset.
  void PinCommittable(int64_t offset);

  int64_t cached_count() const;
  int64_t cached_bytes() const;
  // The highest offset held minus the lowest (RocketMQ's getMaxSpan); 0
  // when at most one message is held.
  int64_t MaxSpan() const;

  // Concurrent push consumption, for consume timeouts. ConsumeStarted
  // records that the listener call on the held message at `queue_offset`
  // begins at `now` (`message` is kept for a send-back and must not change
  // until ConsumeEnded). ConsumeEnded says the call returned and whether
  // its result is still this call's to act on: false when the message was
  // taken by TakeExpired (being sent back, or already sent back and
  // removed), which deals with it instead; the caller may then still
  // Remove it (a late success) but must leave `message` unchanged.
  void ConsumeStarted(int64_t queue_offset,
                      std::shared_ptr<const MessageExt> message,
                      absl::Time now);
  bool ConsumeEnded(int64_t queue_offset);
  // Copies of the lowest held messages whose listener call began more than
  // `timeout` before `now`, lowest first, stopping at the first that did
  // not (at most `max`), as RocketMQ's cleanExpiredMsg: each is marked as
  // being sent back until Remove (the send-back succeeded) or
  // ReturnExpired (it failed). ReturnExpired returns true when the call
  // ended meanwhile without removing it (a late failure, which left it to
  // the send-back): it is then no longer timed and the caller must hand it
  // to the listener again, as any failed message no broker took back;
  // false when it is gone or its call still runs (taken again at a later
  // check).
  std::vector<MessageExt> TakeExpired(absl::Time now, absl::Duration timeout,
                                      int max);
  bool ReturnExpired(int64_t queue_offset);

  // Dropping stops pulls and delivery; consumption already running finishes.
  void Drop() { dropped_ = true; }
  bool dropped() const { return dropped_; }

  // Brackets a listener call, so a drop can wait for it.
  void BeginConsume();
  // True when no listener call on this queue runs any more.
  bool EndConsume();
  // True when nothing was being consumed within `limit`.
  bool WaitConsumeIdle(absl::Duration limit);

  // Orderly: the pulled messages waiting for the queue's one consume task,
  // lowest offset first. PutOrderly returns true when no task was running:
  // the caller must start one. TakeOrderly returns the next message, or
  // nullopt when none is left, which also ends the task (the next PutOrderly
  // starts another).
  bool PutOrderly(std::vector<MessageExt> messages);
  std::optional<MessageExt> TakeOrderly();
  // Up to `max` next messages, lowest offset first (RocketMQ's
  // takeMessages); empty when none is left, which ends the task as
  // TakeOrderly's nullopt does.
  std::vector<MessageExt> TakeOrderly(size_t max);
  // A taken message to be taken again first (a local retry).
  void PutBackOrderly(MessageExt message);

  // Orderly: held around each listener call. A rebalance giving the queue up
  // takes it (with a timeout) after Drop(), so the message in flight is
  // finished and its offset committable before the broker lock is released.
  void LockConsume();
  bool TryLockConsume(absl::Duration timeout);
  void UnlockConsume();

  // Orderly, clustering: whether this client holds the queue's broker lock,
  // and whether it was last confirmed within `ttl` of `now` (a client that
  // could not renew stops consuming before the broker lock expires). `now`
  // is a MonotonicNow() reading, so a wall clock step neither pauses nor
  // prolongs consumption.
  void SetLocked(bool locked, absl::Time now);
  bool locked() const;
  bool LockFresh(absl::Time now, absl::Duration ttl) const;
  // Takes `from`'s broker lock state (held, and when last confirmed): a
  // process queue replacing another of the same queue holds its lock.
  void InheritLock(const ProcessQueue& from);

  // The last offset committed to the offset store, to skip repeat commits.
  int64_t last_committed() const { return last_committed_; }
  void set_last_committed(int64_t offset) { last_committed_ = offset; }

  // The broker id (0 master, >0 slave) the last pull answer suggested.
  int64_t suggested_broker_id() const { return suggested_broker_id_; }
  void set_suggested_broker_id(int64_t id) { suggested_broker_id_ = id; }

 private:
  const MessageQueue queue_;
  std::atomic<bool> dropped_{false};
  std::atomic<int64_t> last_committed_{-1};
  std::atomic<int64_t> suggested_broker_id_{0};

  mutable absl::Mutex mu_;
  // A message pulled and not yet consumed.
  struct Held {
    int64_t size = 0;
    // Concurrent push: while its listener call runs, when it began and the
    // message; InfinitePast and null otherwise.
    absl::Time consume_start = absl::InfinitePast();
    std::shared_ptr<const MessageExt> consuming;
    // Taken by TakeExpired: its send-back is in progress.
    bool expiring = false;
    // Its call ended while it was expiring (ConsumeEnded returned false).
    bool call_ended = false;
  };
  std::map<int64_t, Held> in_flight_ ABSL_GUARDED_BY(mu_);  // by offset
  int64_t next_offset_ ABSL_GUARDED_BY(mu_);
  std::optional<int64_t> pinned_ ABSL_GUARDED_BY(mu_);
  int64_t cached_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  int consuming_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<int64_t, MessageExt> orderly_ ABSL_GUARDED_BY(mu_);
  bool orderly_task_ ABSL_GUARDED_BY(mu_) = false;
  bool consume_locked_ ABSL_GUARDED_BY(mu_) = false;
  bool locked_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time last_lock_time_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
};

}  // namespace cometmq::client

#endif  // COMETMQ_CLIENT_PROCESS_QUEUE_H_
