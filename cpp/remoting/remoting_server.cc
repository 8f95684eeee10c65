#include "cpp/remoting/remoting_server.h"

#include <pthread.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "spdlog/spdlog.h"

namespace cometmq::remoting {

struct Responder::State {
  Command request_header_only;  // code, opaque, flags of the request
  std::weak_ptr<Connection> connection;
  std::shared_ptr<std::atomic<int64_t>> in_flight;
  // Set instead of `connection` by ForHandlerTest.
  std::function<void(Command)> sink;
  std::string remote_address;
  uint32_t remote_ipv4 = 0;
  uint16_t remote_port = 0;
  std::atomic<bool> answered{false};

  ~State() {
    if (!answered.load()) {
      Send(MakeResponse(request_header_only, proto::SYSTEM_ERROR,
                        "request dropped by the server without an answer"));
    }
  }

  void Send(Command response) {
    if (answered.exchange(true)) return;
    if (!request_header_only.is_oneway()) {
      response.header.set_opaque(request_header_only.header.opaque());
      response.header.set_flags(proto::FLAG_RESPONSE);
      if (response.header.code() == 0) {
        response.header.set_code(request_header_only.header.code());
      }
      if (sink) {
        sink(std::move(response));
      } else if (auto conn = connection.lock()) {
        absl::Status st = conn->Send(std::move(response));
        if (!st.ok() && absl::IsResourceExhausted(st)) {
          spdlog::warn("closing {}: {}", remote_address, st.ToString());
          conn->Close(st);
        } else if (absl::IsInvalidArgument(st)) {
          // Too large for one frame: say so rather than leave the client
          // waiting for its timeout.
          spdlog::warn("answering request code {} from {}: {}",
                       request_header_only.header.code(), remote_address,
                       st.ToString());
          conn->Send(MakeResponse(request_header_only, proto::SYSTEM_ERROR,
                                  absl::StrCat("response: ", st.message())))
              .IgnoreError();
        }
      }
    }
    in_flight->fetch_sub(1);
  }
};

Responder::Responder(std::shared_ptr<State> state) : state_(std::move(state)) {}

Responder Responder::ForHandlerTest(const Command& request,
                                    std::function<void(Command)> sink) {
  auto state = std::make_shared<State>();
  state->request_header_only.header.set_code(request.header.code());
  state->request_header_only.header.set_opaque(request.header.opaque());
  state->request_header_only.header.set_flags(request.header.flags());
  state->in_flight = std::make_shared<std::atomic<int64_t>>(1);
  state->sink = std::move(sink);
  state->remote_address = "test";
  return Responder(std::move(state));
}

void Responder::Respond(Command response) const {
  state_->Send(std::move(response));
}

std::weak_ptr<Connection> Responder::connection() const {
  return state_->connection;
}

const std::string& Responder::remote_address() const {
  return state_->remote_address;
}

uint32_t Responder::remote_ipv4() const { return state_->remote_ipv4; }

uint16_t Responder::remote_port() const { return state_->remote_port; }

RemotingServer::RemotingServer(ServerOptions options)
    : options_(std::move(options)),
      in_flight_(std::make_shared<std::atomic<int64_t>>(0)) {}

RemotingServer::~RemotingServer() { Stop(); }

void RemotingServer::RegisterHandler(int32_t code, RequestHandler handler) {
  handlers_[code] = std::move(handler);
}

void RemotingServer::SetCloseListener(
    std::function<void(const std::string&)> fn) {
  close_listener_ = std::move(fn);
}

absl::Status RemotingServer::Start() {
  boost::system::error_code ec;
  auto address = boost::asio::ip::make_address(options_.bind_address, ec);
  if (ec) {
    return absl::InvalidArgumentError(
        absl::StrCat("bad bind address '", options_.bind_address, "'"));
  }
  boost::asio::ip::tcp::endpoint endpoint(address, options_.port);
  // One io_context per I/O thread, each connection on one of them: a
  // shared context would hand the completions of a socket from thread to
  // thread (one wakeup each); this way a connection's reads, handlers and
  // writes stay on its thread.
  ios_.clear();
  for (int i = 0; i < std::max(1, options_.io_threads); ++i) {
    ios_.push_back(std::make_shared<boost::asio::io_context>(1));
  }
  acceptor_ = std::make_unique<boost::asio::ip::tcp::acceptor>(*ios_[0]);
  acceptor_->open(endpoint.protocol(), ec);
  if (!ec)
    acceptor_->set_option(boost::asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_->bind(endpoint, ec);
  if (!ec)
    acceptor_->listen(boost::asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", options_.bind_address, ":",
                     options_.port, ": ", ec.message()));
  }
  port_ = acceptor_->local_endpoint().port();
  {
    absl::MutexLock lock(&mu_);
    accepting_ = true;
  }
  for (const auto& io : ios_) {
    work_.push_back(boost::asio::make_work_guard(*io));
  }
  DoAccept();
  for (size_t i = 0; i < ios_.size(); ++i) {
    threads_.emplace_back([this, i] {
      std::string name = absl::StrCat(options_.name.substr(0, 10), "-io", i);
      pthread_setname_np(pthread_self(), name.c_str());
      ios_[i]->run();
    });
  }
  started_ = true;
  return absl::OkStatus();
}

void RemotingServer::DoAccept() {
  std::shared_ptr<boost::asio::io_context> io = ios_[next_io_++ % ios_.size()];
  acceptor_->async_accept(
      boost::asio::make_strand(*io),
      [this, io](const boost::system::error_code& ec,
                 boost::asio::ip::tcp::socket socket) {
        absl::MutexLock lock(&mu_);
        if (!accepting_) return;
        if (!ec) {
          auto conn = std::make_shared<Connection>(
              io, std::move(socket), options_.connection,
              [this](const std::shared_ptr<Connection>& c, Command&& cmd) {
                OnFrame(c, std::move(cmd));
              },
              [this](const std::shared_ptr<Connection>& c,
                     const absl::Status&) { OnClose(c); });
          connections_.insert(conn);
          conn->Start();
        } else if (ec != boost::asio::error::operation_aborted) {
          spdlog::warn("{}: accept failed: {}", options_.name, ec.message());
        }
        DoAccept();
      });
}

void RemotingServer::OnFrame(const std::shared_ptr<Connection>& conn,
                             Command&& command) {
  if (command.is_response()) {
    spdlog::debug("{}: ignoring response from {}", options_.name,
                  conn->remote_address());
    return;
  }
  in_flight_->fetch_add(1);
  auto state = std::make_shared<Responder::State>();
  state->request_header_only.header.set_code(command.header.code());
  state->request_header_only.header.set_opaque(command.header.opaque());
  state->request_header_only.header.set_flags(command.header.flags());
  state->connection = conn;
  state->in_flight = in_flight_;
  state->remote_address = conn->remote_address();
  state->remote_ipv4 = conn->remote_ipv4();
  state->remote_port = conn->remote_port();
  Responder responder(std::move(state));
  auto it = handlers_.find(command.header.code());
  if (it == handlers_.end()) {
    responder.Respond(
        MakeResponse(command, proto::REQUEST_CODE_NOT_SUPPORTED,
                     absl::StrCat("request code ", command.header.code(),
                                  " not supported")));
    return;
  }
  it->second(std::move(command), std::move(responder));
}

void RemotingServer::OnClose(const std::shared_ptr<Connection>& conn) {
  {
    absl::MutexLock lock(&mu_);
    connections_.erase(conn);
  }
  if (close_listener_) close_listener_(conn->remote_address());
}

size_t RemotingServer::connection_count() const {
  absl::MutexLock lock(&mu_);
  return connections_.size();
}

void RemotingServer::Stop() {
  if (!started_ || stopped_) return;
  stopped_ = true;
  std::vector<std::shared_ptr<Connection>> conns;
  {
    absl::MutexLock lock(&mu_);
    accepting_ = false;
    conns.assign(connections_.begin(), connections_.end());
  }
  boost::asio::post(*ios_[0], [this] {
    boost::system::error_code ignored;
    acceptor_->close(ignored);
  });
  for (auto& c : conns) c->StopReading();
  // Let handlers that already have a request answer it, and the answers go out.
  absl::Time deadline = absl::Now() + options_.shutdown_grace;
  auto drained = [&] {
    if (in_flight_->load() > 0) return false;
    for (auto& c : conns) {
      if (!c->WriteQueueEmpty()) return false;
    }
    return true;
  };
  while (!drained() && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(2));
  }
  for (auto& c : conns) {
    c->Close(absl::CancelledError("server stopping"));
  }
  // Every socket, timer and the acceptor is closed now, so the I/O threads
  // run out of work and return once the last completion has been handled.
  work_.clear();
  for (auto& t : threads_) t.join();
  threads_.clear();
  {
    absl::MutexLock lock(&mu_);
    connections_.clear();
  }
  acceptor_.reset();
}

}  // namespace cometmq::remoting
