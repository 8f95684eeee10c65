// Replication at the store level: a replica built from ReadForReplica /
// AppendReplica holds exactly the master's bytes and serves the same queues.

#include <atomic>
#include <string>

#include "absl/strings/str_cat.h"
#include "cpp/store/message_store.h"
#include "cpp/store/store_test_util.h"
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

// Copies everything the master has past the replica's end; returns batches.
int CatchUp(const MessageStore& master, MessageStore* replica,
            int64_t max_bytes) {
  int batches = 0;
  int64_t offset = replica->MaxPhysicalOffset();
  if (offset == 0) offset = master.MinPhysicalOffset();
  RecordSlice slice;
  while (master.ReadForReplica(offset, max_bytes, &slice)) {
    absl::StatusOr<int64_t> end = replica->AppendReplica(offset, slice.bytes());
    EXPECT_TRUE(end.ok()) << end.status();
    if (!end.ok()) break;
    offset = *end;
    ++batches;
  }
  return batches;
}

// The written bytes of every commit log segment, concatenated.
std::string Bytes(MessageStore& store) {
  std::string out;
  for (const auto& file : store.commit_log().files().Files()) {
    out.append(file->data(), static_cast<size_t>(file->wrote_position()));
  }
  return out;
}

TEST(ReplicaTest, ReplicaMatchesMasterAcrossSegments) {
  auto master = OpenStore(SmallStoreConfig(MakeTempDir("replica-master")));
  auto replica = OpenStore(SmallStoreConfig(MakeTempDir("replica-slave")));
  ASSERT_NE(master, nullptr);
  ASSERT_NE(replica, nullptr);
  int batches = 0;
  for (int i = 0; i < 210; ++i) {
    std::string body(700 + i, static_cast<char>('a' + i % 26));
    ASSERT_TRUE(master->PutSync({MakeMessage("T", i % 3, body)}).ok());
    if (i % 50 == 49) batches += CatchUp(*master, replica.get(), 4096);
  }
  batches += CatchUp(*master, replica.get(), 4096);
  EXPECT_GT(batches, 40);  // 4 KiB batches of ~1 KiB records
  EXPECT_EQ(replica->MaxPhysicalOffset(), master->MaxPhysicalOffset());
  EXPECT_GT(replica->commit_log().files().Files().size(), 2u);
  EXPECT_EQ(Bytes(*replica), Bytes(*master));
  EXPECT_EQ(
      master->commit_log().CountRecords(0, master->MaxPhysicalOffset(), 1000),
      210);
  EXPECT_EQ(
      master->commit_log().CountRecords(0, master->MaxPhysicalOffset(), 50),
      50);
  // Both dispatchers run behind their appends.
  master->WaitDispatched();
  replica->WaitDispatched();
  for (int q = 0; q < 3; ++q) {
    EXPECT_EQ(replica->MaxOffsetInQueue("T", q),
              master->MaxOffsetInQueue("T", q));
    GetResult r = replica->Get("T", q, 0, 1000, 1 << 30, kAnyTag);
    EXPECT_EQ(r.status, GetStatus::kFound);
  }
  // The replica continues the queues where the master left them.
  EXPECT_EQ(replica->commit_log().NextQueueOffset("T", 0),
            master->commit_log().NextQueueOffset("T", 0));
}

// Records of one queue as the store serves them, concatenated.
std::string QueueBytes(const MessageStore& store, const std::string& topic,
                       int32_t queue_id) {
  std::string out;
  GetResult r = store.Get(topic, queue_id, 0, 1000, 1 << 30, kAnyTag);
  for (const RecordSlice& slice : r.messages) {
    out.append(slice.bytes().data(), slice.bytes().size());
  }
  return out;
}

// A replica is not told when its master deletes a topic, only given the
// records of the topic created again under the same name, which restart at
// queue offset 0: it serves those, not the deleted topic's records.
TEST(ReplicaTest, TopicDeletedAndCreatedAgainOnTheMasterIsServedAnew) {
  auto master = OpenStore(SmallStoreConfig(MakeTempDir("recreated-master")));
  auto replica = OpenStore(SmallStoreConfig(MakeTempDir("recreated-slave")));
  ASSERT_NE(master, nullptr);
  ASSERT_NE(replica, nullptr);
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(
        master->PutSync({MakeMessage("T", 0, absl::StrCat("old-", i))}).ok());
  }
  CatchUp(*master, replica.get(), 4096);
  replica->WaitDispatched();
  ASSERT_EQ(replica->MaxOffsetInQueue("T", 0), 5);

  master->DeleteTopics({"T"});
  for (int i = 0; i < 3; ++i) {
    PutResult put =
        master->PutSync({MakeMessage("T", 0, absl::StrCat("new-", i))});
    ASSERT_TRUE(put.ok());
    EXPECT_EQ(put.queue_offset, i);
  }
  CatchUp(*master, replica.get(), 4096);
  master->WaitDispatched();
  replica->WaitDispatched();
  EXPECT_FALSE(replica->DispatchStalled());
  EXPECT_EQ(replica->MaxOffsetInQueue("T", 0), 3);
  EXPECT_EQ(master->MaxOffsetInQueue("T", 0), 3);
  EXPECT_EQ(QueueBytes(*replica, "T", 0), QueueBytes(*master, "T", 0));
  EXPECT_NE(QueueBytes(*replica, "T", 0).find("new-2"), std::string::npos);
}

// A store whose clock and hour of day the test moves, so retention runs when
// the test asks.
struct AgedStore {
  std::atomic<int64_t> now_ms{absl::ToUnixMillis(absl::Now())};
  std::unique_ptr<MessageStore> store;

  explicit AgedStore(const std::string& name) {
    StoreConfig config = SmallStoreConfig(MakeTempDir(name));
    config.deleteWhen = "04";
    config.fileReservedTime = 48;
    StoreHooks hooks;
    hooks.now_ms = [this] { return now_ms.load(); };
    hooks.local_hour = [] { return 4; };
    hooks.disk_used_ratio = [] { return 0.10; };
    store = OpenStore(config, hooks);
  }

  // Deletes every commit log segment but the last, and what points into
  // them from the consume queues.
  void Trim() {
    store->WaitDispatched();
    now_ms += int64_t{49} * 3600 * 1000;
    ASSERT_GT(store->RunRetention(), 0);
  }
};

// Puts `n` messages "<prefix>-<i>" of about 1 KiB into T-0 of `store`.
void PutMany(MessageStore* store, const std::string& prefix, int n) {
  for (int i = 0; i < n; ++i) {
    ASSERT_TRUE(
        store
            ->PutSync({MakeMessage(
                "T", 0, absl::StrCat(prefix, "-", i, std::string(1000, '.')))})
            .ok());
  }
}

// Deletes T on the master, puts "new-0".."new-2" and checks that the replica
// serves exactly the master's new queue: nothing of the deleted topic.
void ExpectNewTopicServed(MessageStore* master, MessageStore* replica) {
  master->DeleteTopics({"T"});
  PutMany(master, "new", 3);
  CatchUp(*master, replica, 1 << 20);
  master->WaitDispatched();
  replica->WaitDispatched();
  EXPECT_FALSE(replica->DispatchStalled());
  EXPECT_EQ(replica->MinOffsetInQueue("T", 0), 0);
  EXPECT_EQ(replica->MaxOffsetInQueue("T", 0), 3);
  const std::string served = QueueBytes(*replica, "T", 0);
  EXPECT_TRUE(served == QueueBytes(*master, "T", 0))
      << "the replica serves " << served.size() << " bytes";
  EXPECT_NE(served.find("new-2"), std::string::npos);
  EXPECT_EQ(served.find("old-"), std::string::npos);
  // Later messages keep coming.
  PutMany(master, "next", 1);
  CatchUp(*master, replica, 1 << 20);
  replica->WaitDispatched();
  EXPECT_EQ(replica->MaxOffsetInQueue("T", 0), 4);
}

// The replica's queue of the deleted topic was trimmed by retention: the
// slots of the new topic's first offsets are in files that no longer exist.
TEST(ReplicaTest, TopicCreatedAgainOverATrimmedQueueIsServedAnew) {
  auto master = OpenStore(SmallStoreConfig(MakeTempDir("trimmed-master")));
  AgedStore replica("trimmed-slave");
  ASSERT_NE(master, nullptr);
  ASSERT_NE(replica.store, nullptr);
  PutMany(master.get(), "old", 300);  // 3 queue files, 5 log segments
  CatchUp(*master, replica.store.get(), 1 << 20);
  replica.Trim();
  ASSERT_GT(replica.store->MinOffsetInQueue("T", 0), 200);
  ASSERT_EQ(replica.store->MaxOffsetInQueue("T", 0), 300);
  ExpectNewTopicServed(master.get(), replica.store.get());
}

// The replica started from a master whose log was trimmed, so its queue of
// the deleted topic starts inside its first file, after empty slots.
TEST(ReplicaTest, TopicCreatedAgainOverAQueueStartedMidFileIsServedAnew) {
  AgedStore master("midfile-master");
  auto replica = OpenStore(SmallStoreConfig(MakeTempDir("midfile-slave")));
  ASSERT_NE(master.store, nullptr);
  ASSERT_NE(replica, nullptr);
  PutMany(master.store.get(), "old", 90);  // 2 log segments
  master.Trim();
  CatchUp(*master.store, replica.get(), 1 << 20);
  replica->WaitDispatched();
  ASSERT_GT(replica->MinOffsetInQueue("T", 0), 0);
  ASSERT_LT(replica->MinOffsetInQueue("T", 0), 90);
  ASSERT_EQ(replica->MaxOffsetInQueue("T", 0), 90);
  ExpectNewTopicServed(master.store.get(), replica.get());
}

// At a segment boundary the written bytes end at the previous segment's
// closing blank, wherever that segment was closed: by an append, by a
// replica copy, or before a restart (found again by recovery).
TEST(ReplicaTest, WrittenEndBeforeABoundaryIsThePreviousBlank) {
  const std::string master_dir = MakeTempDir("written-end-master");
  auto master = OpenStore(SmallStoreConfig(master_dir));
  auto replica = OpenStore(SmallStoreConfig(MakeTempDir("written-end-slave")));
  ASSERT_NE(master, nullptr);
  ASSERT_NE(replica, nullptr);
  // 11,000-byte bodies leave far more than 4 KiB of padding in a segment.
  for (int i = 0; i < 8; ++i) {
    ASSERT_TRUE(
        master->PutSync({MakeMessage("T", 0, std::string(11000, 'a'))}).ok());
  }
  const int64_t segment = master->config().mappedFileSizeCommitLog;
  const CommitLog& log = master->commit_log();
  const int64_t blank_end = log.WrittenEndBefore(segment);
  ASSERT_GT(blank_end, 0);
  EXPECT_LT(blank_end, segment - 4096);
  EXPECT_EQ(log.WrittenEndBefore(segment + 100), segment + 100);
  EXPECT_EQ(log.WrittenEndBefore(0), 0);

  CatchUp(*master, replica.get(), 1 << 20);
  EXPECT_EQ(replica->commit_log().WrittenEndBefore(segment), blank_end);

  master.reset();
  master = OpenStore(SmallStoreConfig(master_dir));
  ASSERT_NE(master, nullptr);
  EXPECT_EQ(master->commit_log().WrittenEndBefore(segment), blank_end);
}

TEST(ReplicaTest, RefusesGapsAndDamagedBytes) {
  auto master = OpenStore(SmallStoreConfig(MakeTempDir("refuse-master")));
  auto replica = OpenStore(SmallStoreConfig(MakeTempDir("refuse-slave")));
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(master->PutSync({MakeMessage("T", 0, "body")}).ok());
  }
  RecordSlice first;
  ASSERT_TRUE(master->ReadForReplica(0, 1, &first));  // one record
  ASSERT_TRUE(replica->AppendReplica(0, first.bytes()).ok());
  RecordSlice rest;
  ASSERT_TRUE(master->ReadForReplica(first.size, 1 << 20, &rest));
  // Not at the replica's end.
  EXPECT_FALSE(replica->AppendReplica(first.size + 1, rest.bytes()).ok());
  // A flipped byte fails the CRC; nothing is written.
  std::string damaged(rest.bytes());
  damaged[damaged.size() / 2] ^= 1;
  EXPECT_FALSE(replica->AppendReplica(first.size, damaged).ok());
  // Records stamped with other offsets (the same bytes one record later).
  EXPECT_FALSE(replica->AppendReplica(first.size, first.bytes()).ok());
  EXPECT_EQ(replica->MaxPhysicalOffset(), first.size);
  absl::StatusOr<int64_t> end =
      replica->AppendReplica(first.size, rest.bytes());
  ASSERT_TRUE(end.ok()) << end.status();
  EXPECT_EQ(*end, master->MaxPhysicalOffset());
}

}  // namespace
}  // namespace cometmq::store
