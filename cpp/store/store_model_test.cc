// Random appends (single messages and batches, bodies from a few bytes to
// maxMessageSize), clean and crash-marked restarts and forced retention on a
// store with tiny commit log segments and consume queue files, checked
// against a model of what was acknowledged: every acknowledged message whose
// segment retention kept is served at its queue offset, intact, and queue
// offsets continue without a gap or a reuse.
#include <fstream>
#include <map>
#include <random>

#include "absl/strings/str_cat.h"
#include "cpp/store/message_store.h"
#include "cpp/store/store_test_util.h"
#include "gtest/gtest.h"

namespace cometmq::store {
namespace {

constexpr int kQueues = 3;
constexpr int32_t kMaxBody = 5 * 1024;

struct Stored {
  std::string body;
  int64_t physical_offset;
};

class Model {
 public:
  explicit Model(uint32_t seed, bool sync_flush)
      : rng_(seed), config_(SmallStoreConfig(MakeTempDir("model"))) {
    config_.mappedFileSizeCommitLog = 16 * 1024;
    config_.mappedFileSizeConsumeQueue = 20 * 3;
    config_.maxMessageSize = kMaxBody;
    config_.cleanResourceInterval = 3600 * 1000;
    DefaultDiskThresholds(&config_);
    if (sync_flush) config_.flushDiskType = "SYNC_FLUSH";
    hooks_.disk_used_ratio = [this] { return disk_; };
    hooks_.local_hour = [] { return 12; };  // never a deleteWhen hour
    Open();
  }

  void Open() {
    absl::StatusOr<std::unique_ptr<MessageStore>> store =
        MessageStore::Open(config_, hooks_);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
  }

  void Put(int step) {
    const int queue = static_cast<int>(rng_() % kQueues);
    const int count = 1 + static_cast<int>(rng_() % 3);
    std::vector<MessageToStore> batch;
    for (int i = 0; i < count; ++i) {
      size_t size = rng_() % 4 == 0 ? kMaxBody - rng_() % 50 : 1 + rng_() % 600;
      std::string body = absl::StrCat(step, "-", i, "-");
      body.resize(std::max(size, body.size()), 'z');
      batch.push_back(MakeMessage("T", queue, body, i % 2 ? "TagA" : ""));
    }
    std::vector<MessageToStore> copy = batch;
    PutResult r = store_->PutSync(std::move(copy));
    ASSERT_TRUE(r.ok()) << r.error;
    ASSERT_EQ(r.queue_offset, next_[queue]) << "step " << step;
    int64_t physical = r.physical_offset;
    for (const MessageToStore& m : batch) {
      acked_[{queue, next_[queue]++}] = Stored{m.body, physical};
      physical += RecordSize(m);
    }
  }

  void Restart(bool crashed) {
    store_->Shutdown();
    store_.reset();
    if (crashed) std::ofstream(config_.AbortPath()).flush();
    Open();
  }

  void ForceRetention() {
    store_->WaitDispatched();
    disk_ = 0.87;  // above diskSpaceCleanForciblyRatio, below the warning
    store_->RunRetention();
    disk_ = 0.10;
  }

  void Check(int step) {
    store_->WaitDispatched();
    const int64_t log_min = store_->MinPhysicalOffset();
    const absl::flat_hash_set<int64_t> any;
    for (const auto& [key, stored] : acked_) {
      if (stored.physical_offset < log_min) continue;  // deleted by retention
      GetResult r = store_->Get("T", key.first, key.second, 1, 1 << 20, any);
      ASSERT_EQ(r.status, GetStatus::kFound)
          << "step " << step << " queue " << key.first << " offset "
          << key.second << ": " << GetStatusName(r.status);
      RecordView v;
      ASSERT_EQ(DecodeRecord(r.messages[0].data, r.messages[0].size, true, &v),
                DecodeResult::kRecord);
      ASSERT_EQ(v.body, stored.body);
      ASSERT_EQ(v.queue_offset, key.second);
    }
    for (int q = 0; q < kQueues; ++q) {
      ASSERT_EQ(store_->MaxOffsetInQueue("T", q), next_[q]);
    }
  }

  std::mt19937& rng() { return rng_; }

 private:
  std::mt19937 rng_;
  StoreConfig config_;
  StoreHooks hooks_;
  double disk_ = 0.10;
  std::unique_ptr<MessageStore> store_;
  std::map<std::pair<int, int64_t>, Stored> acked_;
  std::map<int, int64_t> next_;
};

void RunModel(uint32_t seed, bool sync_flush) {
  SCOPED_TRACE(absl::StrCat("seed ", seed));
  Model model(seed, sync_flush);
  for (int step = 0; step < 300; ++step) {
    const int op = static_cast<int>(model.rng()() % 100);
    if (op < 80) {
      ASSERT_NO_FATAL_FAILURE(model.Put(step));
    } else if (op < 88) {
      ASSERT_NO_FATAL_FAILURE(model.Restart(/*crashed=*/op % 2 == 1));
    } else if (op < 92) {
      model.ForceRetention();
    } else {
      ASSERT_NO_FATAL_FAILURE(model.Check(step));
    }
  }
  ASSERT_NO_FATAL_FAILURE(model.Check(300));
}

TEST(StoreModelTest, AsyncFlush) {
  for (uint32_t seed = 1; seed <= 6; ++seed) RunModel(seed, false);
}

TEST(StoreModelTest, SyncFlush) {
  for (uint32_t seed = 1; seed <= 3; ++seed) RunModel(seed, true);
}

}  // namespace
}  // namespace cometmq::store
