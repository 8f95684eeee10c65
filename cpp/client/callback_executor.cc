#include "cpp/client/callback_executor.h"

#include <pthread.h>

#include <utility>
#include <vector>

namespace cometmq::client {
namespace {

thread_local bool in_callback_thread = false;

}  // namespace

struct CallbackExecutor::State {
  absl::Mutex mu;
  absl::CondVar wake;
  std::vector<std::function<void()>> queue ABSL_GUARDED_BY(mu);
  // The thread waits on `wake`: the next post must signal it.
  bool idle ABSL_GUARDED_BY(mu) = false;
  bool stopping ABSL_GUARDED_BY(mu) = false;

  void Run() {
    in_callback_thread = true;
    std::vector<std::function<void()>> batch;
    while (true) {
      {
        absl::MutexLock lock(&mu);
        while (queue.empty() && !stopping) {
          idle = true;
          wake.Wait(&mu);
        }
        idle = false;
        if (queue.empty()) return;  // stopping, and everything has run
        batch.swap(queue);
      }
      for (std::function<void()>& task : batch) {
        task();
        // Destroyed before the next one runs: what a callback holds goes
        // when it is done, as it would without the batch.
        task = nullptr;
      }
      batch.clear();
    }
  }
};

CallbackExecutor::CallbackExecutor(const std::string& name)
    : state_(std::make_shared<State>()) {
  std::string thread_name = name.substr(0, 15);
  absl::MutexLock lock(&join_mu_);
  // The thread owns the state too: after a Shutdown from the thread itself
  // this object may be gone while the thread finishes.
  thread_ = std::thread([state = state_, thread_name] {
    pthread_setname_np(pthread_self(), thread_name.c_str());
    state->Run();
  });
}

CallbackExecutor::~CallbackExecutor() { Shutdown(); }

bool CallbackExecutor::Post(std::function<void()>&& task) {
  bool signal;
  {
    absl::MutexLock lock(&state_->mu);
    if (state_->stopping) return false;
    state_->queue.push_back(std::move(task));
    signal = state_->idle;
    // Later posts of this batch need not signal: the thread is woken.
    state_->idle = false;
  }
  if (signal) state_->wake.Signal();
  return true;
}

void CallbackExecutor::Shutdown() {
  {
    absl::MutexLock lock(&state_->mu);
    state_->stopping = true;
  }
  state_->wake.Signal();
  absl::MutexLock lock(&join_mu_);
  if (!thread_.joinable()) return;
  if (thread_.get_id() == std::this_thread::get_id()) {
    thread_.detach();
  } else {
    thread_.join();
  }
}

bool CallbackExecutor::InCallbackThread() { return in_callback_thread; }

}  // namespace cometmq::client
