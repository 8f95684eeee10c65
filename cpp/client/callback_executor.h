#ifndef COMETMQ_CLIENT_CALLBACK_EXECUTOR_H_
#define COMETMQ_CLIENT_CALLBACK_EXECUTOR_H_

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/synchronization/mutex.h"

namespace cometmq::client {

// One named thread running posted callbacks in posting order: the user
// callbacks of a client (SendAsync's), kept off the remoting I/O thread so
// that they may block or make synchronous requests without stalling the
// client's network I/O, as RocketMQ's callbackExecutor does.
//
// Posting is cheap under load: the thread takes everything queued in one
// swap, and a post wakes it only when it is idle, so a burst of completions
// costs one wake and one lock round per batch, not per callback.
//
// Guarantees: Post never blocks on running callbacks (the I/O thread posts);
// after Shutdown() returns, every callback posted before it has run. Shutdown
// from the callback thread itself (the last owner of a client dropped in a
// callback) cannot wait for itself: the thread then runs what is queued and
// exits on its own, and the state it uses outlives this object.
class CallbackExecutor {
 public:
  // `name` is the thread's name (at most 15 characters are kept).
  explicit CallbackExecutor(const std::string& name);
  ~CallbackExecutor();

  CallbackExecutor(const CallbackExecutor&) = delete;
  CallbackExecutor& operator=(const CallbackExecutor&) = delete;

  // False once Shutdown() began; `task` is then left to the caller.
  bool Post(std::function<void()>&& task);
  // Idempotent.
  void Shutdown();

  // True on the thread of any CallbackExecutor, i.e. inside a client
  // callback, where waiting for other callbacks would wait for this thread.
  static bool InCallbackThread();

 private:
  struct State;

  const std::shared_ptr<State> state_;
  absl::Mutex join_mu_;
  std::thread thread_ ABSL_GUARDED_BY(join_mu_);
};

}  // namespace cometmq::client

#endif  // COMETMQ_CLIENT_CALLBACK_EXECUTOR_H_
