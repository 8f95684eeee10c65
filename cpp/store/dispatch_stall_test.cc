// A record whose consume queue cannot be written (here: a file stands where
// its topic's directory must go, as a full disk would refuse the segment)
// stops dispatching at that record; nothing behind it is skipped, and once
// the obstacle is gone everything reaches its queue with its own offset.

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "cpp/store/message_store.h"
#include "cpp/store/store_test_util.h"
#include "gtest/gtest.h"

namespace cometmq::store {
namespace {

const absl::flat_hash_set<int64_t> kAnyTag;

std::unique_ptr<MessageStore> OpenStore(const StoreConfig& config) {
  absl::StatusOr<std::unique_ptr<MessageStore>> store =
      MessageStore::Open(config, {});
  EXPECT_TRUE(store.ok()) << store.status();
  return store.ok() ? *std::move(store) : nullptr;
}

std::vector<std::string> Bodies(const MessageStore& store,
                                const std::string& topic) {
  std::vector<std::string> bodies;
  GetResult r = store.Get(topic, 0, 0, 32, 1 << 20, kAnyTag);
  for (const RecordSlice& s : r.messages) {
    RecordView v;
    EXPECT_EQ(DecodeRecord(s.data, s.size, true, &v), DecodeResult::kRecord);
    bodies.emplace_back(v.body);
  }
  return bodies;
}

// Waits (bounded) for the dispatcher to report the stall the test caused.
bool AwaitStalled(const MessageStore& store) {
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (!store.DispatchStalled()) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(5));
  }
  return true;
}

// Puts a file where topic `topic`'s consume queue directory must be created.
std::string BlockTopic(const StoreConfig& config, const std::string& topic) {
  std::filesystem::create_directories(config.ConsumeQueueDir());
  std::string path = config.ConsumeQueueDir() + "/" + topic;
  std::ofstream(path) << "not a directory";
  return path;
}

void Put(MessageStore& store, const std::string& topic, const std::string& body,
         int64_t expected_queue_offset) {
  PutResult r = store.PutSync({MakeMessage(topic, 0, body)});
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.queue_offset, expected_queue_offset) << body;
}

TEST(DispatchStallTest, StopsAtTheRecordAndResumesWithoutAGap) {
  StoreConfig config = SmallStoreConfig(MakeTempDir("stall_resume"));
  auto store = OpenStore(config);
  ASSERT_NE(store, nullptr);
  Put(*store, "T", "t0", 0);
  store->WaitDispatched();
  const std::string obstacle = BlockTopic(config, "U");

  // Both are acknowledged: they are in the commit log.
  Put(*store, "U", "u0", 0);
  Put(*store, "T", "t1", 1);
  ASSERT_TRUE(AwaitStalled(*store));
  // t1 is behind u0 in the log, so it waits too rather than being served
  // out of order or u0 being skipped.
  EXPECT_EQ(Bodies(*store, "T"), std::vector<std::string>{"t0"});
  EXPECT_EQ(store->Get("U", 0, 0, 32, 1 << 20, kAnyTag).status,
            GetStatus::kNoMatchedLogicQueue);

  std::filesystem::remove(obstacle);
  store->WaitDispatched();
  EXPECT_FALSE(store->DispatchStalled());
  EXPECT_EQ(Bodies(*store, "T"), (std::vector<std::string>{"t0", "t1"}));
  EXPECT_EQ(Bodies(*store, "U"), std::vector<std::string>{"u0"});
  Put(*store, "T", "t2", 2);
  store->WaitDispatched();
  EXPECT_EQ(Bodies(*store, "T"), (std::vector<std::string>{"t0", "t1", "t2"}));
}

TEST(DispatchStallTest, RestartWhileStalledKeepsQueueOffsetsAndCatchesUp) {
  StoreConfig config = SmallStoreConfig(MakeTempDir("stall_restart"));
  std::string obstacle;
  {
    auto store = OpenStore(config);
    ASSERT_NE(store, nullptr);
    Put(*store, "T", "t0", 0);
    store->WaitDispatched();
    obstacle = BlockTopic(config, "U");
    Put(*store, "U", "u0", 0);
    Put(*store, "T", "t1", 1);
    ASSERT_TRUE(AwaitStalled(*store));
    store->Shutdown();  // returns although dispatching is stuck
  }
  {
    // Still blocked: the store opens, recovery stops at u0, and t1's queue
    // offset stays taken although its consume queue entry is not written.
    auto store = OpenStore(config);
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(AwaitStalled(*store));
    Put(*store, "T", "t2", 2);
    EXPECT_EQ(Bodies(*store, "T"), std::vector<std::string>{"t0"});

    std::filesystem::remove(obstacle);
    store->WaitDispatched();
    EXPECT_EQ(Bodies(*store, "T"),
              (std::vector<std::string>{"t0", "t1", "t2"}));
    EXPECT_EQ(Bodies(*store, "U"), std::vector<std::string>{"u0"});
  }
}

}  // namespace
}  // namespace cometmq::store
