#ifndef COMETMQ_REMOTING_CONNECTION_H_
#define COMETMQ_REMOTING_CONNECTION_H_

#include <atomic>
#include <deque>
#include <functional>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "cpp/remoting/asio.h"
#include "cpp/remoting/command.h"
#include "cpp/remoting/frame_codec.h"

namespace cometmq::remoting {

struct ConnectionOptions {
  uint32_t max_frame_size = kDefaultMaxFrameSize;
  // Bytes of frames queued for writing before Send() refuses more; reading
  // pauses at half of it, so a peer that does not read its responses stops
  // being read from instead of growing our memory.
  size_t max_write_queue_bytes = 64 * 1024 * 1024;
  // A connection with no bytes read or written for this long is closed,
  // also when frames are queued that the peer does not read (as RocketMQ's
  // all-idle check does). Zero disables the check.
  absl::Duration idle_timeout = absl::Seconds(120);
  // When nothing is queued or being written, Send() called off the
  // connection's strand writes the frame itself with a non-blocking send
  // instead of waking an I/O thread to do it (what is not taken by the
  // socket is queued as usual). Clients set it: their callers are the
  // sending threads. Servers answer mostly from I/O threads, where replies
  // are gathered per read instead.
  bool write_from_caller = false;
};

// One TCP connection carrying frames both ways. Reads are decoded into
// commands and handed to `on_frame` on the connection's strand; Send() may be
// called from any thread and is queued, with a bound. Frames sent by
// `on_frame` handlers are gathered and written once the frames of that read
// have been handled (one writev for many replies). `on_close` runs exactly
// once, on the strand, whatever closed the connection. The connection keeps
// its io_context alive, so it may outlive the server or client that made it.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  using FrameHandler =
      std::function<void(const std::shared_ptr<Connection>&, Command&&)>;
  using CloseHandler = std::function<void(const std::shared_ptr<Connection>&,
                                          const absl::Status&)>;

  Connection(std::shared_ptr<boost::asio::io_context> io,
             boost::asio::ip::tcp::socket socket, ConnectionOptions options,
             FrameHandler on_frame, CloseHandler on_close);
  ~Connection();

  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Starts reading; call once, after construction.
  void Start();

  // Queues `command` for writing. Unavailable when closed, ResourceExhausted
  // when the write queue is full, InvalidArgument for a frame over
  // max_frame_size.
  absl::Status Send(Command command);

  // Stops decoding further requests (used while a server drains).
  void StopReading();

  // Closes the socket; queued writes are dropped. Safe from any thread.
  void Close(absl::Status reason);

  // True once nothing is queued or being written.
  bool WriteQueueEmpty() const;
  bool closed() const;
  const std::string& remote_address() const { return remote_address_; }
  // The peer's IPv4 address (host order; IPv4-mapped IPv6 too) and port, or
  // 0 and 0 for other peers: stamped on every stored message as its born
  // host, so parsed once here rather than per request.
  uint32_t remote_ipv4() const { return remote_ipv4_; }
  uint16_t remote_port() const { return remote_port_; }

 private:
  struct OutgoingFrame {
    std::string prefix;
    std::string body;
  };

  // Writes `frame` (already counted in queued_bytes_) from the calling
  // thread, then whatever other callers queue meanwhile. True when the
  // socket did not take everything and the strand must write the rest.
  bool WriteFromCaller(OutgoingFrame frame, size_t size)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // One non-blocking gathered send of (a prefix of) `frames`; returns the
  // bytes the socket took. Only the caller that set caller_writing_.
  size_t WriteNow(const std::deque<OutgoingFrame>& frames);
  // Removes the first `written` bytes from `frames`.
  static void DropWritten(size_t written, std::deque<OutgoingFrame>* frames);
  void DoRead();
  // Strand: reads again if reading was paused and the queue has drained.
  void ResumeReading();
  void OnRead(const boost::system::error_code& ec, size_t bytes);
  void DoWrite();
  void OnWrite(const boost::system::error_code& ec, size_t frames,
               size_t bytes);
  void ArmIdleTimer();
  void CloseOnStrand(absl::Status reason);

  std::shared_ptr<boost::asio::io_context> io_;
  boost::asio::strand<boost::asio::io_context::executor_type> strand_;
  boost::asio::ip::tcp::socket socket_;
  boost::asio::steady_timer idle_timer_;
  const ConnectionOptions options_;
  FrameHandler on_frame_;
  CloseHandler on_close_;
  std::string remote_address_;
  uint32_t remote_ipv4_ = 0;
  uint16_t remote_port_ = 0;

  // Strand-only state.
  FrameDecoder decoder_;
  std::unique_ptr<char[]> read_buffer_;
  bool reading_stopped_ = false;
  bool read_paused_ = false;
  bool close_notified_ = false;
  bool handling_read_ = false;             // inside OnRead's frame loop
  bool write_after_read_ = false;          // a frame was queued by that loop
  std::deque<OutgoingFrame> in_flight_;    // frames handed to async_write
  std::atomic<int64_t> last_activity_ns_;  // MonotonicNanos()

  mutable absl::Mutex mu_;
  std::deque<OutgoingFrame> queue_ ABSL_GUARDED_BY(mu_);
  size_t queued_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  bool write_scheduled_ ABSL_GUARDED_BY(mu_) = false;
  // A caller thread is writing (write_from_caller); the strand does not.
  bool caller_writing_ ABSL_GUARDED_BY(mu_) = false;
  // write_from_caller only: the strand is handing out one read's frames;
  // callers queue instead of writing and the strand flushes afterwards.
  bool dispatching_read_ ABSL_GUARDED_BY(mu_) = false;
  bool flush_after_read_ ABSL_GUARDED_BY(mu_) = false;
  // Reading is paused for a full write queue: a caller that drains the
  // queue (no OnWrite follows its writes) asks the strand to resume.
  bool resume_read_on_drain_ ABSL_GUARDED_BY(mu_) = false;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace cometmq::remoting

#endif  // COMETMQ_REMOTING_CONNECTION_H_
