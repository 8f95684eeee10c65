// Replication between two stores in one process over the real HA port.

#include <string>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "cpp/broker/ha/ha_master.h"
#include "cpp/broker/ha/ha_slave.h"
#include "cpp/common/byte_order.h"
#include "cpp/common/eventually.h"
#include "cpp/common/message_record.h"
#include "cpp/store/store_test_util.h"
#include "gtest/gtest.h"

namespace cometmq::broker {
namespace {

using store::MakeMessage;
using store::MessageStore;
using store::PutStatus;

std::unique_ptr<MessageStore> Open(const std::string& name) {
  absl::StatusOr<std::unique_ptr<MessageStore>> s =
      MessageStore::Open(store::SmallStoreConfig(store::MakeTempDir(name)));
  EXPECT_TRUE(s.ok()) << s.status();
  return s.ok() ? *std::move(s) : nullptr;
}

std::string Bytes(MessageStore& store) {
  std::string out;
  for (const auto& file : store.commit_log().files().Files()) {
    out.append(file->data(), static_cast<size_t>(file->wrote_position()));
  }
  return out;
}

// What a replica copies of the first segment of `store`: its records and
// the head of the blank that closes it.
std::string FirstSegment(MessageStore& store) {
  const int64_t segment = store.config().mappedFileSizeCommitLog;
  std::string out;
  store::RecordSlice slice;
  while (
      store.ReadForReplica(static_cast<int64_t>(out.size()), segment, &slice)) {
    out.append(slice.bytes().data(), slice.bytes().size());
    const size_t n = out.size();
    if (n >= kEndFileMinBlankLength &&
        GetBig32(out.data() + n - kEndFileMinBlankLength + 4) == kBlankMagic) {
      break;
    }
  }
  return out;
}

class HaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    master_store_ = Open("ha-master");
    HaMasterOptions options;
    options.bind_address = "127.0.0.1";
    options.segment_size = master_store_->config().mappedFileSizeCommitLog;
    options.slave_ack_timeout = absl::Milliseconds(300);
    master_ = std::make_unique<HaMaster>(options, master_store_.get());
    ASSERT_TRUE(master_->Start().ok());
  }

  std::unique_ptr<HaSlave> StartSlave(MessageStore* store) {
    HaSlaveOptions options;
    options.broker_name = "broker-a";
    options.slave_addr = "127.0.0.1:1";
    options.batch_bytes = 8192;
    options.idle_wait = absl::Milliseconds(100);
    options.retry_interval = absl::Milliseconds(50);
    const std::string addr = absl::StrCat("127.0.0.1:", master_->port());
    options.master_ha_addr = [addr] { return addr; };
    auto slave = std::make_unique<HaSlave>(options, store);
    slave->Start();
    return slave;
  }

  void Put(int n, int size = 500) {
    for (int i = 0; i < n; ++i) {
      store::PutResult r = master_store_->PutSync(
          {MakeMessage("T", i % 4, std::string(size + i % 7, 'x'))});
      ASSERT_TRUE(r.ok()) << r.error;
      master_->OnAppended(r.end_offset);
    }
  }

  PutStatus Wait(int64_t end) {
    absl::Notification done;
    PutStatus status;
    master_->WaitForSlave(end, [&](PutStatus s) {
      status = s;
      done.Notify();
    });
    done.WaitForNotification();
    return status;
  }

  std::unique_ptr<MessageStore> master_store_;
  std::unique_ptr<HaMaster> master_;
};

TEST_F(HaTest, SlaveCatchesUpAndFollows) {
  Put(300);  // several 64 KiB segments before the slave exists
  auto slave_store = Open("ha-slave");
  auto slave = StartSlave(slave_store.get());
  ASSERT_TRUE(Eventually([&] {
    return slave_store->MaxPhysicalOffset() ==
           master_store_->MaxPhysicalOffset();
  }));
  Put(300);
  EXPECT_TRUE(master_->WaitForSlavesAt(master_store_->MaxPhysicalOffset(),
                                       absl::Seconds(10)));
  EXPECT_FALSE(master_->WaitForSlavesAt(master_store_->MaxPhysicalOffset() + 1,
                                        absl::Milliseconds(100)));
  EXPECT_EQ(Wait(master_store_->MaxPhysicalOffset()), PutStatus::kOk);
  ASSERT_TRUE(Eventually([&] {
    return slave_store->MaxPhysicalOffset() ==
           master_store_->MaxPhysicalOffset();
  }));
  EXPECT_EQ(Bytes(*slave_store), Bytes(*master_store_));
  slave_store->WaitDispatched();
  EXPECT_EQ(slave_store->MaxOffsetInQueue("T", 3),
            master_store_->MaxOffsetInQueue("T", 3));
  ASSERT_EQ(master_->Slaves().size(), 1u);
  EXPECT_EQ(master_->Slaves()[0].slave_addr, "127.0.0.1:1");
  EXPECT_TRUE(slave->Status().connected);
}

TEST_F(HaTest, SyncWaitWithoutSlaveIsSlaveNotAvailable) {
  Put(1);
  EXPECT_EQ(Wait(master_store_->MaxPhysicalOffset()),
            PutStatus::kSlaveNotAvailable);
}

TEST_F(HaTest, SlaveThatStopsAskingTimesOut) {
  Put(5);
  auto slave_store = Open("ha-slow-slave");
  auto slave = StartSlave(slave_store.get());
  ASSERT_TRUE(Eventually([&] { return master_->Slaves().size() == 1; }));
  // An offset the master has not written yet: no slave can acknowledge it
  // in time, though one is connected and in sync.
  EXPECT_EQ(Wait(master_store_->MaxPhysicalOffset() + (1 << 20)),
            PutStatus::kFlushSlaveTimeout);
  slave->Stop();
  ASSERT_TRUE(Eventually([&] { return master_->Slaves().empty(); }));
  EXPECT_EQ(Wait(master_store_->MaxPhysicalOffset() + 1),
            PutStatus::kSlaveNotAvailable);
}

TEST_F(HaTest, DivergedSlaveIsRefused) {
  Put(3);
  // A slave whose log has records the master never had.
  auto slave_store = Open("ha-diverged");
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(slave_store->PutSync({MakeMessage("Other", 0, "zz")}).ok());
  }
  const std::string before = Bytes(*slave_store);
  auto slave = StartSlave(slave_store.get());
  ASSERT_TRUE(Eventually([&] {
    return slave->Status().last_error.find("diverged") != std::string::npos;
  })) << slave->Status().last_error;
  Put(200);
  absl::SleepFor(absl::Milliseconds(200));
  EXPECT_EQ(Bytes(*slave_store), before);  // nothing mixed in
}

// The slave's log ends exactly at a segment boundary, holding a segment
// copied from another master. Both segments end in more than 4 KiB of
// padding after their blanks, so only bytes before the blanks can tell them
// apart: the slave is refused and left untouched.
TEST_F(HaTest, SlaveDivergedUpToASegmentBoundaryIsRefused) {
  Put(12, 11000);
  auto other = Open("ha-other-master");
  for (int i = 0; i < 12; ++i) {
    ASSERT_TRUE(
        other->PutSync({MakeMessage("Other", 0, std::string(11000, 'z'))})
            .ok());
  }
  auto slave_store = Open("ha-boundary");
  ASSERT_TRUE(slave_store->AppendReplica(0, FirstSegment(*other)).ok());
  const int64_t segment = slave_store->config().mappedFileSizeCommitLog;
  ASSERT_EQ(slave_store->MaxPhysicalOffset(), segment);
  ASSERT_LT(slave_store->commit_log().WrittenEndBefore(segment),
            segment - 4096);
  const std::string before = Bytes(*slave_store);

  auto slave = StartSlave(slave_store.get());
  ASSERT_TRUE(Eventually([&] {
    return slave->Status().last_error.find("diverged") != std::string::npos;
  })) << slave->Status().last_error;
  EXPECT_EQ(Bytes(*slave_store), before);
}

// A slave whose log ends exactly at a segment boundary (it copied a whole
// segment, blank included) continues from the next segment.
TEST_F(HaTest, SlaveAtASegmentBoundaryContinues) {
  Put(300);
  auto slave_store = Open("ha-boundary-same");
  ASSERT_TRUE(slave_store->AppendReplica(0, FirstSegment(*master_store_)).ok());
  ASSERT_EQ(slave_store->MaxPhysicalOffset(),
            master_store_->config().mappedFileSizeCommitLog);
  auto slave = StartSlave(slave_store.get());
  ASSERT_TRUE(Eventually([&] {
    return slave_store->MaxPhysicalOffset() ==
           master_store_->MaxPhysicalOffset();
  })) << slave->Status().last_error;
  EXPECT_EQ(Bytes(*slave_store), Bytes(*master_store_));
}

}  // namespace
}  // namespace cometmq::broker
