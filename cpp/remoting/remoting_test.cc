#include <atomic>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "cpp/remoting/frame_codec.h"
#include "cpp/remoting/remoting_client.h"
#include "cpp/remoting/remoting_server.h"
#include "gtest/gtest.h"

namespace cometmq::remoting {
namespace {

constexpr int32_t kEcho = proto::SEND_MESSAGE;
constexpr int32_t kPark = proto::PULL_MESSAGE;
// Answered with a 100 KiB body.
constexpr int32_t kBig = proto::QUERY_MESSAGE;

std::string Addr(uint16_t port) { return "127.0.0.1:" + std::to_string(port); }

// Waits for `condition` with a deadline; true if it became true.
template <typename F>
bool WaitFor(F condition, absl::Duration limit = absl::Seconds(10)) {
  absl::Time deadline = absl::Now() + limit;
  while (!condition()) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(1));
  }
  return true;
}

ServerOptions LoopbackOptions() {
  ServerOptions options;
  options.bind_address = "127.0.0.1";
  return options;
}

// Server with an echo handler and a handler that parks its responders.
class TestServer {
 public:
  explicit TestServer(ServerOptions options = {}) {
    options.bind_address = "127.0.0.1";
    server_ = std::make_unique<RemotingServer>(options);
    server_->RegisterHandler(kEcho, [](Command req, Responder r) {
      Command resp = MakeResponse(req, proto::SUCCESS);
      resp.body = std::move(req.body);
      r.Respond(std::move(resp));
    });
    server_->RegisterHandler(kPark, [this](Command req, Responder r) {
      absl::MutexLock lock(&mu_);
      parked_.push_back({std::move(req), std::move(r)});
    });
  }
  // Stops the server before parked_ goes: its handlers may still run.
  ~TestServer() { server_->Stop(); }
  absl::Status Start() { return server_->Start(); }
  uint16_t port() const { return server_->port(); }
  RemotingServer& server() { return *server_; }

  size_t parked() {
    absl::MutexLock lock(&mu_);
    return parked_.size();
  }
  void AnswerParked() {
    std::vector<std::pair<Command, Responder>> parked;
    {
      absl::MutexLock lock(&mu_);
      parked.swap(parked_);
    }
    for (auto& [req, r] : parked) r.Respond(MakeResponse(req, proto::SUCCESS));
  }
  void DropParked() {
    absl::MutexLock lock(&mu_);
    parked_.clear();
  }

 private:
  std::unique_ptr<RemotingServer> server_;
  absl::Mutex mu_;
  std::vector<std::pair<Command, Responder>> parked_ ABSL_GUARDED_BY(mu_);
};

TEST(RemotingTest, EchoRoundTrip) {
  TestServer server;
  ASSERT_TRUE(server.Start().ok());
  RemotingClient client;
  Command req = MakeRequest(kEcho);
  req.body = "hello";
  auto resp = client.InvokeSync(Addr(server.port()), req, absl::Seconds(5));
  ASSERT_TRUE(resp.ok()) << resp.status();
  EXPECT_EQ(resp->header.status(), proto::SUCCESS);
  EXPECT_EQ(resp->body, "hello");
}

TEST(RemotingTest, ResponderKnowsThePeersIpv4Endpoint) {
  RemotingServer server(LoopbackOptions());
  server.RegisterHandler(kEcho, [](Command req, Responder r) {
    Command resp = MakeResponse(req, proto::SUCCESS);
    resp.body = absl::StrCat(r.remote_ipv4(), " ", r.remote_port(), " ",
                             r.remote_address());
    r.Respond(std::move(resp));
  });
  ASSERT_TRUE(server.Start().ok());
  RemotingClient client;
  auto resp = client.InvokeSync(Addr(server.port()), MakeRequest(kEcho),
                                absl::Seconds(5));
  ASSERT_TRUE(resp.ok()) << resp.status();
  std::vector<std::string> parts = absl::StrSplit(resp->body, ' ');
  ASSERT_EQ(parts.size(), 3u) << resp->body;
  EXPECT_EQ(parts[0], absl::StrCat(0x7f000001u));
  EXPECT_NE(parts[1], "0");
  EXPECT_EQ(parts[2], absl::StrCat("127.0.0.1:", parts[1]));
}

TEST(RemotingTest, UnknownCodeIsNotSupported) {
  TestServer server;
  ASSERT_TRUE(server.Start().ok());
  RemotingClient client;
  auto resp = client.InvokeSync(Addr(server.port()), MakeRequest(999),
                                absl::Seconds(5));
  ASSERT_TRUE(resp.ok()) << resp.status();
  EXPECT_EQ(resp->header.status(), proto::REQUEST_CODE_NOT_SUPPORTED);
  EXPECT_NE(resp->header.remark().find("not supported"), std::string::npos);
}

TEST(RemotingTest, TenThousandConcurrentRequestsAnsweredOnce) {
  TestServer server;
  ASSERT_TRUE(server.Start().ok());
  constexpr int kClients = 4;
  constexpr int kPerClient = 2500;
  std::vector<std::unique_ptr<RemotingClient>> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.push_back(std::make_unique<RemotingClient>());
  }
  std::vector<std::atomic<int>> calls(kClients * kPerClient);
  std::atomic<int> ok{0}, done{0};
  for (int c = 0; c < kClients; ++c) {
    for (int i = 0; i < kPerClient; ++i) {
      int id = c * kPerClient + i;
      Command req = MakeRequest(kEcho);
      req.body = std::to_string(id);
      clients[c]->InvokeAsync(Addr(server.port()), std::move(req),
                              absl::Seconds(30),
                              [&, id](absl::StatusOr<Command> r) {
                                calls[id].fetch_add(1);
                                if (r.ok() && r->body == std::to_string(id)) {
                                  ok.fetch_add(1);
                                }
                                done.fetch_add(1);
                              });
    }
  }
  ASSERT_TRUE(WaitFor([&] { return done.load() == kClients * kPerClient; }));
  EXPECT_EQ(ok.load(), kClients * kPerClient);
  for (auto& c : clients) c->Shutdown();
  for (auto& n : calls) EXPECT_EQ(n.load(), 1);
}

// `threads` threads each make `calls` echo calls in a row over `client`'s
// one connection, with bodies from `body(thread, call)`; returns how many
// came back with their own body. A thread stops at its first failed call
// (the rest would likely fail the same way, each after `timeout`).
int EchoFromThreads(RemotingClient& client, uint16_t port, int threads,
                    int calls, absl::Duration timeout,
                    const std::function<std::string(int, int)>& body) {
  std::atomic<int> ok{0};
  std::vector<std::thread> running;
  for (int t = 0; t < threads; ++t) {
    running.emplace_back([&, t] {
      for (int i = 0; i < calls; ++i) {
        Command req = MakeRequest(kEcho);
        req.body = body(t, i);
        auto resp = client.InvokeSync(Addr(port), req, timeout);
        if (!resp.ok()) {
          ADD_FAILURE() << resp.status();
          return;
        }
        if (resp->body == req.body) ok.fetch_add(1);
      }
    });
  }
  for (auto& thread : running) thread.join();
  return ok.load();
}

// Sixteen threads in a request/response loop over one connection: callers
// woken by one read queue their next requests while the client is still
// handing out that read's responses, and those go out together.
TEST(RemotingTest, SyncCallersWokenByOneReadAllGetTheirOwnAnswers) {
  TestServer server;
  ASSERT_TRUE(server.Start().ok());
  RemotingClient client;
  EXPECT_EQ(
      EchoFromThreads(client, server.port(), 16, 500, absl::Seconds(10),
                      [](int t, int i) { return absl::StrCat(t, "/", i); }),
      16 * 500);
}

// Large requests from several threads keep a client's write queue above
// half its bound while responses arrive, so reading pauses now and then;
// whichever writer drains the queue (a calling thread or the I/O thread)
// must resume it, or the remaining calls time out.
TEST(RemotingTest, ReadingResumesWhenCallersDrainALargeWriteQueue) {
  TestServer server;
  ASSERT_TRUE(server.Start().ok());
  ClientOptions options;
  // Eight 100 KiB requests never fill it, but more than five in the
  // queue at once pause reading.
  options.connection.max_write_queue_bytes = 1024 * 1024;
  RemotingClient client(options);
  EXPECT_EQ(EchoFromThreads(client, server.port(), 8, 600, absl::Seconds(5),
                            [](int t, int) {
                              return std::string(100 * 1024,
                                                 static_cast<char>('a' + t));
                            }),
            8 * 600);
}

TEST(RemotingTest, TimeoutFiresOnceAndLateResponseIsIgnored) {
  TestServer server;
  ASSERT_TRUE(server.Start().ok());
  RemotingClient client;
  std::atomic<int> calls{0};
  absl::Notification timed_out;
  absl::StatusCode code = absl::StatusCode::kOk;
  client.InvokeAsync(Addr(server.port()), MakeRequest(kPark),
                     absl::Milliseconds(100), [&](absl::StatusOr<Command> r) {
                       code = r.status().code();
                       calls.fetch_add(1);
                       timed_out.Notify();
                     });
  timed_out.WaitForNotification();
  EXPECT_EQ(code, absl::StatusCode::kDeadlineExceeded);
  ASSERT_TRUE(WaitFor([&] { return server.parked() == 1; }));
  server.AnswerParked();
  // The echo below travels the same connection after the late response, so
  // once it is answered the late response has been read and dropped.
  auto echo = client.InvokeSync(Addr(server.port()), MakeRequest(kEcho),
                                absl::Seconds(5));
  ASSERT_TRUE(echo.ok());
  EXPECT_EQ(calls.load(), 1);
  EXPECT_EQ(client.pending_requests(), 0u);
}

TEST(RemotingTest, ServerRestartClientReconnects) {
  auto server = std::make_unique<TestServer>();
  ASSERT_TRUE(server->Start().ok());
  uint16_t port = server->port();
  RemotingClient client;
  ASSERT_TRUE(
      client.InvokeSync(Addr(port), MakeRequest(kEcho), absl::Seconds(5)).ok());
  server->server().Stop();
  server.reset();
  auto down =
      client.InvokeSync(Addr(port), MakeRequest(kEcho), absl::Seconds(5));
  EXPECT_EQ(down.status().code(), absl::StatusCode::kUnavailable)
      << down.status();

  ServerOptions options;
  options.port = port;
  server = std::make_unique<TestServer>(options);
  ASSERT_TRUE(server->Start().ok());
  auto up = client.InvokeSync(Addr(port), MakeRequest(kEcho), absl::Seconds(5));
  ASSERT_TRUE(up.ok()) << up.status();
  EXPECT_EQ(up->header.status(), proto::SUCCESS);
}

TEST(RemotingTest, StopWaitsForInFlightRequestsToBeAnswered) {
  TestServer server;
  ASSERT_TRUE(server.Start().ok());
  RemotingClient client;
  constexpr int kRequests = 50;
  std::atomic<int> success{0}, done{0};
  for (int i = 0; i < kRequests; ++i) {
    client.InvokeAsync(Addr(server.port()), MakeRequest(kPark),
                       absl::Seconds(10), [&](absl::StatusOr<Command> r) {
                         if (r.ok() && r->header.status() == proto::SUCCESS) {
                           success.fetch_add(1);
                         }
                         done.fetch_add(1);
                       });
  }
  ASSERT_TRUE(WaitFor([&] { return server.parked() == kRequests; }));
  std::thread stopper([&] { server.server().Stop(); });
  server.AnswerParked();
  stopper.join();
  ASSERT_TRUE(WaitFor([&] { return done.load() == kRequests; }));
  EXPECT_EQ(success.load(), kRequests);
}

TEST(RemotingTest, UnansweredRequestsFailOnceWhenServerStops) {
  ServerOptions options;
  options.shutdown_grace = absl::Milliseconds(100);
  TestServer server(options);
  ASSERT_TRUE(server.Start().ok());
  RemotingClient client;
  std::atomic<int> calls{0};
  absl::Notification done;
  absl::StatusCode code = absl::StatusCode::kOk;
  client.InvokeAsync(Addr(server.port()), MakeRequest(kPark), absl::Seconds(30),
                     [&](absl::StatusOr<Command> r) {
                       code =
                           r.ok() ? absl::StatusCode::kOk : r.status().code();
                       calls.fetch_add(1);
                       done.Notify();
                     });
  ASSERT_TRUE(WaitFor([&] { return server.parked() == 1; }));
  server.server().Stop();
  done.WaitForNotification();
  EXPECT_EQ(code, absl::StatusCode::kUnavailable);
  server.DropParked();  // responding after Stop is harmless
  client.Shutdown();
  EXPECT_EQ(calls.load(), 1);
}

TEST(RemotingTest, DroppedResponderAnswersSystemError) {
  RemotingServer server(LoopbackOptions());
  server.RegisterHandler(kEcho, [](Command, Responder) {});
  ASSERT_TRUE(server.Start().ok());
  RemotingClient client;
  auto resp = client.InvokeSync(Addr(server.port()), MakeRequest(kEcho),
                                absl::Seconds(5));
  ASSERT_TRUE(resp.ok());
  EXPECT_EQ(resp->header.status(), proto::SYSTEM_ERROR);
}

TEST(RemotingTest, OnewayRequestsReachTheHandler) {
  RemotingServer server(LoopbackOptions());
  std::atomic<int> seen{0};
  server.RegisterHandler(kEcho, [&](Command req, Responder r) {
    EXPECT_TRUE(req.is_oneway());
    seen.fetch_add(1);
    r.Respond(MakeResponse(req, proto::SUCCESS));  // not sent for oneway
  });
  ASSERT_TRUE(server.Start().ok());
  RemotingClient client;
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(
        client.InvokeOneway(Addr(server.port()), MakeRequest(kEcho)).ok());
  }
  EXPECT_TRUE(WaitFor([&] { return seen.load() == 100; }));
}

TEST(RemotingTest, OversizedFrameClosesOnlyThatConnection) {
  ServerOptions options;
  options.connection.max_frame_size = 1024;
  TestServer server(options);
  ASSERT_TRUE(server.Start().ok());

  boost::asio::io_context io;
  boost::asio::ip::tcp::socket raw(io);
  raw.connect({boost::asio::ip::make_address("127.0.0.1"), server.port()});
  boost::asio::write(raw,
                     boost::asio::buffer(std::string("\x7f\xff\xff\xff", 4)));
  char byte;
  boost::system::error_code ec;
  raw.read_some(boost::asio::buffer(&byte, 1), ec);
  EXPECT_EQ(ec, boost::asio::error::eof);

  RemotingClient client;
  Command small = MakeRequest(kEcho);
  small.body = "ok";
  auto resp = client.InvokeSync(Addr(server.port()), small, absl::Seconds(5));
  ASSERT_TRUE(resp.ok());
  EXPECT_EQ(resp->body, "ok");
  Command big = MakeRequest(kEcho);
  big.body.assign(4096, 'x');
  auto rejected = client.InvokeSync(Addr(server.port()), big, absl::Seconds(5));
  EXPECT_EQ(rejected.status().code(), absl::StatusCode::kUnavailable);
}

// A frame over maxFrameSize would make the peer drop the connection, and
// with it every other request on it, with no word of why. The sender refuses
// it instead: a request fails alone, a response becomes SYSTEM_ERROR.
TEST(RemotingTest, FramesOverMaxFrameSizeFailAloneWithAClearError) {
  ServerOptions server_options;
  server_options.connection.max_frame_size = 64 * 1024;
  TestServer server(server_options);
  server.server().RegisterHandler(kBig, [](Command req, Responder r) {
    Command resp = MakeResponse(req, proto::SUCCESS);
    resp.body.assign(100 * 1024, 'b');
    r.Respond(std::move(resp));
  });
  ASSERT_TRUE(server.Start().ok());
  ClientOptions client_options;
  client_options.connection.max_frame_size = 64 * 1024;
  RemotingClient client(client_options);
  absl::Notification parked_done;
  absl::StatusOr<Command> parked_result;
  client.InvokeAsync(Addr(server.port()), MakeRequest(kPark), absl::Seconds(30),
                     [&](absl::StatusOr<Command> r) {
                       parked_result = std::move(r);
                       parked_done.Notify();
                     });
  ASSERT_TRUE(WaitFor([&] { return server.parked() == 1; }));

  Command big = MakeRequest(kEcho);
  big.body.assign(100 * 1024, 'x');
  auto refused = client.InvokeSync(Addr(server.port()), big, absl::Seconds(5));
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument)
      << refused.status();
  EXPECT_NE(refused.status().message().find("maxFrameSize"), std::string::npos);

  auto too_big = client.InvokeSync(Addr(server.port()), MakeRequest(kBig),
                                   absl::Seconds(5));
  ASSERT_TRUE(too_big.ok()) << too_big.status();
  EXPECT_EQ(too_big->header.status(), proto::SYSTEM_ERROR);
  EXPECT_NE(too_big->header.remark().find("maxFrameSize"), std::string::npos)
      << too_big->header.remark();

  // The connection, and the request parked on it, are unaffected.
  server.AnswerParked();
  parked_done.WaitForNotification();
  ASSERT_TRUE(parked_result.ok()) << parked_result.status();
  EXPECT_EQ(parked_result->header.status(), proto::SUCCESS);
}

// A oneway request its open connection refuses at once is reported to the
// caller (as RocketMQ's invokeOneway throws when it cannot send), not
// dropped behind an OK.
TEST(RemotingTest, OnewayRefusedByItsConnectionFails) {
  TestServer server;
  ASSERT_TRUE(server.Start().ok());
  ClientOptions options;
  options.connection.max_frame_size = 1024;
  RemotingClient client(options);
  ASSERT_TRUE(
      client
          .InvokeSync(Addr(server.port()), MakeRequest(kEcho), absl::Seconds(5))
          .ok());
  Command big = MakeRequest(kEcho);
  big.body.assign(4096, 'x');
  absl::Status status = client.InvokeOneway(Addr(server.port()), big);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_TRUE(
      client.InvokeOneway(Addr(server.port()), MakeRequest(kEcho)).ok());
}

TEST(RemotingTest, IdleConnectionsAreClosed) {
  ServerOptions options;
  options.connection.idle_timeout = absl::Milliseconds(200);
  TestServer server(options);
  ASSERT_TRUE(server.Start().ok());
  RemotingClient client;
  ASSERT_TRUE(
      client
          .InvokeSync(Addr(server.port()), MakeRequest(kEcho), absl::Seconds(5))
          .ok());
  EXPECT_EQ(server.server().connection_count(), 1u);
  EXPECT_EQ(client.open_connections(), 1u);
  EXPECT_TRUE(WaitFor([&] { return server.server().connection_count() == 0; }));
  EXPECT_TRUE(WaitFor([&] { return client.open_connections() == 0; }));
  // The client reconnects on the next request.
  EXPECT_TRUE(
      client
          .InvokeSync(Addr(server.port()), MakeRequest(kEcho), absl::Seconds(5))
          .ok());
}

// A peer that sends requests and never reads the answers: the server stops
// reading it once its write queue is half full, and must then close it when
// nothing has moved either way for the idle timeout (as RocketMQ's all-idle
// check does), not hold the queued answers for as long as the peer lives.
TEST(RemotingTest, PeerThatNeverReadsIsClosedWhenIdle) {
  ServerOptions options;
  options.connection.idle_timeout = absl::Milliseconds(300);
  options.connection.max_write_queue_bytes = 1024 * 1024;
  TestServer server(options);
  ASSERT_TRUE(server.Start().ok());

  boost::asio::io_context io;
  boost::asio::ip::tcp::socket raw(io);
  raw.connect({boost::asio::ip::make_address("127.0.0.1"), server.port()});
  // Small socket buffers, so the server's queue fills after a few MiB.
  raw.set_option(boost::asio::socket_base::receive_buffer_size(64 * 1024));
  Command request = MakeRequest(kEcho);
  request.body.assign(256 * 1024, 'x');
  const std::string frame = EncodeFrame(request);
  // Writes until the server closes: once it stops reading, this blocks
  // until the close fails it.
  std::thread writer([&] {
    boost::system::error_code ec;
    while (!ec) boost::asio::write(raw, boost::asio::buffer(frame), ec);
  });
  EXPECT_TRUE(WaitFor([&] { return server.server().connection_count() == 0; },
                      absl::Seconds(20)));
  server.server().Stop();  // in case it did not close: unblocks the writer
  writer.join();
}

// The timeout timer is armed before the request is registered; a timer that
// fires in between must still fail the request, or its callback never runs.
TEST(RemotingTest, ExpiredAsyncRequestsAlwaysCallBack) {
  TestServer server;
  ASSERT_TRUE(server.Start().ok());
  RemotingClient client;
  ASSERT_TRUE(
      client
          .InvokeSync(Addr(server.port()), MakeRequest(kEcho), absl::Seconds(5))
          .ok());
  constexpr int kThreads = 4;
  constexpr int kPerThread = 5000;
  std::atomic<int> done{0}, expired{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kPerThread; ++i) {
        client.InvokeAsync(Addr(server.port()), MakeRequest(kPark),
                           absl::ZeroDuration(),
                           [&](absl::StatusOr<Command> r) {
                             if (absl::IsDeadlineExceeded(r.status())) {
                               expired.fetch_add(1);
                             }
                             done.fetch_add(1);
                           });
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_TRUE(WaitFor([&] { return done.load() == kThreads * kPerThread; }))
      << done.load() << " of " << kThreads * kPerThread << " called back";
  EXPECT_EQ(expired.load(), done.load());
  EXPECT_EQ(client.pending_requests(), 0u);
  // Expired requests are still sent; let them all arrive before answering.
  EXPECT_TRUE(WaitFor(
      [&] { return server.parked() == size_t{kThreads * kPerThread}; }));
  server.DropParked();
}

// Shutdown() while other threads are calling, some answered, some parked,
// some still connecting: every async callback runs exactly once and every
// sync call returns.
TEST(RemotingTest, ShutdownDuringCallsCompletesEachCallOnce) {
  TestServer server;
  ASSERT_TRUE(server.Start().ok());
  RemotingClient client;
  constexpr int kThreads = 4;
  constexpr int kPerThread = 2000;
  std::vector<std::atomic<int>> calls(kThreads * kPerThread);
  std::atomic<int> issued{0}, sync_returned{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const int id = t * kPerThread + i;
        if (i % 10 == 0) {
          auto r = client.InvokeSync(Addr(server.port()), MakeRequest(kEcho),
                                     absl::Seconds(10));
          calls[id].fetch_add(1);
          sync_returned.fetch_add(1);
        } else {
          client.InvokeAsync(
              Addr(server.port()), MakeRequest(i % 2 == 0 ? kEcho : kPark),
              absl::Seconds(10),
              [&, id](absl::StatusOr<Command>) { calls[id].fetch_add(1); });
        }
        issued.fetch_add(1);
      }
    });
  }
  ASSERT_TRUE(
      WaitFor([&] { return issued.load() >= kThreads * kPerThread / 4; }));
  client.Shutdown();
  for (auto& thread : threads) thread.join();
  // Calls made after Shutdown() were refused at once, also counted.
  for (int id = 0; id < kThreads * kPerThread; ++id) {
    ASSERT_EQ(calls[id].load(), 1) << "call " << id;
  }
  EXPECT_EQ(client.pending_requests(), 0u);
  server.DropParked();
}

TEST(RemotingTest, ConnectFailuresAndBadAddresses) {
  RemotingClient client;
  auto refused =
      client.InvokeSync("127.0.0.1:1", MakeRequest(kEcho), absl::Seconds(5));
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnavailable);
  auto bad =
      client.InvokeSync("nonsense", MakeRequest(kEcho), absl::Seconds(5));
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(RemotingTest, ShutdownFailsPendingAndLaterCalls) {
  TestServer server;
  ASSERT_TRUE(server.Start().ok());
  RemotingClient client;
  absl::Notification done;
  client.InvokeAsync(Addr(server.port()), MakeRequest(kPark), absl::Seconds(30),
                     [&](absl::StatusOr<Command> r) {
                       EXPECT_EQ(r.status().code(),
                                 absl::StatusCode::kUnavailable);
                       done.Notify();
                     });
  ASSERT_TRUE(WaitFor([&] { return server.parked() == 1; }));
  client.Shutdown();
  EXPECT_TRUE(done.HasBeenNotified());
  auto after = client.InvokeSync(Addr(server.port()), MakeRequest(kEcho),
                                 absl::Seconds(1));
  EXPECT_EQ(after.status().code(), absl::StatusCode::kUnavailable);
  server.DropParked();
}

}  // namespace
}  // namespace cometmq::remoting
