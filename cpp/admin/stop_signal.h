#ifndef COMETMQ_ADMIN_STOP_SIGNAL_H_
#define COMETMQ_ADMIN_STOP_SIGNAL_H_

#include <csignal>
#include <memory>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace cometmq::admin {

// Lets a repeating subcommand (clusterList -i) wait between rounds and end
// cleanly on SIGINT or SIGTERM. While an instance lives, those signals no
// longer kill the process (whichever thread takes them): they only wake
// WaitFor(). The previous handlers come back when it is destroyed. At most
// one instance at a time.
class StopSignal {
 public:
  // FailedPrecondition when another instance lives; Internal when the pipe
  // or the handlers cannot be set up.
  static absl::StatusOr<std::unique_ptr<StopSignal>> Install();
  ~StopSignal();

  StopSignal(const StopSignal&) = delete;
  StopSignal& operator=(const StopSignal&) = delete;

  // Waits up to `timeout`; true once SIGINT or SIGTERM arrived (also one
  // that arrived before the call), false when the time passed without one.
  bool WaitFor(absl::Duration timeout);

 private:
  StopSignal(int read_fd, int write_fd);

  const int read_fd_;
  const int write_fd_;
  bool stopped_ = false;
  struct sigaction old_int_ {};
  struct sigaction old_term_ {};
};

}  // namespace cometmq::admin

#endif  // COMETMQ_ADMIN_STOP_SIGNAL_H_
