#ifndef COMETMQ_BROKER_LONG_POLLING_H_
#define COMETMQ_BROKER_LONG_POLLING_H_

#include <cstdint>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace cometmq::broker {

// Why a held pull is resumed.
enum class WakeReason { kArrived, kTimedOut, kShutdown };

// Pulls that found nothing new, held per topic@queue until a message arrives
// there or their deadline passes (RocketMQ's PullRequestHoldService).
//
// Guarantees: each held pull's `resume` runs exactly once — on the dispatch
// thread (OnArrival), on the "broker-pullhold" timer thread (deadline), in
// Hold() itself when a message arrived between the caller's read and the
// hold, or in Shutdown() with kShutdown. Resumes never run under the lock.
// After Shutdown(), Hold() resumes at once with kShutdown.
class LongPollingService {
 public:
  using Resume = std::function<void(WakeReason)>;
  // The queue's current max offset, to close the read-then-hold race.
  using MaxOffsetFn =
      std::function<int64_t(absl::string_view topic, int32_t queue_id)>;

  explicit LongPollingService(MaxOffsetFn max_offset);
  ~LongPollingService();

  LongPollingService(const LongPollingService&) = delete;
  LongPollingService& operator=(const LongPollingService&) = delete;

  void Start();
  // Holds a pull that read nothing at `offset` until `deadline`.
  void Hold(absl::string_view topic, int32_t queue_id, int64_t offset,
            absl::Time deadline, Resume resume);
  // Store hook: messages up to `max_offset` (exclusive) are readable.
  void OnArrival(absl::string_view topic, int32_t queue_id, int64_t max_offset);
  // Answers every held pull (kShutdown) and stops the timer thread.
  void Shutdown();

  size_t held() const;

 private:
  struct Held {
    uint64_t id;
    int64_t offset;
    absl::Time deadline;
    Resume resume;
  };

  void TimerLoop();
  // Removes the entry with `id` from `key`; true if it was still held.
  bool TakeLocked(const std::string& key, uint64_t id, Resume* resume)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const MaxOffsetFn max_offset_;
  std::thread timer_;

  mutable absl::Mutex mu_;
  absl::CondVar timer_cv_;
  // When the sleeping timer thread wakes up by itself; InfinitePast while
  // it is awake (it then sees every hold before sleeping again).
  absl::Time timer_wakes_at_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  absl::flat_hash_map<std::string, std::vector<Held>> held_
      ABSL_GUARDED_BY(mu_);
  uint64_t next_id_ ABSL_GUARDED_BY(mu_) = 1;
  size_t count_ ABSL_GUARDED_BY(mu_) = 0;
  bool started_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace cometmq::broker

#endif  // COMETMQ_BROKER_LONG_POLLING_H_
