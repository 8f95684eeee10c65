#include <atomic>
#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "cpp/store/message_store.h"
#include "cpp/store/store_test_util.h"
#include "gtest/gtest.h"

namespace cometmq::store {
namespace {

const absl::flat_hash_set<int64_t> kAnyTag;
constexpr int64_t kHour = 3600 * 1000;

// A store whose clock, hour of day and disk usage the test sets.
struct Fixture {
  std::atomic<int64_t> now_ms{absl::ToUnixMillis(absl::Now())};
  std::atomic<int> hour{12};
  std::atomic<double> disk{0.10};
  StoreConfig config;
  std::unique_ptr<MessageStore> store;

  explicit Fixture(const std::string& name,
                   const std::string& delete_when = "04") {
    config = SmallStoreConfig(MakeTempDir(name));
    DefaultDiskThresholds(&config);
    config.deleteWhen = delete_when;
    config.fileReservedTime = 48;
    StoreHooks hooks;
    hooks.now_ms = [this] { return now_ms.load(); };
    hooks.local_hour = [this] { return hour.load(); };
    hooks.disk_used_ratio = [this] { return disk.load(); };
    store = *MessageStore::Open(config, hooks);
  }

  // Fills about `segments` commit log segments with queue 0 of "T".
  void Fill(int segments) {
    int per_segment = static_cast<int>(config.mappedFileSizeCommitLog / 1100);
    for (int i = 0; i < segments * per_segment; ++i) {
      ASSERT_TRUE(store
                      ->PutSync({MakeMessage("T", 0, std::string(1000, 'r'), "",
                                             absl::StrCat("key", i))})
                      .ok());
    }
    store->WaitDispatched();
  }
  size_t Segments() { return store->commit_log().files().Files().size(); }

  // Shuts the store down and opens it again on the same files and hooks.
  void Reopen() {
    store.reset();
    StoreHooks hooks;
    hooks.now_ms = [this] { return now_ms.load(); };
    hooks.local_hour = [this] { return hour.load(); };
    hooks.disk_used_ratio = [this] { return disk.load(); };
    store = *MessageStore::Open(config, hooks);
  }
};

TEST(RetentionTest, ParseDeleteWhen) {
  EXPECT_EQ(*ParseDeleteWhen("04"), (std::set<int>{4}));
  EXPECT_EQ(*ParseDeleteWhen("04;10"), (std::set<int>{4, 10}));
  EXPECT_FALSE(ParseDeleteWhen("4am").ok());
  EXPECT_FALSE(ParseDeleteWhen("25").ok());
}

TEST(RetentionTest, OldSegmentsGoOnlyAtTheDeleteHour) {
  Fixture f("byhour", "04;10");
  f.Fill(5);
  size_t before = f.Segments();
  ASSERT_GE(before, 5u);
  f.now_ms += 49 * kHour;  // every segment is now older than 48 h
  f.hour = 12;
  EXPECT_EQ(f.store->RunRetention(), 0);
  EXPECT_EQ(f.Segments(), before);
  f.hour = 10;
  EXPECT_GT(f.store->RunRetention(), 0);
  // The newest segment always stays.
  EXPECT_GE(f.Segments(), 1u);
  EXPECT_LT(f.Segments(), before);
}

TEST(RetentionTest, YoungSegmentsStayEvenAtTheDeleteHour) {
  Fixture f("byage");
  f.Fill(4);
  size_t before = f.Segments();
  f.hour = 4;
  f.now_ms += 47 * kHour;
  EXPECT_EQ(f.store->RunRetention(), 0);
  EXPECT_EQ(f.Segments(), before);
  f.now_ms += 2 * kHour;
  EXPECT_GT(f.store->RunRetention(), 0);
}

TEST(RetentionTest, DiskAboveMaxUsedRatioDeletesExpiredAtAnyHour) {
  Fixture f("byratio");
  f.Fill(4);
  size_t before = f.Segments();
  f.now_ms += 49 * kHour;
  f.hour = 15;
  f.disk = 0.70;
  EXPECT_EQ(f.store->RunRetention(), 0);
  f.disk = 0.80;  // above diskMaxUsedSpaceRatio (75%)
  EXPECT_GT(f.store->RunRetention(), 0);
  EXPECT_LT(f.Segments(), before);
}

TEST(RetentionTest, DiskAboveForciblyRatioDeletesEvenYoungSegments) {
  Fixture f("forcibly");
  f.Fill(4);
  size_t before = f.Segments();
  f.disk = 0.87;  // above the clean-forcibly ratio (85%)
  EXPECT_GT(f.store->RunRetention(), 0);
  EXPECT_LT(f.Segments(), before);
}

TEST(RetentionTest, FullDiskCleansForciblyWhateverTheForciblyRatio) {
  Fixture f("full-forcibly");
  f.config.diskSpaceWarningLevelRatio = 0.90;
  f.config.diskSpaceCleanForciblyRatio = 0.97;  // above the warning level
  f.Reopen();
  f.Fill(4);
  size_t before = f.Segments();
  f.disk = 0.93;  // full, below the clean-forcibly ratio
  EXPECT_GT(f.store->RunRetention(), 0);
  EXPECT_LT(f.Segments(), before);
}

TEST(RetentionTest, FullDiskErrorShowsTheThresholdAsSet) {
  Fixture f("full-threshold");
  f.config.diskSpaceWarningLevelRatio = 0.995;
  f.Reopen();
  f.disk = 0.999;
  f.store->RunRetention();
  PutResult r = f.store->PutSync({MakeMessage("T", 0, "refused")});
  EXPECT_NE(r.error.find("above diskSpaceWarningLevelRatio 99.5%"),
            std::string::npos)
      << r.error;
}

TEST(RetentionTest, SegmentsNotDispatchedYetAreKeptEvenWhenForced) {
  Fixture f("undispatched");
  f.Fill(2);
  // A file where U's consume queue directory must go stops dispatching at
  // U's message (see dispatch_stall_test); T's messages pile up behind it.
  const std::string blocker = f.config.ConsumeQueueDir() + "/U";
  std::ofstream(blocker) << "not a directory";
  PutResult u = f.store->PutSync({MakeMessage("U", 0, "held back")});
  ASSERT_TRUE(u.ok()) << u.error;
  for (int i = 0; i < 200; ++i) {
    ASSERT_TRUE(
        f.store->PutSync({MakeMessage("T", 0, std::string(1000, 'x'))}).ok());
  }
  ASSERT_GT(f.Segments(), 4u);
  f.disk = 0.87;  // above the clean-forcibly ratio (85%)
  f.store->RunRetention();
  // Only segments wholly below U's message may go.
  EXPECT_LE(f.store->MinPhysicalOffset(), u.physical_offset);
  f.disk = 0.10;
  std::filesystem::remove(blocker);
  f.store->WaitDispatched();
  GetResult got = f.store->Get("U", 0, 0, 1, 1 << 20, kAnyTag);
  ASSERT_EQ(got.status, GetStatus::kFound);
  RecordView v;
  ASSERT_EQ(DecodeRecord(got.messages[0].data, got.messages[0].size, true, &v),
            DecodeResult::kRecord);
  EXPECT_EQ(v.body, "held back");
}

TEST(RetentionTest, FullDiskRefusesWritesUntilSpaceIsFreed) {
  Fixture f("full");
  f.Fill(1);
  int64_t end = f.store->MaxPhysicalOffset();
  f.disk = 0.95;
  f.store->RunRetention();
  PutResult r = f.store->PutSync({MakeMessage("T", 0, "refused")});
  EXPECT_EQ(r.status, PutStatus::kServiceNotAvailable);
  EXPECT_NE(r.error.find("disk is full"), std::string::npos) << r.error;
  EXPECT_EQ(f.store->MaxPhysicalOffset(), end);
  f.disk = 0.50;
  f.store->RunRetention();
  EXPECT_TRUE(f.store->PutSync({MakeMessage("T", 0, "accepted")}).ok());
}

TEST(RetentionTest, ConsumeQueueAndIndexFollowTheCommitLogMinimum) {
  Fixture f("follow");
  f.Fill(6);
  int64_t queue_min_before = f.store->MinOffsetInQueue("T", 0);
  EXPECT_EQ(queue_min_before, 0);
  f.now_ms += 49 * kHour;
  f.hour = 4;
  ASSERT_GT(f.store->RunRetention(), 0);
  int64_t log_min = f.store->MinPhysicalOffset();
  EXPECT_GT(log_min, 0);
  int64_t queue_min = f.store->MinOffsetInQueue("T", 0);
  EXPECT_GT(queue_min, 0);
  // Reading below the new minimum says so and points at the minimum.
  GetResult r = f.store->Get("T", 0, 0, 10, 1 << 20, kAnyTag);
  EXPECT_EQ(r.status, GetStatus::kOffsetTooSmall);
  EXPECT_EQ(r.next_begin_offset, queue_min);
  GetResult ok = f.store->Get("T", 0, queue_min, 10, 1 << 20, kAnyTag);
  ASSERT_EQ(ok.status, GetStatus::kFound);
  EXPECT_GE(ok.messages.front().file->start_offset(), log_min);
  // Consume queue files wholly below the minimum are gone from disk.
  EXPECT_GT(f.store->MinOffsetInQueue("T", 0) * 20,
            f.config.mappedFileSizeConsumeQueue - 1);
}

// A restart must not bring back the part of a consume queue file that
// points below the commit log's start: consumers starting from the minimum
// offset (a new group, mqadmin's view) would be sent to deleted messages.
TEST(RetentionTest, QueueMinimumStaysAboveDeletedSegmentsAfterRestart) {
  Fixture f("restart");
  f.Fill(6);
  f.now_ms += 49 * kHour;
  f.hour = 4;
  ASSERT_GT(f.store->RunRetention(), 0);
  const int64_t queue_min = f.store->MinOffsetInQueue("T", 0);
  ASSERT_GT(queue_min, 0);
  ASSERT_NE(queue_min * 20 % f.config.mappedFileSizeConsumeQueue, 0)
      << "the minimum should lie inside a consume queue file";
  f.hour = 12;  // no deletion during the restart itself
  f.Reopen();
  EXPECT_EQ(f.store->MinOffsetInQueue("T", 0), queue_min);
  GetResult r = f.store->Get("T", 0, queue_min - 1, 10, 1 << 20, kAnyTag);
  EXPECT_EQ(r.status, GetStatus::kOffsetTooSmall);
  EXPECT_EQ(r.next_begin_offset, queue_min);
}

}  // namespace
}  // namespace cometmq::store
