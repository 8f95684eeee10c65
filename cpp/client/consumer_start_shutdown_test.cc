// Shutdown() called while Start() is still under way on another thread.

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "cpp/client/pull_consumer.h"
#include "cpp/client/push_consumer.h"
#include "cpp/common/eventually.h"
#include "cpp/common/thread_count.h"
#include "cpp/remoting/remoting_server.h"
#include "gtest/gtest.h"

namespace cometmq::client {
namespace {

// A NameServer that never answers the first route request, so a consumer's
// Start() (which fetches its routes first) stays under way until that
// request times out; every other route request is answered TOPIC_NOT_EXIST.
class HoldingNameServer {
 public:
  HoldingNameServer() {
    remoting::ServerOptions options;
    options.bind_address = "127.0.0.1";
    server_ = std::make_unique<remoting::RemotingServer>(options);
    server_->RegisterHandler(
        proto::GET_ROUTEINFO_BY_TOPIC,
        [this](remoting::Command request, remoting::Responder responder) {
          absl::MutexLock lock(&mu_);
          if (!held_.has_value() && !stopping_) {
            held_.emplace(std::move(request), std::move(responder));
            return;
          }
          responder.Respond(NoRoute(request));
        });
    EXPECT_TRUE(server_->Start().ok());
  }
  ~HoldingNameServer() {
    {
      absl::MutexLock lock(&mu_);
      stopping_ = true;
      if (held_.has_value()) held_->second.Respond(NoRoute(held_->first));
      held_.reset();
    }
    server_->Stop();
  }

  std::string address() const {
    return absl::StrCat("127.0.0.1:", server_->port());
  }
  bool holding() const {
    absl::MutexLock lock(&mu_);
    return held_.has_value();
  }

 private:
  static remoting::Command NoRoute(const remoting::Command& request) {
    return remoting::MakeResponse(request, proto::TOPIC_NOT_EXIST,
                                  "no route in this test");
  }

  std::unique_ptr<remoting::RemotingServer> server_;
  mutable absl::Mutex mu_;
  std::optional<std::pair<remoting::Command, remoting::Responder>> held_
      ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
};

// Runs `start` on another thread and, while it waits for its first route,
// `shutdown` on this one. Returns what `start` returned.
absl::Status StartWhileShuttingDown(HoldingNameServer& namesrv,
                                    const std::function<absl::Status()>& start,
                                    const std::function<void()>& shutdown) {
  absl::Status started;
  std::thread starter([&] { started = start(); });
  EXPECT_TRUE(Eventually([&] { return namesrv.holding(); }));
  shutdown();
  starter.join();
  return started;
}

// RocketMQ's start() and shutdown() are synchronized: a shutdown() during
// start() stops the consumer once it started. Shutdown() used to return at
// once (nothing was running yet) and the consumer then ran on, with its
// consume threads, timers and client instance, until destroyed.
TEST(ConsumerStartShutdownTest, PushConsumerShutDownDuringStartStops) {
  HoldingNameServer namesrv;
  const int threads = ThreadCount();
  ConsumerOptions options;
  options.client.namesrv_addr = namesrv.address();
  options.client.instance_name = "shutdown-during-start-push";
  DefaultPushConsumer consumer("CGShutdownDuringStart", options);
  ASSERT_TRUE(consumer.Subscribe("TopicS", "*").ok());
  consumer.RegisterListener(
      [](const MessageExt&) { return ConsumeResult::kSuccess; });
  absl::Status started = StartWhileShuttingDown(
      namesrv, [&] { return consumer.Start(); }, [&] { consumer.Shutdown(); });
  EXPECT_TRUE(started.ok()) << started;
  EXPECT_TRUE(Eventually([&] { return ThreadCount() == threads; }))
      << ThreadCount() << " threads, " << threads << " before";
}

TEST(ConsumerStartShutdownTest, PullConsumerShutDownDuringStartStops) {
  HoldingNameServer namesrv;
  const int threads = ThreadCount();
  ConsumerOptions options;
  options.client.namesrv_addr = namesrv.address();
  options.client.instance_name = "shutdown-during-start-pull";
  DefaultLitePullConsumer consumer("CGShutdownDuringStartPull", options);
  ASSERT_TRUE(consumer.Subscribe("TopicS", "*").ok());
  absl::Status started = StartWhileShuttingDown(
      namesrv, [&] { return consumer.Start(); }, [&] { consumer.Shutdown(); });
  EXPECT_TRUE(started.ok()) << started;
  EXPECT_TRUE(Eventually([&] { return ThreadCount() == threads; }))
      << ThreadCount() << " threads, " << threads << " before";
  EXPECT_FALSE(consumer.Poll(absl::ZeroDuration()).ok());
}

}  // namespace
}  // namespace cometmq::client
