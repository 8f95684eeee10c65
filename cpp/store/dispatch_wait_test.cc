// MessageStore::WhenAcknowledgedDispatched: a caller is answered once what
// was acknowledged before it asked is in the consume queues, at once when
// nothing is pending, and with false (not never) when dispatching stalls.
// The dispatch thread is held inside a record's dispatch through the
// tags_code hook, so "not yet" is observed without timing.

#include <atomic>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "cpp/store/message_store.h"
#include "cpp/store/store_test_util.h"
#include "gtest/gtest.h"

namespace cometmq::store {
namespace {

constexpr absl::Duration kWait = absl::Seconds(10);

// Holds the dispatch thread in the first record of topic "Slow" until
// Release().
class SlowTopic {
 public:
  StoreHooks Hooks() {
    StoreHooks hooks;
    hooks.tags_code = [this](const RecordView& r) -> int64_t {
      if (r.topic == "Slow" && !entered_.HasBeenNotified()) {
        entered_.Notify();
        released_.WaitForNotification();
      }
      return 0;
    };
    return hooks;
  }
  bool AwaitEntered() { return entered_.WaitForNotificationWithTimeout(kWait); }
  void Release() {
    if (!released_.HasBeenNotified()) released_.Notify();
  }

 private:
  absl::Notification entered_;
  absl::Notification released_;
};

// What a WhenAcknowledgedDispatched callback saw.
struct Answer {
  absl::Notification called;
  std::atomic<bool> dispatched{false};
  std::atomic<int64_t> max_offset{-1};
};

std::function<void(bool)> Record(const MessageStore* store, Answer* answer,
                                 const std::string& topic) {
  return [store, answer, topic](bool dispatched) {
    answer->dispatched = dispatched;
    answer->max_offset = store->MaxOffsetInQueue(topic, 0);
    answer->called.Notify();
  };
}

std::unique_ptr<MessageStore> OpenStore(const StoreConfig& config,
                                        StoreHooks hooks) {
  absl::StatusOr<std::unique_ptr<MessageStore>> store =
      MessageStore::Open(config, std::move(hooks));
  EXPECT_TRUE(store.ok()) << store.status();
  return store.ok() ? *std::move(store) : nullptr;
}

bool AwaitStalled(const MessageStore& store) {
  const absl::Time deadline = absl::Now() + kWait;
  while (!store.DispatchStalled()) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(5));
  }
  return true;
}

TEST(DispatchWaitTest, AnswersOnceTheAcknowledgedMessagesAreDispatched) {
  SlowTopic slow;
  auto store =
      OpenStore(SmallStoreConfig(MakeTempDir("wait_parked")), slow.Hooks());
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->PutOneSync(MakeMessage("Slow", 0, "a")).ok());
  ASSERT_TRUE(store->PutOneSync(MakeMessage("Slow", 0, "b")).ok());
  ASSERT_TRUE(slow.AwaitEntered());

  Answer answer;
  store->WhenAcknowledgedDispatched(Record(store.get(), &answer, "Slow"));
  // The dispatch thread is still inside the first record.
  EXPECT_FALSE(answer.called.HasBeenNotified());
  EXPECT_EQ(store->MaxOffsetInQueue("Slow", 0), 0);

  slow.Release();
  ASSERT_TRUE(answer.called.WaitForNotificationWithTimeout(kWait));
  EXPECT_TRUE(answer.dispatched);
  EXPECT_EQ(answer.max_offset, 2);
}

TEST(DispatchWaitTest, AnswersAtOnceWhenNothingIsPending) {
  auto store = OpenStore(SmallStoreConfig(MakeTempDir("wait_idle")), {});
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->PutOneSync(MakeMessage("T", 0, "a")).ok());
  store->WaitDispatched();
  Answer answer;
  store->WhenAcknowledgedDispatched(Record(store.get(), &answer, "T"));
  // On the calling thread, before the call returned.
  ASSERT_TRUE(answer.called.HasBeenNotified());
  EXPECT_TRUE(answer.dispatched);
  EXPECT_EQ(answer.max_offset, 1);
}

// A file where topic "Blocked"'s consume queue directory must go: its
// records cannot be dispatched (as on a full disk).
void BlockTopic(const StoreConfig& config) {
  std::filesystem::create_directories(config.ConsumeQueueDir());
  std::ofstream(config.ConsumeQueueDir() + "/Blocked") << "not a directory";
}

TEST(DispatchWaitTest, AnswersFalseAtOnceWhileDispatchIsStalled) {
  StoreConfig config = SmallStoreConfig(MakeTempDir("wait_stalled"));
  BlockTopic(config);
  auto store = OpenStore(config, {});
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->PutOneSync(MakeMessage("Blocked", 0, "x")).ok());
  ASSERT_TRUE(AwaitStalled(*store));
  Answer answer;
  store->WhenAcknowledgedDispatched(Record(store.get(), &answer, "Blocked"));
  ASSERT_TRUE(answer.called.HasBeenNotified());
  EXPECT_FALSE(answer.dispatched);
  EXPECT_EQ(answer.max_offset, 0);
}

TEST(DispatchWaitTest, AParkedCallerIsAnsweredFalseWhenDispatchStalls) {
  StoreConfig config = SmallStoreConfig(MakeTempDir("wait_then_stall"));
  BlockTopic(config);
  SlowTopic slow;
  auto store = OpenStore(config, slow.Hooks());
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->PutOneSync(MakeMessage("Slow", 0, "a")).ok());
  ASSERT_TRUE(slow.AwaitEntered());
  ASSERT_TRUE(store->PutOneSync(MakeMessage("Blocked", 0, "x")).ok());
  Answer answer;
  store->WhenAcknowledgedDispatched(Record(store.get(), &answer, "Slow"));
  EXPECT_FALSE(answer.called.HasBeenNotified());

  slow.Release();
  // Not held for as long as the stall lasts: answered with what is there.
  ASSERT_TRUE(answer.called.WaitForNotificationWithTimeout(kWait));
  EXPECT_FALSE(answer.dispatched);
  EXPECT_EQ(answer.max_offset, 1);
  EXPECT_TRUE(store->DispatchStalled());
}

TEST(DispatchWaitTest, AParkedCallerIsAnsweredAtShutdown) {
  SlowTopic slow;
  auto store =
      OpenStore(SmallStoreConfig(MakeTempDir("wait_shutdown")), slow.Hooks());
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->PutOneSync(MakeMessage("Slow", 0, "a")).ok());
  ASSERT_TRUE(slow.AwaitEntered());
  Answer answer;
  store->WhenAcknowledgedDispatched(Record(store.get(), &answer, "Slow"));
  std::thread stopper([&] { store->Shutdown(); });
  slow.Release();
  stopper.join();
  ASSERT_TRUE(answer.called.HasBeenNotified());
  // Shutdown dispatches what was stored before it stops.
  EXPECT_TRUE(answer.dispatched);
  EXPECT_EQ(answer.max_offset, 1);
}

}  // namespace
}  // namespace cometmq::store
