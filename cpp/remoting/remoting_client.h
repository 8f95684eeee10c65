#ifndef COMETMQ_REMOTING_REMOTING_CLIENT_H_
#define COMETMQ_REMOTING_REMOTING_CLIENT_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "cpp/remoting/connection.h"

namespace cometmq::remoting {

struct ClientOptions {
  std::string name = "client";  // thread and log prefix
  ConnectionOptions connection;
  absl::Duration connect_timeout = absl::Seconds(3);
};

using ResponseCallback = std::function<void(absl::StatusOr<Command>&&)>;
// A request a server sends to the client over the client's connection.
using ServerRequestHandler =
    std::function<void(const std::string& address, Command&& request)>;

// Client side of the framed protocol: one pooled connection per address,
// opened on first use and again after it breaks, carrying any number of
// pipelined requests matched to responses by opaque id. Once a connection
// is open, the calling thread writes its request itself (no handoff to the
// I/O thread), and InvokeSync waits for its own deadline without a timer.
//
// Guarantee: the callback of InvokeAsync runs exactly once, on the client's
// I/O thread, with the response, DeadlineExceeded on timeout, or Unavailable
// when the connection could not be made or was lost (also at Shutdown).
// Callbacks must not block; InvokeSync must not be called from one.
class RemotingClient {
 public:
  explicit RemotingClient(ClientOptions options = {});
  ~RemotingClient();

  RemotingClient(const RemotingClient&) = delete;
  RemotingClient& operator=(const RemotingClient&) = delete;

  void InvokeAsync(const std::string& address, Command request,
                   absl::Duration timeout, ResponseCallback callback);
  absl::StatusOr<Command> InvokeSync(const std::string& address,
                                     Command request, absl::Duration timeout);
  // Queues the request; no response is expected and delivery is best
  // effort. Fails after Shutdown(), and when the open connection refuses
  // it at once (over maxFrameSize, write queue full).
  absl::Status InvokeOneway(const std::string& address, Command request);

  // Handlers for requests servers push to us. Register before first use.
  void RegisterHandler(int32_t code, ServerRequestHandler handler);

  // Drops the pooled connection to `address` (pending requests fail).
  void CloseConnection(const std::string& address);

  // Fails every pending request and joins the I/O thread. Idempotent.
  void Shutdown();

  size_t pending_requests() const;
  // True on the client's I/O thread (where callbacks run).
  bool InIoThread() const {
    return std::this_thread::get_id() == io_thread_id_;
  }
  // Connections currently open (not counting ones being made).
  size_t open_connections() const { return open_connections_.load(); }

 private:
  struct Channel;
  struct Pending;

  // Registers `pending` and sends it from the calling thread when its
  // connection is open, else hands it to the I/O thread to connect first.
  // For a oneway request, returns the open connection's refusal.
  absl::Status Dispatch(std::shared_ptr<Pending> pending);
  // Starts `pending`'s timeout; it fails the request if still registered.
  void ArmTimeout(const Pending& pending) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void StartRequest(std::shared_ptr<Pending> pending);
  std::shared_ptr<Channel> GetOrConnect(const std::string& address);
  void OnConnected(const std::shared_ptr<Channel>& channel,
                   const boost::system::error_code& ec,
                   boost::asio::ip::tcp::socket socket);
  void SendOnChannel(const std::shared_ptr<Channel>& channel,
                     std::shared_ptr<Pending> pending);
  void OnFrame(const std::shared_ptr<Channel>& channel, Command&& command);
  void OnChannelClosed(const std::shared_ptr<Channel>& channel,
                       const absl::Status& reason);
  // Takes the request out of the pending table; null when it is gone
  // (answered, timed out or failed already).
  std::shared_ptr<Pending> TakePending(uint64_t opaque);
  void Complete(uint64_t opaque, absl::StatusOr<Command>&& result);

  const ClientOptions options_;
  std::shared_ptr<boost::asio::io_context> io_;
  std::unique_ptr<
      boost::asio::executor_work_guard<boost::asio::io_context::executor_type>>
      work_;
  std::thread thread_;
  std::thread::id io_thread_id_;
  std::atomic<uint64_t> next_opaque_{1};
  std::atomic<size_t> open_connections_{0};
  absl::flat_hash_map<int32_t, ServerRequestHandler> handlers_;

  // I/O-thread-only state.
  bool closing_ = false;
  absl::flat_hash_map<std::string, std::shared_ptr<Channel>> channels_;

  mutable absl::Mutex mu_;
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;
  // Requests waiting for their response, by opaque.
  absl::flat_hash_map<uint64_t, std::shared_ptr<Pending>> pending_
      ABSL_GUARDED_BY(mu_);
  // Open connections by address, for callers to write on directly.
  absl::flat_hash_map<std::string, std::shared_ptr<Connection>> open_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace cometmq::remoting

#endif  // COMETMQ_REMOTING_REMOTING_CLIENT_H_
