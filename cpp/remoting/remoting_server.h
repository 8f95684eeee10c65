#ifndef COMETMQ_REMOTING_REMOTING_SERVER_H_
#define COMETMQ_REMOTING_REMOTING_SERVER_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "cpp/remoting/connection.h"

namespace cometmq::remoting {

struct ServerOptions {
  std::string name = "remoting";  // thread and log prefix
  std::string bind_address = "0.0.0.0";
  uint16_t port = 0;  // 0 picks a free port; see RemotingServer::port()
  int io_threads = 2;
  ConnectionOptions connection;
  // How long Stop() waits for requests already being handled to answer.
  absl::Duration shutdown_grace = absl::Seconds(5);
};

// Answers one request. Copies share state: the first Respond() sends, later
// ones are ignored. If every copy is dropped without responding, the client
// gets SYSTEM_ERROR rather than waiting for its timeout. Respond() may be
// called from any thread, also after the server stopped (it is then dropped).
class Responder {
 public:
  void Respond(Command response) const;
  // Connection the request came on, to send server-initiated requests later.
  std::weak_ptr<Connection> connection() const;
  const std::string& remote_address() const;
  // See Connection::remote_ipv4().
  uint32_t remote_ipv4() const;
  uint16_t remote_port() const;

  // A responder for `request` that hands the answer to `sink` (on the
  // answering thread) instead of a connection: for tests of request
  // handlers without a server.
  static Responder ForHandlerTest(const Command& request,
                                  std::function<void(Command)> sink);

 private:
  friend class RemotingServer;
  struct State;
  explicit Responder(std::shared_ptr<State> state);
  std::shared_ptr<State> state_;
};

using RequestHandler = std::function<void(Command&& request, Responder)>;

// TCP server for framed requests. Handlers run on the I/O threads and must
// not block: a handler that waits parks its Responder and answers later.
// Unknown codes are answered REQUEST_CODE_NOT_SUPPORTED. Stop() stops
// accepting, stops reading new requests, waits for in-flight requests to be
// answered and written (up to shutdown_grace), closes every connection and
// joins the I/O threads: no thread or handler of the server outlives it.
class RemotingServer {
 public:
  explicit RemotingServer(ServerOptions options);
  ~RemotingServer();

  RemotingServer(const RemotingServer&) = delete;
  RemotingServer& operator=(const RemotingServer&) = delete;

  // Register before Start().
  void RegisterHandler(int32_t code, RequestHandler handler);
  // Called when a client connection closes (brokers drop its registrations).
  void SetCloseListener(std::function<void(const std::string& remote)> fn);

  absl::Status Start();
  void Stop();

  uint16_t port() const { return port_; }
  size_t connection_count() const;

 private:
  void DoAccept();
  void OnFrame(const std::shared_ptr<Connection>& conn, Command&& command);
  void OnClose(const std::shared_ptr<Connection>& conn);

  const ServerOptions options_;
  // One per I/O thread; the acceptor runs on the first.
  std::vector<std::shared_ptr<boost::asio::io_context>> ios_;
  size_t next_io_ = 0;  // accept-handler only: the next connection's context
  std::unique_ptr<boost::asio::ip::tcp::acceptor> acceptor_;
  std::vector<
      boost::asio::executor_work_guard<boost::asio::io_context::executor_type>>
      work_;
  std::vector<std::thread> threads_;
  absl::flat_hash_map<int32_t, RequestHandler> handlers_;
  std::function<void(const std::string&)> close_listener_;
  uint16_t port_ = 0;
  bool started_ = false;
  bool stopped_ = false;

  // Requests dispatched and not yet answered; shared with Responders.
  std::shared_ptr<std::atomic<int64_t>> in_flight_;

  mutable absl::Mutex mu_;
  absl::flat_hash_set<std::shared_ptr<Connection>> connections_
      ABSL_GUARDED_BY(mu_);
  bool accepting_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace cometmq::remoting

#endif  // COMETMQ_REMOTING_REMOTING_SERVER_H_
