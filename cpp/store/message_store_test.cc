#include "cpp/store/message_store.h"

#include <atomic>
#include <filesystem>
#include <fstream>
#include <future>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "cpp/store/store_test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cometmq::store {
namespace {

const absl::flat_hash_set<int64_t> kAnyTag;

std::unique_ptr<MessageStore> OpenStore(const StoreConfig& config,
                                        StoreHooks hooks = {}) {
  absl::StatusOr<std::unique_ptr<MessageStore>> store =
      MessageStore::Open(config, std::move(hooks));
  EXPECT_TRUE(store.ok()) << store.status();
  return store.ok() ? *std::move(store) : nullptr;
}

std::string Body(int i, size_t size = 100) {
  std::string body = absl::StrCat("message-", i, "-");
  body.resize(size, static_cast<char>('a' + i % 26));
  return body;
}

// Reads every message of a queue from `from`, checking each record's body.
std::vector<std::string> ReadAll(const MessageStore& store,
                                 const std::string& topic, int32_t queue,
                                 int64_t from = 0) {
  std::vector<std::string> bodies;
  int64_t offset = from;
  while (true) {
    GetResult r = store.Get(topic, queue, offset, 32, 1 << 20, kAnyTag);
    if (r.status != GetStatus::kFound) break;
    for (const RecordSlice& s : r.messages) {
      RecordView v;
      EXPECT_EQ(DecodeRecord(s.data, s.size, true, &v), DecodeResult::kRecord);
      bodies.emplace_back(v.body);
    }
    offset = r.next_begin_offset;
  }
  return bodies;
}

TEST(MessageStoreTest, PutThenGetAcrossSegmentRollover) {
  StoreConfig config = SmallStoreConfig(MakeTempDir("rollover"));
  auto store = OpenStore(config);
  ASSERT_NE(store, nullptr);
  // 300 x ~1.1 KiB records span several 64 KiB segments.
  for (int i = 0; i < 300; ++i) {
    PutResult r = store->PutSync({MakeMessage("T", i % 2, Body(i, 1000))});
    ASSERT_TRUE(r.ok()) << r.error;
    EXPECT_EQ(r.queue_offset, i / 2);
    EXPECT_EQ(r.offset_msg_ids.size(), 1u);
  }
  store->WaitDispatched();
  EXPECT_GT(store->commit_log().files().Files().size(), 4u);
  std::vector<std::string> q0 = ReadAll(*store, "T", 0);
  ASSERT_EQ(q0.size(), 150u);
  for (int i = 0; i < 150; ++i) EXPECT_EQ(q0[i], Body(2 * i, 1000));
  EXPECT_EQ(store->MaxOffsetInQueue("T", 1), 150);
  // Segment files are named by their 20-digit start offset.
  EXPECT_TRUE(
      std::filesystem::exists(config.CommitLogDir() + "/00000000000000065536"));
}

TEST(MessageStoreTest, GetStatuses) {
  auto store = OpenStore(SmallStoreConfig(MakeTempDir("statuses")));
  EXPECT_EQ(store->Get("T", 0, 0, 10, 1 << 20, kAnyTag).status,
            GetStatus::kNoMatchedLogicQueue);
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(store->PutSync({MakeMessage("T", 0, Body(i))}).ok());
  }
  store->WaitDispatched();
  GetResult r = store->Get("T", 0, 0, 3, 1 << 20, kAnyTag);
  EXPECT_EQ(r.status, GetStatus::kFound);
  EXPECT_EQ(r.messages.size(), 3u);
  EXPECT_EQ(r.next_begin_offset, 3);
  EXPECT_EQ(r.min_offset, 0);
  EXPECT_EQ(r.max_offset, 5);
  EXPECT_EQ(store->Get("T", 0, 5, 3, 1 << 20, kAnyTag).status,
            GetStatus::kOffsetOverflowOne);
  EXPECT_EQ(store->Get("T", 0, 9, 3, 1 << 20, kAnyTag).status,
            GetStatus::kOffsetOverflowBadly);
  // Max bytes bounds the batch but always returns at least one message.
  EXPECT_EQ(store->Get("T", 0, 0, 10, 1, kAnyTag).messages.size(), 1u);
}

TEST(MessageStoreTest, MaxBytesStopsBeforeTheMessageThatWouldPassIt) {
  auto store = OpenStore(SmallStoreConfig(MakeTempDir("maxbytes")));
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(store->PutSync({MakeMessage("T", 0, Body(i, 1000))}).ok());
  }
  store->WaitDispatched();
  // Room for one ~1.1 KiB record and a half: the second would pass the
  // limit, so the batch ends after the first with the limit not reached.
  // The read must return then, not scan the same entry again forever.
  auto got = std::async(std::launch::async, [&] {
    return store->Get("T", 0, 0, 32, 1700, kAnyTag);
  });
  if (got.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
    ADD_FAILURE() << "Get() did not return within 10 s";
    std::_Exit(1);  // the reading thread spins; it cannot be joined
  }
  GetResult r = got.get();
  EXPECT_EQ(r.status, GetStatus::kFound);
  EXPECT_EQ(r.messages.size(), 1u);
  EXPECT_EQ(r.next_begin_offset, 1);
  // Room for exactly three: three, and the pull goes on at the fourth.
  const int64_t one = r.total_bytes;
  r = store->Get("T", 0, 0, 32, 3 * one + one / 2, kAnyTag);
  EXPECT_EQ(r.messages.size(), 3u);
  EXPECT_EQ(r.next_begin_offset, 3);
}

TEST(MessageStoreTest, TagFilterByHash) {
  auto store = OpenStore(SmallStoreConfig(MakeTempDir("tags")));
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(
        store->PutSync({MakeMessage("T", 0, Body(i), i % 2 ? "TagA" : "TagB")})
            .ok());
  }
  store->WaitDispatched();
  absl::flat_hash_set<int64_t> only_a = {TagsHashCode("TagA")};
  GetResult r = store->Get("T", 0, 0, 32, 1 << 20, only_a);
  EXPECT_EQ(r.status, GetStatus::kFound);
  EXPECT_EQ(r.messages.size(), 5u);
  EXPECT_EQ(r.next_begin_offset, 10);
  absl::flat_hash_set<int64_t> none = {TagsHashCode("TagC")};
  EXPECT_EQ(store->Get("T", 0, 0, 32, 1 << 20, none).status,
            GetStatus::kNoMatchedMessage);
}

TEST(MessageStoreTest, RecordFilterSelectsAndSkipsRefusedRecords) {
  auto store = OpenStore(SmallStoreConfig(MakeTempDir("recordfilter")));
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(store->PutSync({MakeMessage("T", 0, Body(i, 1000))}).ok());
  }
  store->WaitDispatched();
  // Only bodies of multiples of 3 pass.
  MessageStore::RecordFilter by_body = [](const RecordSlice& s) {
    RecordView v;
    if (DecodeRecord(s.data, s.size, false, &v) != DecodeResult::kRecord) {
      return false;
    }
    for (int i : {0, 3, 6, 9}) {
      if (absl::StartsWith(v.body, absl::StrCat("message-", i, "-"))) {
        return true;
      }
    }
    return false;
  };
  // Refused records count against neither max_count nor max_bytes.
  GetResult r = store->Get("T", 0, 0, 2, 2500, kAnyTag, &by_body);
  EXPECT_EQ(r.status, GetStatus::kFound);
  ASSERT_EQ(r.messages.size(), 2u);
  EXPECT_EQ(r.next_begin_offset, 4);
  r = store->Get("T", 0, 4, 32, 1 << 20, kAnyTag, &by_body);
  EXPECT_EQ(r.messages.size(), 2u);
  EXPECT_EQ(r.next_begin_offset, 10);
  // Nothing accepted: no match, and the offset still moves to the end.
  MessageStore::RecordFilter none = [](const RecordSlice&) { return false; };
  r = store->Get("T", 0, 0, 32, 1 << 20, kAnyTag, &none);
  EXPECT_EQ(r.status, GetStatus::kNoMatchedMessage);
  EXPECT_EQ(r.next_begin_offset, 10);
}

TEST(MessageStoreTest, OversizedMessageIsRefusedAndNothingWritten) {
  StoreConfig config = SmallStoreConfig(MakeTempDir("oversized"));
  auto store = OpenStore(config);
  int64_t before = store->MaxPhysicalOffset();
  PutResult r = store->PutSync(
      {MakeMessage("T", 0, std::string(config.maxMessageSize + 1, 'x'))});
  EXPECT_EQ(r.status, PutStatus::kMessageIllegal);
  EXPECT_NE(r.error.find("maxMessageSize"), std::string::npos) << r.error;
  EXPECT_EQ(store->MaxPhysicalOffset(), before);
  EXPECT_TRUE(store
                  ->PutSync({MakeMessage(
                      "T", 0, std::string(config.maxMessageSize, 'x'))})
                  .ok());
}

TEST(MessageStoreTest, BatchIsContiguousWithConsecutiveOffsets) {
  auto store = OpenStore(SmallStoreConfig(MakeTempDir("batch")));
  std::vector<MessageToStore> batch;
  for (int i = 0; i < 10; ++i) batch.push_back(MakeMessage("T", 2, Body(i)));
  PutResult r = store->PutSync(batch);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.message_count, 10);
  EXPECT_EQ(r.queue_offset, 0);
  EXPECT_EQ(r.offset_msg_ids.size(), 10u);
  store->WaitDispatched();
  EXPECT_EQ(ReadAll(*store, "T", 2).size(), 10u);
}

TEST(MessageStoreTest, ReadByOffsetIdAndQueryByKeyAndTime) {
  auto store = OpenStore(SmallStoreConfig(MakeTempDir("query")));
  PutResult r =
      store->PutSync({MakeMessage("T", 0, "find me", "", "order-1 x")});
  ASSERT_TRUE(r.ok());
  for (int i = 0; i < 20; ++i) {
    store->PutSync({MakeMessage("T", 0, Body(i), "", absl::StrCat("k", i))});
  }
  store->WaitDispatched();
  int64_t offset = 0;
  ASSERT_TRUE(ParseOffsetMessageId(r.offset_msg_ids[0], &offset));
  RecordSlice slice;
  ASSERT_TRUE(store->ReadRecord(offset, &slice));
  RecordView v;
  ASSERT_EQ(DecodeRecord(slice.data, slice.size, true, &v),
            DecodeResult::kRecord);
  EXPECT_EQ(v.body, "find me");

  std::vector<int64_t> found =
      store->QueryByKey("T", "order-1", 10, 0, INT64_MAX);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0], offset);
  EXPECT_EQ(store->QueryByKey("T", "k7", 10, 0, INT64_MAX).size(), 1u);
  EXPECT_TRUE(store->QueryByKey("Other", "order-1", 10, 0, INT64_MAX).empty());
  EXPECT_TRUE(store->QueryByKey("T", "order-1", 10, 0, r.store_timestamp - 5000)
                  .empty());
}

TEST(MessageStoreTest, OffsetByTime) {
  int64_t now = 1700000000000;
  StoreHooks hooks;
  hooks.now_ms = [&now] { return now; };
  auto store = OpenStore(SmallStoreConfig(MakeTempDir("bytime")), hooks);
  for (int i = 0; i < 10; ++i) {
    now = 1700000000000 + i * 1000;
    ASSERT_TRUE(store->PutSync({MakeMessage("T", 0, Body(i))}).ok());
  }
  store->WaitDispatched();
  EXPECT_EQ(store->OffsetByTime("T", 0, 0), 0);
  EXPECT_EQ(store->OffsetByTime("T", 0, 1700000003000), 3);
  EXPECT_EQ(store->OffsetByTime("T", 0, 1700000003500), 4);
  EXPECT_EQ(store->OffsetByTime("T", 0, 1800000000000), 10);
}

TEST(MessageStoreTest, SyncFlushAcknowledgesConcurrentWriters) {
  StoreConfig config = SmallStoreConfig(MakeTempDir("syncflush"));
  config.flushDiskType = "SYNC_FLUSH";
  auto store = OpenStore(config);
  std::vector<std::thread> writers;
  std::atomic<int> ok{0};
  for (int t = 0; t < 8; ++t) {
    writers.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        PutResult r = store->PutSync({MakeMessage("T", t, Body(i))});
        if (r.ok() && store->FlushedOffset() >= r.end_offset) ok.fetch_add(1);
      }
    });
  }
  for (auto& w : writers) w.join();
  EXPECT_EQ(ok.load(), 400);
  // A flush covers at least one put; flushes that find nothing new to
  // write (the group commit's idle rounds) are not counted.
  const int64_t flushes = store->CommitLogFlushes();
  EXPECT_GE(flushes, 1);
  EXPECT_LE(flushes, 400);
  ASSERT_TRUE(store->PutSync({MakeMessage("T", 0, Body(50))}).ok());
  EXPECT_EQ(store->CommitLogFlushes(), flushes + 1);
  store->WaitDispatched();
  EXPECT_EQ(ReadAll(*store, "T", 0).size(), 51u);
  for (int t = 1; t < 8; ++t) EXPECT_EQ(ReadAll(*store, "T", t).size(), 50u);
}

TEST(MessageStoreTest, FailedFlushStopsAppendsUntilRestart) {
  StoreConfig config = SmallStoreConfig(MakeTempDir("flushfail"));
  config.flushDiskType = "SYNC_FLUSH";
  std::atomic<bool> device_error{false};
  StoreHooks hooks;
  hooks.flush_fault = [&device_error] {
    return device_error.load() ? absl::DataLossError("injected EIO")
                               : absl::OkStatus();
  };
  {
    auto store = OpenStore(config, hooks);
    ASSERT_TRUE(store->PutSync({MakeMessage("T", 0, "before")}).ok());
    device_error = true;
    PutResult unflushed = store->PutSync({MakeMessage("T", 0, "during")});
    EXPECT_EQ(unflushed.status, PutStatus::kFlushDiskTimeout);
    EXPECT_THAT(unflushed.error, testing::HasSubstr("injected EIO"));
    // The device works again, but what it dropped is unknown: nothing more
    // is taken, so nothing later is acknowledged past a possible hole.
    device_error = false;
    PutResult refused = store->PutSync({MakeMessage("T", 0, "after")});
    EXPECT_EQ(refused.status, PutStatus::kServiceNotAvailable);
    EXPECT_THAT(refused.error, testing::HasSubstr("until the broker restarts"));
    EXPECT_FALSE(store->FlushFailure().ok());
    store->Shutdown();
  }
  // The marker stays, so the restart checks and syncs the log as after a
  // crash; then the store takes messages again.
  EXPECT_TRUE(std::filesystem::exists(config.AbortPath()));
  auto store = OpenStore(config);
  EXPECT_TRUE(store->recovered_from_crash());
  EXPECT_TRUE(store->FlushFailure().ok());
  EXPECT_THAT(ReadAll(*store, "T", 0),
              testing::ElementsAre("before", "during"));
  EXPECT_TRUE(store->PutSync({MakeMessage("T", 0, "again")}).ok());
}

TEST(MessageStoreTest, CleanRestartKeepsEverything) {
  StoreConfig config = SmallStoreConfig(MakeTempDir("restart"));
  {
    auto store = OpenStore(config);
    for (int i = 0; i < 200; ++i) {
      ASSERT_TRUE(store->PutSync({MakeMessage("T", i % 3, Body(i, 700))}).ok());
    }
    store->Shutdown();
  }
  EXPECT_FALSE(std::filesystem::exists(config.AbortPath()));
  auto store = OpenStore(config);
  EXPECT_FALSE(store->recovered_from_crash());
  size_t total = 0;
  for (int q = 0; q < 3; ++q) total += ReadAll(*store, "T", q).size();
  EXPECT_EQ(total, 200u);
  // Offsets continue where they were.
  PutResult r = store->PutSync({MakeMessage("T", 0, "next")});
  EXPECT_EQ(r.queue_offset, 67);
}

TEST(MessageStoreTest, ConsumeQueuesRebuiltFromCommitLogAlone) {
  StoreConfig config = SmallStoreConfig(MakeTempDir("rebuild"));
  {
    auto store = OpenStore(config);
    for (int i = 0; i < 120; ++i) {
      ASSERT_TRUE(store
                      ->PutSync({MakeMessage("T", i % 4, Body(i, 900), "",
                                             absl::StrCat("key", i))})
                      .ok());
    }
    store->Shutdown();
  }
  std::filesystem::remove_all(config.ConsumeQueueDir());
  std::filesystem::remove_all(config.IndexDir());
  std::filesystem::remove(config.CheckpointPath());
  auto store = OpenStore(config);
  store->WaitDispatched();
  for (int q = 0; q < 4; ++q) {
    std::vector<std::string> bodies = ReadAll(*store, "T", q);
    ASSERT_EQ(bodies.size(), 30u);
    for (int i = 0; i < 30; ++i) EXPECT_EQ(bodies[i], Body(i * 4 + q, 900));
  }
  EXPECT_EQ(store->QueryByKey("T", "key77", 10, 0, INT64_MAX).size(), 1u);
}

// Removing only the consume queue directory, as RocketMQ users do to have
// the queues rebuilt, must not leave the messages unreadable behind a
// checkpoint that still vouches for them, nor let new messages reuse their
// queue offsets.
TEST(MessageStoreTest, ConsumeQueuesRebuiltWhenOnlyTheirDirectoryIsGone) {
  for (bool crashed : {false, true}) {
    SCOPED_TRACE(crashed ? "after a crash" : "after a clean shutdown");
    StoreConfig config = SmallStoreConfig(MakeTempDir("cqgone"));
    {
      auto store = OpenStore(config);
      for (int i = 0; i < 120; ++i) {
        ASSERT_TRUE(
            store->PutSync({MakeMessage("T", i % 2, Body(i, 900))}).ok());
      }
      store->Shutdown();
    }
    std::filesystem::remove_all(config.ConsumeQueueDir());
    if (crashed) std::ofstream(config.AbortPath()).flush();
    auto store = OpenStore(config);
    store->WaitDispatched();
    for (int q = 0; q < 2; ++q) {
      std::vector<std::string> bodies = ReadAll(*store, "T", q);
      ASSERT_EQ(bodies.size(), 60u);
      for (int i = 0; i < 60; ++i) EXPECT_EQ(bodies[i], Body(i * 2 + q, 900));
    }
    EXPECT_EQ(store->PutSync({MakeMessage("T", 0, "next")}).queue_offset, 60);
  }
}

TEST(MessageStoreTest, SegmentSizesTooSmallForAnEntryAreRefused) {
  StoreConfig config = SmallStoreConfig(MakeTempDir("tiny"));
  config.mappedFileSizeConsumeQueue = 10;
  absl::StatusOr<std::unique_ptr<MessageStore>> store =
      MessageStore::Open(config);
  ASSERT_FALSE(store.ok());
  EXPECT_NE(store.status().message().find("mappedFileSizeConsumeQueue"),
            absl::string_view::npos)
      << store.status();
  config = SmallStoreConfig(MakeTempDir("tiny"));
  config.mappedFileSizeCommitLog = 0;
  store = MessageStore::Open(config);
  ASSERT_FALSE(store.ok());
  EXPECT_NE(store.status().message().find("mappedFileSizeCommitLog"),
            absl::string_view::npos)
      << store.status();
}

TEST(MessageStoreTest, SecondOpenOfSameDirectoryIsRefused) {
  StoreConfig config = SmallStoreConfig(MakeTempDir("lock"));
  auto first = OpenStore(config);
  absl::StatusOr<std::unique_ptr<MessageStore>> second =
      MessageStore::Open(config);
  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(MessageStoreTest, ArrivalListenerSeesNewMessages) {
  absl::Mutex mu;
  std::vector<std::pair<std::string, int64_t>> arrivals;
  StoreHooks hooks;
  hooks.on_arrival = [&](const std::string& topic, int32_t, int64_t max) {
    absl::MutexLock lock(&mu);
    arrivals.emplace_back(topic, max);
  };
  auto store = OpenStore(SmallStoreConfig(MakeTempDir("arrival")), hooks);
  ASSERT_TRUE(store->PutSync({MakeMessage("T", 0, "x")}).ok());
  store->WaitDispatched();
  absl::MutexLock lock(&mu);
  ASSERT_FALSE(arrivals.empty());
  EXPECT_EQ(arrivals.back().first, "T");
  EXPECT_EQ(arrivals.back().second, 1);
}

bool QueueDirExists(const StoreConfig& config, const std::string& topic) {
  return std::filesystem::exists(
      absl::StrCat(config.ConsumeQueueDir(), "/", topic));
}

TEST(MessageStoreTest, DeleteTopicsBeforeKeepsTopicsWithNewerRecords) {
  StoreConfig config = SmallStoreConfig(MakeTempDir("delete-before"));
  auto store = OpenStore(config);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(store->PutSync({MakeMessage("Old", i % 2, Body(i))}).ok());
    ASSERT_TRUE(store->PutSync({MakeMessage("Newer", 0, Body(i))}).ok());
  }
  store->WaitDispatched();
  const int64_t log_end = store->MaxPhysicalOffset();
  ASSERT_TRUE(store->PutSync({MakeMessage("Newer", 0, Body(9))}).ok());

  // Nothing while records below `log_end` may still be undispatched.
  EXPECT_TRUE(
      store
          ->DeleteTopicsBefore({"Old", "Newer"}, store->MaxPhysicalOffset() + 1)
          .empty());
  EXPECT_EQ(store->MaxOffsetInQueue("Old", 1), 1);

  store->WaitDispatched();
  EXPECT_EQ(store->DeleteTopicsBefore({"Old", "Newer", "Unknown"}, log_end),
            (absl::flat_hash_set<std::string>{"Old", "Unknown"}));
  EXPECT_EQ(store->MaxOffsetInQueue("Old", 0), 0);
  EXPECT_EQ(store->MaxOffsetInQueue("Old", 1), 0);
  EXPECT_FALSE(store->Queues().contains("Old"));
  EXPECT_FALSE(QueueDirExists(config, "Old"));
  EXPECT_EQ(ReadAll(*store, "Newer", 0).size(), 4u);
  // The deleted topic starts again at offset 0.
  PutResult again = store->PutSync({MakeMessage("Old", 0, Body(10))});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again.queue_offset, 0);
}

// A delete that lands while the topic's records are being dispatched never
// has the dispatcher write to (or stall on) the queue it removed.
TEST(MessageStoreTest, DeletingATopicWhileItIsDispatchedNeverStalls) {
  StoreConfig config = SmallStoreConfig(MakeTempDir("delete-dispatching"));
  auto store = OpenStore(config);
  std::atomic<bool> done{false};
  std::thread writer([&] {
    for (int i = 0; i < 4000; ++i) {
      EXPECT_TRUE(store->PutSync({MakeMessage("T", 0, Body(i, 20))}).ok());
    }
    done = true;
  });
  bool stalled = false;
  int deletes = 0;
  while (!done) {
    store->DeleteTopics({"T"});
    ++deletes;
    stalled = stalled || store->DispatchStalled();
  }
  writer.join();
  store->WaitDispatched();
  stalled = stalled || store->DispatchStalled();
  EXPECT_FALSE(stalled) << "after " << deletes << " deletes";
  store->DeleteTopics({"T"});
  EXPECT_FALSE(QueueDirExists(config, "T"));
  ASSERT_TRUE(store->PutSync({MakeMessage("T", 0, "again")}).ok());
  store->WaitDispatched();
  EXPECT_EQ(store->MinOffsetInQueue("T", 0), 0);
  EXPECT_EQ(store->MaxOffsetInQueue("T", 0), 1);
  EXPECT_EQ(ReadAll(*store, "T", 0), std::vector<std::string>{"again"});
}

}  // namespace
}  // namespace cometmq::store
