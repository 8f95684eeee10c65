#include "cpp/remoting/connection.h"

#include <errno.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "cpp/common/monotonic_clock.h"
#include "spdlog/spdlog.h"

namespace cometmq::remoting {
namespace {

constexpr size_t kReadChunk = 64 * 1024;

}  // namespace

Connection::Connection(std::shared_ptr<boost::asio::io_context> io,
                       boost::asio::ip::tcp::socket socket,
                       ConnectionOptions options, FrameHandler on_frame,
                       CloseHandler on_close)
    : io_(std::move(io)),
      strand_(boost::asio::make_strand(*io_)),
      socket_(std::move(socket)),
      idle_timer_(strand_),
      options_(options),
      on_frame_(std::move(on_frame)),
      on_close_(std::move(on_close)),
      remote_address_("unknown"),
      decoder_(options.max_frame_size),
      // Not zeroed (make_unique would): untouched pages cost no memory, so
      // an idle connection holds only what its reads have filled.
      read_buffer_(std::make_unique_for_overwrite<char[]>(kReadChunk)),
      last_activity_ns_(MonotonicNanos()) {
  boost::system::error_code ec;
  if (auto peer = socket_.remote_endpoint(ec); !ec) {
    boost::asio::ip::address address = peer.address();
    remote_address_ = absl::StrCat(address.to_string(), ":", peer.port());
    if (address.is_v6() && address.to_v6().is_v4_mapped()) {
      address = boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped,
                                                 address.to_v6());
    }
    if (address.is_v4()) {
      remote_ipv4_ = address.to_v4().to_uint();
      remote_port_ = peer.port();
    }
  }
  socket_.set_option(boost::asio::ip::tcp::no_delay(true), ec);
}

Connection::~Connection() = default;

void Connection::Start() {
  boost::asio::dispatch(strand_, [self = shared_from_this()] {
    self->DoRead();
    self->ArmIdleTimer();
  });
}

absl::Status Connection::Send(Command command) {
  OutgoingFrame frame;
  EncodeFramePrefix(command, &frame.prefix);
  frame.body = std::move(command.body);
  size_t size = frame.prefix.size() + frame.body.size();
  if (size - 4 > options_.max_frame_size) {
    // The peer (with the same limit) would drop the connection on it, and
    // every other request on it with no word of why.
    return absl::InvalidArgumentError(
        absl::StrCat("frame of ", size - 4, " bytes to ", remote_address_,
                     " exceeds maxFrameSize ", options_.max_frame_size));
  }
  {
    absl::MutexLock lock(&mu_);
    if (closed_) {
      return absl::UnavailableError(
          absl::StrCat("connection to ", remote_address_, " is closed"));
    }
    if (queued_bytes_ + size > options_.max_write_queue_bytes &&
        queued_bytes_ > 0) {
      return absl::ResourceExhaustedError(
          absl::StrCat("write queue to ", remote_address_, " is full (",
                       queued_bytes_, " bytes)"));
    }
    queued_bytes_ += size;
    const bool on_strand = strand_.running_in_this_thread();
    if (!write_scheduled_ && !caller_writing_ && !on_strand &&
        !dispatching_read_ && options_.write_from_caller) {
      // Nothing is queued or being written: this thread writes.
      if (!WriteFromCaller(std::move(frame), size)) return absl::OkStatus();
    } else {
      queue_.push_back(std::move(frame));
      // A write is queued or in progress; it takes this frame too.
      if (write_scheduled_ || caller_writing_) return absl::OkStatus();
      write_scheduled_ = true;
      if (!on_strand && dispatching_read_) {
        // The strand is handing out the responses of one read and wakes a
        // caller per response; their next requests go out together when
        // it is done instead of one send each.
        flush_after_read_ = true;
        return absl::OkStatus();
      }
      if (on_strand && handling_read_) {
        // Written with every other reply of this read when its loop ends.
        write_after_read_ = true;
        return absl::OkStatus();
      }
    }
  }
  boost::asio::post(strand_, [self = shared_from_this()] { self->DoWrite(); });
  return absl::OkStatus();
}

bool Connection::WriteFromCaller(OutgoingFrame frame, size_t size) {
  // This thread keeps writing what other callers queue meanwhile, so
  // concurrent senders share system calls instead of waiting for each
  // other's. The socket is used outside mu_, but CloseOnStrand waits for
  // caller_writing_ to drop before closing it.
  caller_writing_ = true;
  std::deque<OutgoingFrame> batch;
  batch.push_back(std::move(frame));
  size_t batch_bytes = size;
  while (true) {
    mu_.Unlock();
    const size_t written = WriteNow(batch);
    mu_.Lock();
    queued_bytes_ -= written;
    if (written > 0) {
      last_activity_ns_.store(MonotonicNanos(), std::memory_order_relaxed);
    }
    if (closed_) {
      queued_bytes_ -= batch_bytes - written;
      caller_writing_ = false;
      return false;  // dropped like every queued frame
    }
    if (written < batch_bytes) {
      // The socket is full (or failing): the strand writes the rest, ahead
      // of what was queued meanwhile, and reports any error.
      DropWritten(written, &batch);
      while (!batch.empty()) {
        queue_.push_front(std::move(batch.back()));
        batch.pop_back();
      }
      caller_writing_ = false;
      write_scheduled_ = true;
      return true;
    }
    if (queue_.empty()) {
      caller_writing_ = false;
      if (resume_read_on_drain_) {
        // Reading paused on this queue; no OnWrite will follow to resume
        // it, so ask the strand.
        resume_read_on_drain_ = false;
        boost::asio::post(
            strand_, [self = shared_from_this()] { self->ResumeReading(); });
      }
      return false;
    }
    batch = std::move(queue_);
    queue_.clear();
    batch_bytes = 0;
    for (const OutgoingFrame& f : batch) {
      batch_bytes += f.prefix.size() + f.body.size();
    }
  }
}

size_t Connection::WriteNow(const std::deque<OutgoingFrame>& frames) {
  constexpr size_t kMaxIov = 256;
  iovec iov[kMaxIov];
  size_t count = 0;
  for (const OutgoingFrame& f : frames) {
    if (count + 2 > kMaxIov) break;
    if (!f.prefix.empty()) {
      iov[count].iov_base = const_cast<char*>(f.prefix.data());
      iov[count++].iov_len = f.prefix.size();
    }
    if (!f.body.empty()) {
      iov[count].iov_base = const_cast<char*>(f.body.data());
      iov[count++].iov_len = f.body.size();
    }
  }
  msghdr msg{};
  msg.msg_iov = iov;
  msg.msg_iovlen = count;
  ssize_t n;
  do {
    n = ::sendmsg(socket_.native_handle(), &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  // Errors (and EAGAIN) leave the frames to the strand's write, which
  // reports them by closing the connection.
  return n < 0 ? 0 : static_cast<size_t>(n);
}

void Connection::DropWritten(size_t written,
                             std::deque<OutgoingFrame>* frames) {
  while (written > 0 && !frames->empty()) {
    OutgoingFrame& f = frames->front();
    const size_t from_prefix = std::min(written, f.prefix.size());
    f.prefix.erase(0, from_prefix);
    written -= from_prefix;
    const size_t from_body = std::min(written, f.body.size());
    f.body.erase(0, from_body);
    written -= from_body;
    if (f.prefix.empty() && f.body.empty()) frames->pop_front();
  }
}

void Connection::DoWrite() {
  {
    absl::MutexLock lock(&mu_);
    if (closed_ || queue_.empty()) {
      write_scheduled_ = false;
      return;
    }
    // Everything queued goes out in one gathered write.
    while (!queue_.empty()) {
      in_flight_.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
  }
  std::vector<boost::asio::const_buffer> buffers;
  buffers.reserve(in_flight_.size() * 2);
  size_t bytes = 0;
  for (const OutgoingFrame& f : in_flight_) {
    buffers.emplace_back(boost::asio::buffer(f.prefix));
    if (!f.body.empty()) buffers.emplace_back(boost::asio::buffer(f.body));
    bytes += f.prefix.size() + f.body.size();
  }
  size_t frames = in_flight_.size();
  boost::asio::async_write(
      socket_, buffers,
      // Called before each partial write: progress on a long write (to a
      // slow reader) keeps the connection from looking idle; one that makes
      // none is idle, however much is queued.
      [this](const boost::system::error_code& ec, size_t written) {
        if (written > 0) {
          last_activity_ns_.store(MonotonicNanos(), std::memory_order_relaxed);
        }
        return boost::asio::transfer_all()(ec, written);
      },
      boost::asio::bind_executor(
          strand_, [self = shared_from_this(), frames, bytes](
                       const boost::system::error_code& ec, size_t) {
            self->OnWrite(ec, frames, bytes);
          }));
}

void Connection::OnWrite(const boost::system::error_code& ec, size_t frames,
                         size_t bytes) {
  in_flight_.erase(in_flight_.begin(), in_flight_.begin() + frames);
  if (ec) {
    CloseOnStrand(absl::UnavailableError(
        absl::StrCat("write to ", remote_address_, " failed: ", ec.message())));
    return;
  }
  last_activity_ns_.store(MonotonicNanos(), std::memory_order_relaxed);
  size_t remaining;
  {
    absl::MutexLock lock(&mu_);
    queued_bytes_ -= bytes;
    remaining = queued_bytes_;
  }
  if (read_paused_ && remaining <= options_.max_write_queue_bytes / 4) {
    read_paused_ = false;
    DoRead();
  }
  DoWrite();
}

void Connection::ResumeReading() {
  if (!read_paused_) return;
  {
    absl::MutexLock lock(&mu_);
    if (queued_bytes_ > options_.max_write_queue_bytes / 4) {
      resume_read_on_drain_ = true;  // the writer that drains it asks again
      return;
    }
  }
  read_paused_ = false;
  DoRead();
}

void Connection::DoRead() {
  if (reading_stopped_ || read_paused_ || closed()) return;
  socket_.async_read_some(boost::asio::buffer(read_buffer_.get(), kReadChunk),
                          boost::asio::bind_executor(
                              strand_, [self = shared_from_this()](
                                           const boost::system::error_code& ec,
                                           size_t n) { self->OnRead(ec, n); }));
}

void Connection::OnRead(const boost::system::error_code& ec, size_t bytes) {
  if (ec) {
    CloseOnStrand(
        ec == boost::asio::error::eof
            ? absl::UnavailableError(
                  absl::StrCat("connection closed by ", remote_address_))
            : absl::UnavailableError(absl::StrCat("read from ", remote_address_,
                                                  " failed: ", ec.message())));
    return;
  }
  last_activity_ns_.store(MonotonicNanos(), std::memory_order_relaxed);
  decoder_.Append(absl::string_view(read_buffer_.get(), bytes));
  auto self = shared_from_this();
  handling_read_ = true;
  if (options_.write_from_caller) {
    absl::MutexLock lock(&mu_);
    dispatching_read_ = true;
  }
  while (!reading_stopped_) {
    Command command;
    FrameDecoder::Result result = decoder_.Next(&command);
    if (result == FrameDecoder::Result::kNeedMore) break;
    if (result == FrameDecoder::Result::kError) {
      handling_read_ = false;
      if (options_.write_from_caller) {
        absl::MutexLock lock(&mu_);
        dispatching_read_ = false;
      }
      spdlog::warn("closing connection from {}: {}", remote_address_,
                   decoder_.error().ToString());
      CloseOnStrand(decoder_.error());
      return;
    }
    if (!on_frame_) break;  // closed by the handler
    on_frame_(self, std::move(command));
  }
  handling_read_ = false;
  if (options_.write_from_caller) {
    absl::MutexLock lock(&mu_);
    dispatching_read_ = false;
    if (flush_after_read_) {
      flush_after_read_ = false;
      write_after_read_ = true;
    }
  }
  if (write_after_read_) {
    write_after_read_ = false;
    DoWrite();  // clears write_scheduled_ itself when closed
  }
  if (!on_frame_) return;
  {
    absl::MutexLock lock(&mu_);
    if (queued_bytes_ > options_.max_write_queue_bytes / 2) {
      read_paused_ = true;
      resume_read_on_drain_ = true;
    }
  }
  DoRead();
}

void Connection::StopReading() {
  boost::asio::dispatch(
      strand_, [self = shared_from_this()] { self->reading_stopped_ = true; });
}

void Connection::ArmIdleTimer() {
  if (options_.idle_timeout <= absl::ZeroDuration() || closed()) return;
  absl::Duration period =
      std::max(options_.idle_timeout / 4, absl::Milliseconds(10));
  idle_timer_.expires_after(absl::ToChronoMilliseconds(period));
  idle_timer_.async_wait([self = shared_from_this()](
                             const boost::system::error_code& ec) {
    if (ec) return;
    // Queued frames do not count: a peer that stopped reading (and so
    // made us stop reading it) holds them for as long as it lives.
    const absl::Duration idle =
        absl::Nanoseconds(MonotonicNanos() - self->last_activity_ns_.load(
                                                 std::memory_order_relaxed));
    if (idle >= self->options_.idle_timeout) {
      size_t queued;
      {
        absl::MutexLock lock(&self->mu_);
        queued = self->queued_bytes_;
      }
      std::string reason =
          queued == 0
              ? absl::StrCat("connection ", self->remote_address_, " was idle")
              : absl::StrCat("connection ", self->remote_address_,
                             " took none of the ", queued,
                             " bytes queued for it in ",
                             absl::FormatDuration(self->options_.idle_timeout));
      spdlog::info("closing {}", reason);
      self->CloseOnStrand(absl::UnavailableError(reason));
      return;
    }
    self->ArmIdleTimer();
  });
}

void Connection::Close(absl::Status reason) {
  boost::asio::dispatch(strand_, [self = shared_from_this(),
                                  reason = std::move(reason)]() mutable {
    self->CloseOnStrand(std::move(reason));
  });
}

void Connection::CloseOnStrand(absl::Status reason) {
  {
    absl::MutexLock lock(&mu_);
    closed_ = true;
    // A caller in the middle of a non-blocking send finishes it first.
    auto no_caller_writing = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return !caller_writing_;
    };
    mu_.Await(absl::Condition(&no_caller_writing));
    for (const OutgoingFrame& f : queue_) {
      queued_bytes_ -= f.prefix.size() + f.body.size();
    }
    queue_.clear();
  }
  if (close_notified_) return;
  close_notified_ = true;
  boost::system::error_code ignored;
  idle_timer_.cancel();
  socket_.shutdown(boost::asio::ip::tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
  if (on_close_) on_close_(shared_from_this(), reason);
  // Drop the handlers: they may hold the owner's state alive.
  on_frame_ = nullptr;
  on_close_ = nullptr;
}

bool Connection::WriteQueueEmpty() const {
  absl::MutexLock lock(&mu_);
  return closed_ || queued_bytes_ == 0;
}

bool Connection::closed() const {
  absl::MutexLock lock(&mu_);
  return closed_;
}

}  // namespace cometmq::remoting
