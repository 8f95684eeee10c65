#include "cpp/store/mapped_file_queue.h"

#include <string>

#include "cpp/store/store_test_util.h"
#include "gtest/gtest.h"

namespace cometmq::store {
namespace {

constexpr int64_t kPage = 4096;

// ASYNC_FLUSH flushes only once `least_pages` pages are dirty, but a full
// segment never gets another dirty page: as in RocketMQ, its last pages go
// at the next flush rather than holding back the flush of the segments
// after it until the thorough flush.
TEST(MappedFileQueueTest, FullSegmentIsFlushedWhateverItsDirtyPages) {
  MappedFileQueue queue(MakeTempDir("mfq-full"), 16 * kPage);
  ASSERT_TRUE(queue.Load().ok());
  std::shared_ptr<MappedFile> first = *queue.LastFileForWrite(0);
  ASSERT_TRUE(first->Append(std::string(15 * kPage, 'a')));
  ASSERT_EQ(*queue.Flush(4), 15 * kPage);
  // The segment's last page, then eight pages of the next segment.
  ASSERT_TRUE(first->Append(std::string(kPage, 'b')));
  ASSERT_TRUE(first->full());
  std::shared_ptr<MappedFile> second = *queue.LastFileForWrite(0);
  ASSERT_NE(second, first);
  ASSERT_TRUE(second->Append(std::string(8 * kPage, 'c')));
  EXPECT_EQ(*queue.Flush(4), 16 * kPage + 8 * kPage);
}

// Forced retention (ASYNC_FLUSH, disk above the clean-forcibly ratio) may
// delete segments the periodic flush has not reached yet, and retention
// deletes consume queue files whatever their flush. The flush must go on
// from the first segment left: stuck at an offset no segment holds, it
// never wrote anything again, while the checkpoint, which takes each consume
// queue's flush as done, moved on past entries left in the page cache only.
TEST(MappedFileQueueTest, FlushGoesOnAfterUnflushedSegmentsWereDeleted) {
  MappedFileQueue queue(MakeTempDir("mfq-deleted"), 4 * kPage);
  ASSERT_TRUE(queue.Load().ok());
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(
        (*queue.LastFileForWrite(0))->Append(std::string(4 * kPage, 'a')));
  }
  std::shared_ptr<MappedFile> third = *queue.LastFileForWrite(0);
  ASSERT_TRUE(third->Append(std::string(kPage, 'c')));
  ASSERT_EQ(queue.flushed_where(), 0);
  ASSERT_EQ(queue.DeleteFromFront([](const MappedFile&) { return true; }, 2),
            2);
  EXPECT_EQ(*queue.Flush(0), 9 * kPage);
  EXPECT_EQ(queue.flushed_where(), 9 * kPage);
  EXPECT_EQ(third->flushed_position(), kPage);
}

}  // namespace
}  // namespace cometmq::store
