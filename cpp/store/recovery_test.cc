// Recovery after a crash, with damage made by hand: a torn or corrupted tail
// must be cut off, everything before it served, and the consume queues must
// never point past the cut.
#include <fcntl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "cpp/store/message_store.h"
#include "cpp/store/store_test_util.h"
#include "gtest/gtest.h"

namespace cometmq::store {
namespace {

const absl::flat_hash_set<int64_t> kAnyTag;

std::string Body(int i) {
  std::string body = absl::StrCat("payload-", i, "-");
  body.resize(300, 'p');
  return body;
}

// Writes `n` messages to queue 0 of "T", shuts down cleanly, and returns the
// commit log offsets where each record starts plus the log's end.
std::vector<int64_t> WriteAndClose(const StoreConfig& config, int n,
                                   int64_t* end) {
  auto store = *MessageStore::Open(config);
  std::vector<int64_t> offsets;
  for (int i = 0; i < n; ++i) {
    PutResult r = store->PutSync({MakeMessage("T", 0, Body(i))});
    EXPECT_TRUE(r.ok());
    offsets.push_back(r.physical_offset);
  }
  *end = store->MaxPhysicalOffset();
  store->Shutdown();
  return offsets;
}

// Makes the next open see an unclean shutdown.
void MarkCrashed(const StoreConfig& config) {
  std::ofstream(config.AbortPath()).flush();
}

// Overwrites bytes of the commit log at global `offset`.
void Damage(const StoreConfig& config, int64_t offset,
            const std::string& bytes) {
  int64_t size = config.mappedFileSizeCommitLog;
  std::string path = absl::StrCat(config.CommitLogDir(), "/",
                                  OffsetToFileName(offset - offset % size));
  int fd = ::open(path.c_str(), O_WRONLY);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::pwrite(fd, bytes.data(), bytes.size(), offset % size),
            static_cast<ssize_t>(bytes.size()));
  ::close(fd);
}

int CountReadable(MessageStore& store) {
  store.WaitDispatched();
  int count = 0;
  int64_t offset = 0;
  while (true) {
    GetResult r = store.Get("T", 0, offset, 64, 1 << 20, kAnyTag);
    if (r.status != GetStatus::kFound) break;
    for (const RecordSlice& s : r.messages) {
      RecordView v;
      EXPECT_EQ(DecodeRecord(s.data, s.size, true, &v), DecodeResult::kRecord);
      EXPECT_EQ(v.body, Body(count));
      ++count;
    }
    offset = r.next_begin_offset;
  }
  return count;
}

TEST(RecoveryTest, TornTailIsCutAndEverythingBeforeIsServed) {
  StoreConfig config = SmallStoreConfig(MakeTempDir("torn"));
  int64_t end;
  std::vector<int64_t> offsets = WriteAndClose(config, 500, &end);
  // Zero the last 10 bytes of the last record, as if the write was torn.
  Damage(config, end - 10, std::string(10, '\0'));
  MarkCrashed(config);

  auto store = *MessageStore::Open(config);
  EXPECT_TRUE(store->recovered_from_crash());
  EXPECT_EQ(store->MaxPhysicalOffset(), offsets.back());
  EXPECT_EQ(CountReadable(*store), 499);
  EXPECT_EQ(store->MaxOffsetInQueue("T", 0), 499);
  // Appending continues at the cut, with the next queue offset.
  PutResult r = store->PutSync({MakeMessage("T", 0, Body(499))});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.queue_offset, 499);
  EXPECT_EQ(r.physical_offset, offsets.back());
  EXPECT_EQ(CountReadable(*store), 500);
}

// A crash while a segment was being created leaves only its temporary file:
// the store opens, drops it, and the segment is created whole next time.
TEST(RecoveryTest, InterruptedSegmentCreationIsDropped) {
  StoreConfig config = SmallStoreConfig(MakeTempDir("creating"));
  int64_t end;
  WriteAndClose(config, 10, &end);
  const std::string queue_dir = config.ConsumeQueueDir() + "/T/0";
  const std::string leftover =
      absl::StrCat(queue_dir, "/", OffsetToFileName(1 << 30), ".creating");
  std::ofstream(leftover) << "short";
  // An index file's, at the size of a finished one.
  const std::string index_leftover =
      absl::StrCat(config.IndexDir(), "/20991231235959999.creating");
  {
    std::ofstream index_file(index_leftover);
    for (const auto& entry :
         std::filesystem::directory_iterator(config.IndexDir())) {
      if (entry.path().string() == index_leftover) continue;
      index_file << std::string(std::filesystem::file_size(entry.path()), '\0');
      break;
    }
  }
  MarkCrashed(config);

  absl::StatusOr<std::unique_ptr<MessageStore>> store =
      MessageStore::Open(config);
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_FALSE(std::filesystem::exists(leftover));
  EXPECT_FALSE(std::filesystem::exists(index_leftover));
  EXPECT_EQ(CountReadable(**store), 10);
  for (const auto& entry : std::filesystem::directory_iterator(queue_dir)) {
    EXPECT_EQ(std::filesystem::file_size(entry.path()),
              static_cast<uintmax_t>(config.mappedFileSizeConsumeQueue));
  }
}

TEST(RecoveryTest, CorruptedRecordInTheMiddleEndsTheLog) {
  StoreConfig config = SmallStoreConfig(MakeTempDir("corrupt"));
  int64_t end;
  std::vector<int64_t> offsets = WriteAndClose(config, 300, &end);
  // Flip a body byte of record 250: its CRC no longer matches.
  Damage(config, offsets[250] + 120, "X");
  MarkCrashed(config);
  auto store = *MessageStore::Open(config);
  EXPECT_EQ(CountReadable(*store), 250);
  EXPECT_EQ(store->MaxPhysicalOffset(), offsets[250]);
}

TEST(RecoveryTest, CleanShutdownTrustsTheFiles) {
  StoreConfig config = SmallStoreConfig(MakeTempDir("clean"));
  int64_t end;
  WriteAndClose(config, 100, &end);
  auto store = *MessageStore::Open(config);
  EXPECT_FALSE(store->recovered_from_crash());
  EXPECT_EQ(store->MaxPhysicalOffset(), end);
  EXPECT_EQ(CountReadable(*store), 100);
}

TEST(RecoveryTest, StaleBytesPastTheCutNeverComeBack) {
  StoreConfig config = SmallStoreConfig(MakeTempDir("stale"));
  int64_t end;
  std::vector<int64_t> offsets = WriteAndClose(config, 50, &end);
  // Damage record 40: records 41..49 stay intact on disk past the cut.
  Damage(config, offsets[40] + 4, "\x01\x02\x03\x04");
  MarkCrashed(config);
  {
    auto store = *MessageStore::Open(config);
    EXPECT_EQ(CountReadable(*store), 40);
    store->Shutdown();
  }
  // A second crash-open must not resurrect records 41..49.
  MarkCrashed(config);
  auto store = *MessageStore::Open(config);
  EXPECT_EQ(CountReadable(*store), 40);
  EXPECT_EQ(store->MaxPhysicalOffset(), offsets[40]);
}

TEST(RecoveryTest, ConsumeQueueEntriesPastTheEndAreDropped) {
  StoreConfig config = SmallStoreConfig(MakeTempDir("dirtycq"));
  int64_t end;
  std::vector<int64_t> offsets = WriteAndClose(config, 200, &end);
  // Cut the commit log back to record 150 by zeroing from there on, as if
  // the last writes never reached the disk before the checkpoint covered
  // them: the consume queue still has 200 entries on disk.
  std::filesystem::remove(config.CheckpointPath());
  int64_t size = config.mappedFileSizeCommitLog;
  for (int64_t pos = offsets[150]; pos < end;) {
    int64_t chunk = std::min(end, pos - pos % size + size) - pos;
    Damage(config, pos, std::string(static_cast<size_t>(chunk), '\0'));
    pos += chunk;
  }
  MarkCrashed(config);
  auto store = *MessageStore::Open(config);
  EXPECT_EQ(store->MaxOffsetInQueue("T", 0), 150);
  EXPECT_EQ(CountReadable(*store), 150);
  EXPECT_EQ(store->Get("T", 0, 150, 10, 1 << 20, kAnyTag).status,
            GetStatus::kOffsetOverflowOne);
}

TEST(RecoveryTest, EmptyConsumeQueueSlotBelowItsEndIsRefilled) {
  StoreConfig config = SmallStoreConfig(MakeTempDir("cqhole"));
  int64_t end;
  WriteAndClose(config, 50, &end);
  // Entries 0 and 10 lost while later ones reached the disk (pages written
  // back out of order before a power cut); recovery re-dispatches
  // everything, and must not take entry 1 for the queue's start.
  std::filesystem::remove(config.CheckpointPath());
  const std::string cq =
      config.ConsumeQueueDir() + "/T/0/" + OffsetToFileName(0);
  int fd = ::open(cq.c_str(), O_WRONLY);
  ASSERT_GE(fd, 0);
  const std::string zeros(kConsumeQueueEntrySize, '\0');
  for (int slot : {0, 10}) {
    ASSERT_EQ(
        ::pwrite(fd, zeros.data(), zeros.size(), slot * kConsumeQueueEntrySize),
        static_cast<ssize_t>(zeros.size()));
  }
  ::close(fd);
  MarkCrashed(config);
  auto store = *MessageStore::Open(config);
  EXPECT_EQ(store->MaxOffsetInQueue("T", 0), 50);
  EXPECT_EQ(store->MinOffsetInQueue("T", 0), 0);
  EXPECT_EQ(CountReadable(*store), 50);
}

// Pages of [offset, offset + length) of `path` that are dirty in the page
// cache: written, but not on disk yet. -1 where the kernel cannot tell
// (cachestat(2) came with Linux 6.5).
int64_t DirtyPages(const std::string& path, int64_t offset, int64_t length) {
#ifdef __x86_64__
  constexpr long kCachestat = 451;
  struct {
    uint64_t off, len;
  } range{static_cast<uint64_t>(offset), static_cast<uint64_t>(length)};
  struct {
    uint64_t nr_cache, nr_dirty, nr_writeback, nr_evicted, nr_recently_evicted;
  } stat{};
  int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) return -1;
  long rc = ::syscall(kCachestat, fd, &range, &stat, 0);
  ::close(fd);
  if (rc != 0) return -1;
  return static_cast<int64_t>(stat.nr_dirty + stat.nr_writeback);
#else
  (void)path, (void)offset, (void)length;
  return -1;
#endif
}

// A process that stored messages and died before any of it was flushed
// leaves it all in the page cache: recovery keeps it, so recovery must also
// put it on disk. Otherwise a later SYNC_FLUSH acknowledgement stands on
// bytes a power cut can still take back (the cut would end the log before
// the acknowledged record), and the checkpoint would soon vouch for consume
// queue entries that were never written out.
TEST(RecoveryTest, CrashRecoveryPutsWhatItKeepsOnDisk) {
  StoreConfig config = SmallStoreConfig(MakeTempDir("unsynced"));
  config.mappedFileSizeConsumeQueue = 20 * 1000;
  const std::string probe = config.storePathRootDir + "/probe";
  std::ofstream(probe) << "probe";
  if (DirtyPages(probe, 0, 1) < 0) {
    GTEST_SKIP() << "cachestat(2) is not available";
  }
  constexpr int kMessages = 600;
  pid_t pid = ::fork();
  if (pid == 0) {
    // The crashed process: ASYNC_FLUSH, and it dies before any flush.
    StoreConfig child = config;
    child.flushIntervalCommitLog = 3600 * 1000;
    child.flushIntervalConsumeQueue = 3600 * 1000;
    auto store = *MessageStore::Open(child);
    for (int i = 0; i < kMessages; ++i) {
      if (!store->PutSync({MakeMessage("T", 0, Body(i))}).ok()) ::_exit(1);
    }
    store->WaitDispatched();
    ::_exit(0);  // no destructor: nothing is flushed, as under SIGKILL
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;

  config.flushDiskType = "SYNC_FLUSH";
  auto store = *MessageStore::Open(config);
  ASSERT_TRUE(store->recovered_from_crash());
  ASSERT_EQ(CountReadable(*store), kMessages);
  PutResult r = store->PutSync({MakeMessage("T", 0, Body(kMessages))});
  ASSERT_TRUE(r.ok());
  const int64_t size = config.mappedFileSizeCommitLog;
  for (int64_t start = 0; start < r.physical_offset; start += size) {
    const std::string path =
        absl::StrCat(config.CommitLogDir(), "/", OffsetToFileName(start));
    const int64_t length = std::min(size, r.physical_offset - start);
    EXPECT_EQ(DirtyPages(path, 0, length), 0)
        << "commit log bytes below acknowledged offset " << r.physical_offset
        << " are not on disk, in " << path;
  }
  // Once the checkpoint covers every record, no consume queue page may be
  // dirty.
  const int64_t end = store->MaxPhysicalOffset();
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (Checkpoint::Load(config.CheckpointPath())->dispatch_flushed_offset <
         end) {
    ASSERT_LT(absl::Now(), deadline) << "no checkpoint covers " << end;
    absl::SleepFor(absl::Milliseconds(5));
  }
  const std::string cq =
      absl::StrCat(config.ConsumeQueueDir(), "/T/0/", OffsetToFileName(0));
  EXPECT_EQ(DirtyPages(cq, 0, config.mappedFileSizeConsumeQueue), 0)
      << "consume queue entries the checkpoint covers are not on disk";
}

}  // namespace
}  // namespace cometmq::store
