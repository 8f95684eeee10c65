#include "cpp/remoting/remoting_client.h"

#include <pthread.h>

#include <optional>
#include <vector>

#include "absl/strings/str_cat.h"
#include "cpp/common/host_port.h"
#include "cpp/remoting/one_shot_event.h"
#include "spdlog/spdlog.h"

namespace cometmq::remoting {

using boost::asio::ip::tcp;

struct RemotingClient::Pending {
  uint64_t opaque = 0;
  int32_t code = 0;
  bool oneway = false;
  std::string address;
  Command request;
  ResponseCallback callback;
  // InvokeAsync's: made before the request is registered, armed when it is
  // (ArmTimeout); only the I/O thread cancels it.
  std::unique_ptr<boost::asio::steady_timer> timer;
  absl::Duration timeout;
  // The connection it was written on, once it was (guarded by mu_).
  std::shared_ptr<Connection> connection;
};

struct RemotingClient::Channel {
  std::string address;
  std::shared_ptr<Connection> connection;  // null while connecting
  std::vector<std::shared_ptr<Pending>> waiting;
  std::unique_ptr<tcp::resolver> resolver;
  std::unique_ptr<tcp::socket> socket;
  std::unique_ptr<boost::asio::steady_timer> connect_timer;
};

RemotingClient::RemotingClient(ClientOptions options)
    : options_(std::move(options)),
      io_(std::make_shared<boost::asio::io_context>(1)) {
  work_ = std::make_unique<
      boost::asio::executor_work_guard<boost::asio::io_context::executor_type>>(
      io_->get_executor());
  thread_ = std::thread([this] {
    std::string name = absl::StrCat(options_.name.substr(0, 11), "-net");
    pthread_setname_np(pthread_self(), name.c_str());
    io_->run();
  });
  io_thread_id_ = thread_.get_id();
}

RemotingClient::~RemotingClient() { Shutdown(); }

void RemotingClient::RegisterHandler(int32_t code,
                                     ServerRequestHandler handler) {
  handlers_[code] = std::move(handler);
}

void RemotingClient::InvokeAsync(const std::string& address, Command request,
                                 absl::Duration timeout,
                                 ResponseCallback callback) {
  auto pending = std::make_shared<Pending>();
  pending->opaque = next_opaque_.fetch_add(1);
  pending->code = request.header.code();
  pending->address = address;
  request.header.set_opaque(pending->opaque);
  request.header.set_flags(0);
  pending->request = std::move(request);
  pending->callback = std::move(callback);
  pending->timeout = timeout;
  pending->timer = std::make_unique<boost::asio::steady_timer>(
      *io_, absl::ToChronoNanoseconds(timeout));
  // A refusal has run the callback already.
  Dispatch(std::move(pending)).IgnoreError();
}

void RemotingClient::ArmTimeout(const Pending& pending) {
  pending.timer->async_wait(
      [this, opaque = pending.opaque,
       timeout = pending.timeout](const boost::system::error_code& ec) {
        if (ec) return;
        std::shared_ptr<Pending> p = TakePending(opaque);
        if (p == nullptr) return;
        p->callback(absl::DeadlineExceededError(
            absl::StrCat("request code ", p->code, " to ", p->address,
                         " timed out after ", absl::FormatDuration(timeout))));
      });
}

absl::Status RemotingClient::Dispatch(std::shared_ptr<Pending> pending) {
  std::shared_ptr<Connection> connection;
  bool refused = false;
  {
    absl::MutexLock lock(&mu_);
    if (shut_down_) {
      refused = true;
    } else {
      if (!pending->oneway) {
        pending_[pending->opaque] = pending;
        // Armed once registered, or a timer that fired first would find
        // nothing to fail and the callback would never run. Under mu_, so
        // the I/O thread cannot complete the request (and cancel the timer)
        // before it is armed.
        if (pending->timer) ArmTimeout(*pending);
      }
      auto it = open_.find(pending->address);
      if (it != open_.end() && !it->second->closed()) {
        connection = it->second;
        pending->connection = connection;
      } else {
        // Not connected yet: the I/O thread connects first. Posted under
        // the lock so Shutdown's cleanup runs after it.
        boost::asio::post(*io_, [this, pending] { StartRequest(pending); });
        return absl::OkStatus();
      }
    }
  }
  if (refused) {
    // Not registered (nor its timer armed), so nothing else completes it.
    if (pending->callback) {
      pending->callback(absl::UnavailableError("remoting client is shut down"));
    }
    return absl::UnavailableError("remoting client is shut down");
  }
  const uint64_t opaque = pending->opaque;
  const bool oneway = pending->oneway;
  absl::Status status = connection->Send(std::move(pending->request));
  if (status.ok() || oneway) return status;
  // Callbacks run on the I/O thread.
  boost::asio::post(*io_, [this, opaque, status = std::move(status)] {
    Complete(opaque, status);
  });
  return absl::OkStatus();
}

absl::StatusOr<Command> RemotingClient::InvokeSync(const std::string& address,
                                                   Command request,
                                                   absl::Duration timeout) {
  if (std::this_thread::get_id() == io_thread_id_) {
    return absl::FailedPreconditionError(
        "InvokeSync called from the client's I/O thread");
  }
  struct Result {
    OneShotEvent done;
    absl::StatusOr<Command> value;
  };
  auto result = std::make_shared<Result>();
  auto pending = std::make_shared<Pending>();
  const uint64_t opaque = next_opaque_.fetch_add(1);
  pending->opaque = opaque;
  pending->code = request.header.code();
  pending->address = address;
  request.header.set_opaque(opaque);
  request.header.set_flags(0);
  pending->request = std::move(request);
  pending->callback = [result](absl::StatusOr<Command>&& r) {
    result->value = std::move(r);
    result->done.Notify();
  };
  // No timer: this thread waits for its own deadline. A refusal has run
  // the callback already.
  Dispatch(std::move(pending)).IgnoreError();
  if (!result->done.WaitUntil(absl::Now() + timeout)) {
    if (std::shared_ptr<Pending> p = TakePending(opaque); p != nullptr) {
      return absl::DeadlineExceededError(
          absl::StrCat("request code ", p->code, " to ", address,
                       " timed out after ", absl::FormatDuration(timeout)));
    }
    // Completed meanwhile: its callback is about to notify.
    result->done.Wait();
  }
  return std::move(result->value);
}

absl::Status RemotingClient::InvokeOneway(const std::string& address,
                                          Command request) {
  auto pending = std::make_shared<Pending>();
  pending->oneway = true;
  pending->address = address;
  pending->code = request.header.code();
  request.header.set_opaque(next_opaque_.fetch_add(1));
  request.header.set_flags(proto::FLAG_ONEWAY);
  pending->request = std::move(request);
  return Dispatch(std::move(pending));
}

void RemotingClient::StartRequest(std::shared_ptr<Pending> pending) {
  if (closing_) {
    Complete(pending->opaque,
             absl::UnavailableError("remoting client is shut down"));
    return;
  }
  std::shared_ptr<Channel> channel = GetOrConnect(pending->address);
  if (channel == nullptr) {
    Complete(pending->opaque,
             absl::InvalidArgumentError(absl::StrCat(
                 "bad address '", pending->address, "', want host:port")));
    return;
  }
  if (channel->connection == nullptr) {
    channel->waiting.push_back(std::move(pending));
  } else {
    SendOnChannel(channel, std::move(pending));
  }
}

std::shared_ptr<RemotingClient::Channel> RemotingClient::GetOrConnect(
    const std::string& address) {
  auto it = channels_.find(address);
  if (it != channels_.end()) {
    const auto& conn = it->second->connection;
    if (conn == nullptr || !conn->closed()) return it->second;
    channels_.erase(it);
  }
  std::optional<HostPort> host_port = ParseHostPort(address);
  if (!host_port.has_value()) return nullptr;
  auto channel = std::make_shared<Channel>();
  channel->address = address;
  channel->resolver = std::make_unique<tcp::resolver>(*io_);
  channel->socket = std::make_unique<tcp::socket>(*io_);
  channel->connect_timer = std::make_unique<boost::asio::steady_timer>(
      *io_, absl::ToChronoNanoseconds(options_.connect_timeout));
  channels_[address] = channel;
  std::weak_ptr<Channel> weak = channel;
  channel->connect_timer->async_wait(
      [weak](const boost::system::error_code& ec) {
        auto ch = weak.lock();
        if (ec || ch == nullptr || ch->connection != nullptr) return;
        boost::system::error_code ignored;
        ch->resolver->cancel();
        ch->socket->close(ignored);
      });
  channel->resolver->async_resolve(
      host_port->host, host_port->port,
      [this, channel](const boost::system::error_code& ec,
                      tcp::resolver::results_type results) {
        if (ec) {
          OnConnected(channel, ec, tcp::socket(*io_));
          return;
        }
        boost::asio::async_connect(
            *channel->socket, results,
            [this, channel](const boost::system::error_code& ec,
                            const tcp::endpoint&) {
              OnConnected(channel, ec, std::move(*channel->socket));
            });
      });
  return channel;
}

void RemotingClient::OnConnected(const std::shared_ptr<Channel>& channel,
                                 const boost::system::error_code& ec,
                                 tcp::socket socket) {
  channel->connect_timer->cancel();
  std::vector<std::shared_ptr<Pending>> waiting = std::move(channel->waiting);
  channel->waiting.clear();
  if (ec || closing_) {
    auto it = channels_.find(channel->address);
    if (it != channels_.end() && it->second == channel) channels_.erase(it);
    absl::Status status = absl::UnavailableError(
        absl::StrCat("cannot connect to ", channel->address, ": ",
                     ec ? ec.message() : "client shutting down"));
    for (auto& p : waiting) Complete(p->opaque, status);
    return;
  }
  std::weak_ptr<Channel> weak = channel;
  ConnectionOptions connection_options = options_.connection;
  // Callers write their own requests (see Dispatch).
  connection_options.write_from_caller = true;
  channel->connection = std::make_shared<Connection>(
      io_, std::move(socket), connection_options,
      [this, weak](const std::shared_ptr<Connection>&, Command&& command) {
        if (auto ch = weak.lock()) OnFrame(ch, std::move(command));
      },
      [this, weak](const std::shared_ptr<Connection>&,
                   const absl::Status& reason) {
        if (auto ch = weak.lock()) OnChannelClosed(ch, reason);
      });
  open_connections_.fetch_add(1);
  channel->connection->Start();
  {
    absl::MutexLock lock(&mu_);
    open_[channel->address] = channel->connection;
  }
  for (auto& p : waiting) SendOnChannel(channel, std::move(p));
}

void RemotingClient::SendOnChannel(const std::shared_ptr<Channel>& channel,
                                   std::shared_ptr<Pending> pending) {
  {
    absl::MutexLock lock(&mu_);
    pending->connection = channel->connection;
  }
  absl::Status status = channel->connection->Send(std::move(pending->request));
  if (!status.ok()) {
    if (pending->oneway) {
      spdlog::warn("oneway request to {} dropped: {}", channel->address,
                   status.ToString());
    }
    Complete(pending->opaque, status);
  }
}

void RemotingClient::OnFrame(const std::shared_ptr<Channel>& channel,
                             Command&& command) {
  if (command.is_response()) {
    uint64_t opaque = command.header.opaque();  // read before the move
    Complete(opaque, std::move(command));
    return;
  }
  auto it = handlers_.find(command.header.code());
  if (it == handlers_.end()) {
    spdlog::debug("{}: no handler for request code {} from {}", options_.name,
                  command.header.code(), channel->address);
    return;
  }
  it->second(channel->address, std::move(command));
}

void RemotingClient::OnChannelClosed(const std::shared_ptr<Channel>& channel,
                                     const absl::Status& reason) {
  open_connections_.fetch_sub(1);
  auto it = channels_.find(channel->address);
  if (it != channels_.end() && it->second == channel) channels_.erase(it);
  std::vector<uint64_t> lost;
  {
    absl::MutexLock lock(&mu_);
    auto open = open_.find(channel->address);
    if (open != open_.end() && open->second == channel->connection) {
      open_.erase(open);
    }
    for (const auto& [opaque, pending] : pending_) {
      if (pending->connection == channel->connection) lost.push_back(opaque);
    }
  }
  absl::Status status = absl::UnavailableError(absl::StrCat(
      "connection to ", channel->address, " lost: ", reason.message()));
  for (uint64_t opaque : lost) Complete(opaque, status);
}

std::shared_ptr<RemotingClient::Pending> RemotingClient::TakePending(
    uint64_t opaque) {
  absl::MutexLock lock(&mu_);
  auto it = pending_.find(opaque);
  if (it == pending_.end()) return nullptr;
  std::shared_ptr<Pending> pending = std::move(it->second);
  pending_.erase(it);
  return pending;
}

void RemotingClient::Complete(uint64_t opaque,
                              absl::StatusOr<Command>&& result) {
  std::shared_ptr<Pending> pending = TakePending(opaque);
  if (pending == nullptr) return;
  if (pending->timer) pending->timer->cancel();
  pending->callback(std::move(result));
}

void RemotingClient::CloseConnection(const std::string& address) {
  boost::asio::post(*io_, [this, address] {
    auto it = channels_.find(address);
    if (it != channels_.end() && it->second->connection) {
      it->second->connection->Close(absl::CancelledError("closed by client"));
    }
  });
}

size_t RemotingClient::pending_requests() const {
  absl::MutexLock lock(&mu_);
  return pending_.size();
}

void RemotingClient::Shutdown() {
  {
    absl::MutexLock lock(&mu_);
    if (shut_down_) return;
    shut_down_ = true;
    boost::asio::post(*io_, [this] {
      closing_ = true;
      // Close may run the close handler inline, which edits channels_.
      std::vector<std::shared_ptr<Channel>> channels;
      for (auto& [address, channel] : channels_) channels.push_back(channel);
      for (auto& channel : channels) {
        if (channel->connection) {
          channel->connection->Close(
              absl::CancelledError("remoting client shut down"));
        } else {
          boost::system::error_code ignored;
          channel->resolver->cancel();
          channel->socket->close(ignored);
        }
      }
      std::vector<uint64_t> all;
      {
        absl::MutexLock lock(&mu_);
        for (const auto& [opaque, p] : pending_) all.push_back(opaque);
      }
      for (uint64_t opaque : all) {
        Complete(opaque, absl::UnavailableError("remoting client shut down"));
      }
    });
  }
  work_.reset();
  if (thread_.joinable()) thread_.join();
  channels_.clear();
  absl::MutexLock lock(&mu_);
  open_.clear();
}

}  // namespace cometmq::remoting
