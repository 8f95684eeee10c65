#include "cpp/admin/stop_signal.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace cometmq::admin {
namespace {

// The write end of the live instance's pipe; -1 when none. A signal handler
// may only touch lock-free atomics and async-signal-safe calls.
std::atomic<int> g_write_fd{-1};

void OnStopSignal(int) {
  const int saved_errno = errno;
  const int fd = g_write_fd.load();
  if (fd >= 0) {
    const char byte = 1;
    // Non-blocking: a full pipe already holds a wake-up.
    [[maybe_unused]] ssize_t n = write(fd, &byte, 1);
  }
  errno = saved_errno;
}

absl::Status ErrnoError(const char* what) {
  return absl::InternalError(absl::StrCat(what, ": ", std::strerror(errno)));
}

}  // namespace

absl::StatusOr<std::unique_ptr<StopSignal>> StopSignal::Install() {
  if (g_write_fd.load() >= 0) {
    return absl::FailedPreconditionError("a StopSignal is already installed");
  }
  int fds[2];
  if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) return ErrnoError("pipe2");
  std::unique_ptr<StopSignal> stop(new StopSignal(fds[0], fds[1]));
  g_write_fd.store(fds[1]);
  struct sigaction action {};
  action.sa_handler = OnStopSignal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  if (sigaction(SIGINT, &action, &stop->old_int_) != 0 ||
      sigaction(SIGTERM, &action, &stop->old_term_) != 0) {
    return ErrnoError("sigaction");  // the destructor restores and closes
  }
  return stop;
}

StopSignal::StopSignal(int read_fd, int write_fd)
    : read_fd_(read_fd), write_fd_(write_fd) {
  old_int_.sa_handler = SIG_DFL;
  old_term_.sa_handler = SIG_DFL;
}

StopSignal::~StopSignal() {
  sigaction(SIGINT, &old_int_, nullptr);
  sigaction(SIGTERM, &old_term_, nullptr);
  g_write_fd.store(-1);
  close(read_fd_);
  close(write_fd_);
}

bool StopSignal::WaitFor(absl::Duration timeout) {
  if (stopped_) return true;
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    const absl::Duration left = deadline - absl::Now();
    const int millis =
        left <= absl::ZeroDuration()
            ? 0
            : static_cast<int>(absl::ToInt64Milliseconds(
                  left + absl::Milliseconds(1) - absl::Nanoseconds(1)));
    struct pollfd pfd {};
    pfd.fd = read_fd_;
    pfd.events = POLLIN;
    const int ready = poll(&pfd, 1, millis);
    if (ready > 0) {
      stopped_ = true;
      return true;
    }
    if (ready == 0 && absl::Now() >= deadline) return false;
    if (ready < 0 && errno != EINTR) {
      // Cannot wait any more (never expected): stopping beats spinning.
      stopped_ = true;
      return true;
    }
    // EINTR (the handler ran on this thread: the pipe is readable now) or
    // an early wake-up: look again.
  }
}

}  // namespace cometmq::admin
