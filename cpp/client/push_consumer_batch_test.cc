// Batch consumption by a concurrent push consumer
// (consume_batch_max_size, RegisterBatchListener) against a fake broker.

#include <algorithm>
#include <functional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "cpp/client/fake_broker.h"
#include "cpp/client/push_consumer.h"
#include "cpp/common/eventually.h"
#include "gtest/gtest.h"

namespace cometmq::client {
namespace {

// One listener call: the queue and the offsets and reconsume counts of its
// messages.
struct Call {
  int32_t queue_id = -1;
  std::vector<int64_t> offsets;
  std::vector<int32_t> reconsume_times;
};

// Records batch listener calls; `fail` says whether a call answers
// kReconsumeLater (asked under the recorder's lock).
class BatchRecorder {
 public:
  explicit BatchRecorder(
      std::function<bool(const std::vector<MessageExt>&)> fail =
          [](const std::vector<MessageExt>&) { return false; })
      : fail_(std::move(fail)) {}

  ConsumeResult operator()(const std::vector<MessageExt>& batch) {
    absl::MutexLock lock(&mu_);
    Call call;
    call.queue_id = batch.empty() ? -1 : batch.front().queue_id;
    for (const MessageExt& message : batch) {
      if (message.queue_id != call.queue_id) call.queue_id = -2;  // mixed
      call.offsets.push_back(message.queue_offset);
      call.reconsume_times.push_back(message.reconsume_times);
    }
    calls_.push_back(call);
    if (fail_(batch)) return ConsumeResult::kReconsumeLater;
    for (const MessageExt& message : batch) {
      consumed_.insert({message.queue_id, message.queue_offset});
    }
    return ConsumeResult::kSuccess;
  }

  std::vector<Call> calls() {
    absl::MutexLock lock(&mu_);
    return calls_;
  }
  size_t consumed() {
    absl::MutexLock lock(&mu_);
    return consumed_.size();
  }
  void set_fail(std::function<bool(const std::vector<MessageExt>&)> fail) {
    absl::MutexLock lock(&mu_);
    fail_ = std::move(fail);
  }

 private:
  absl::Mutex mu_;
  std::function<bool(const std::vector<MessageExt>&)> fail_
      ABSL_GUARDED_BY(mu_);
  std::vector<Call> calls_ ABSL_GUARDED_BY(mu_);
  std::set<std::pair<int32_t, int64_t>> consumed_ ABSL_GUARDED_BY(mu_);
};

bool Holds(const std::vector<MessageExt>& batch, int64_t offset) {
  return std::any_of(batch.begin(), batch.end(), [&](const MessageExt& m) {
    return m.queue_offset == offset;
  });
}

TEST(PushConsumerBatchTest, StartChecksTheBatchSizeAndTheListener) {
  for (int size : {0, -1, 1025}) {
    ConsumerOptions options;
    options.consume_batch_max_size = size;
    DefaultPushConsumer consumer("CGBad", options);
    consumer.RegisterBatchListener(
        [](const std::vector<MessageExt>&) { return ConsumeResult::kSuccess; });
    absl::Status status = consumer.Start();
    EXPECT_TRUE(absl::IsInvalidArgument(status)) << status;
    EXPECT_NE(
        status.message().find(absl::StrCat(
            "consume_batch_max_size must be between 1 and 1024, not ", size)),
        std::string::npos)
        << status;
  }
  ConsumerOptions options;
  options.consume_batch_max_size = 8;
  DefaultPushConsumer single("CGBad", options);
  single.RegisterListener(
      [](const MessageExt&) { return ConsumeResult::kSuccess; });
  absl::Status status = single.Start();
  EXPECT_TRUE(absl::IsInvalidArgument(status)) << status;
  EXPECT_NE(status.message().find("needs a batch listener"), std::string::npos)
      << status;
  DefaultPushConsumer none("CGBad", options);
  EXPECT_TRUE(absl::IsFailedPrecondition(none.Start()));
}

// Each pull of 32 is split into batches of at most 8 consecutive messages
// of its queue; every message is consumed once and committed.
TEST(PushConsumerBatchTest, BatchesAreConsecutiveChunksOfOneQueue) {
  testing::OneBrokerCluster cluster({"TopicB", "%RETRY%CGBatch"}, 2);
  testing::FakeBroker& broker = cluster.broker();
  broker.Append("TopicB", 0, 100);
  broker.Append("TopicB", 1, 100);
  ConsumerOptions options = cluster.consumer_options("batch-chunks");
  options.consume_from = ConsumeFrom::kFirstOffset;
  options.offset_commit_interval = absl::Milliseconds(20);
  options.consume_batch_max_size = 8;
  BatchRecorder recorder;
  DefaultPushConsumer consumer("CGBatch", options);
  ASSERT_TRUE(consumer.Subscribe("TopicB", "*").ok());
  consumer.RegisterBatchListener(
      [&](const std::vector<MessageExt>& batch) { return recorder(batch); });
  ASSERT_TRUE(consumer.Start().ok());
  ASSERT_TRUE(Eventually([&] { return recorder.consumed() == 200; }));
  EXPECT_TRUE(Eventually([&] {
    return broker.committed("TopicB", 0) == 100 &&
           broker.committed("TopicB", 1) == 100;
  }));
  consumer.Shutdown();
  size_t delivered = 0;
  size_t largest = 0;
  for (const Call& call : recorder.calls()) {
    ASSERT_GE(call.queue_id, 0) << "a batch mixes queues";
    ASSERT_FALSE(call.offsets.empty());
    EXPECT_LE(call.offsets.size(), 8u);
    for (size_t i = 1; i < call.offsets.size(); ++i) {
      EXPECT_EQ(call.offsets[i], call.offsets[i - 1] + 1);
    }
    delivered += call.offsets.size();
    largest = std::max(largest, call.offsets.size());
  }
  EXPECT_EQ(delivered, 200u);  // once each
  EXPECT_EQ(largest, 8u);
}

// A failed batch: every message of it is sent back to the broker, so all
// of them leave the queue and the offset moves past them.
TEST(PushConsumerBatchTest, AFailedBatchIsSentBackWhole) {
  testing::OneBrokerCluster cluster({"TopicF", "%RETRY%CGBatchFail"}, 1);
  testing::FakeBroker& broker = cluster.broker();
  broker.set_accept_send_back(true);
  broker.Append("TopicF", 0, 10);
  ConsumerOptions options = cluster.consumer_options("batch-fail");
  options.consume_from = ConsumeFrom::kFirstOffset;
  options.offset_commit_interval = absl::Milliseconds(20);
  options.consume_batch_max_size = 4;
  bool failed = false;
  BatchRecorder recorder([&](const std::vector<MessageExt>& batch) {
    if (failed || !Holds(batch, 5)) return false;
    failed = true;
    return true;
  });
  DefaultPushConsumer consumer("CGBatchFail", options);
  ASSERT_TRUE(consumer.Subscribe("TopicF", "*").ok());
  consumer.RegisterBatchListener(
      [&](const std::vector<MessageExt>& batch) { return recorder(batch); });
  ASSERT_TRUE(consumer.Start().ok());
  ASSERT_TRUE(Eventually([&] { return broker.committed("TopicF", 0) == 10; }));
  consumer.Shutdown();
  std::vector<int64_t> failed_offsets;
  for (const Call& call : recorder.calls()) {
    if (std::find(call.offsets.begin(), call.offsets.end(), 5) !=
        call.offsets.end()) {
      failed_offsets = call.offsets;
      break;
    }
  }
  ASSERT_FALSE(failed_offsets.empty());
  std::vector<int64_t> sent_back;
  for (const auto& back : broker.send_backs()) {
    sent_back.push_back(back.commit_log_offset() / 1000);  // the fake's
  }
  std::sort(sent_back.begin(), sent_back.end());
  EXPECT_EQ(sent_back, failed_offsets);
  EXPECT_EQ(recorder.consumed(), 10 - failed_offsets.size());
}

// A failed batch no broker takes back holds the committed offset at its
// first message, comes again as one batch with its reconsume counted, and
// only its success lets the offset pass.
TEST(PushConsumerBatchTest, AFailedBatchNoBrokerTookBackHoldsTheOffset) {
  testing::OneBrokerCluster cluster({"TopicH", "%RETRY%CGBatchHold"}, 1);
  testing::FakeBroker& broker = cluster.broker();
  broker.Append("TopicH", 0, 12);
  ConsumerOptions options = cluster.consumer_options("batch-hold");
  options.consume_from = ConsumeFrom::kFirstOffset;
  options.offset_commit_interval = absl::Milliseconds(20);
  options.reconsume_backoff = absl::Milliseconds(20);
  options.consume_batch_max_size = 4;
  BatchRecorder recorder(
      [](const std::vector<MessageExt>& batch) { return Holds(batch, 5); });
  DefaultPushConsumer consumer("CGBatchHold", options);
  ASSERT_TRUE(consumer.Subscribe("TopicH", "*").ok());
  consumer.RegisterBatchListener(
      [&](const std::vector<MessageExt>& batch) { return recorder(batch); });
  ASSERT_TRUE(consumer.Start().ok());
  // The rest consumed around it; the batch of 5 failed twice at least.
  ASSERT_TRUE(Eventually([&] {
    int fails = 0;
    for (const Call& call : recorder.calls()) {
      fails += std::count(call.offsets.begin(), call.offsets.end(), 5);
    }
    return recorder.consumed() == 8 && fails >= 2;
  }));
  ASSERT_TRUE(Eventually([&] { return broker.committed("TopicH", 0) == 4; }));
  recorder.set_fail([](const std::vector<MessageExt>&) { return false; });
  ASSERT_TRUE(Eventually([&] { return broker.committed("TopicH", 0) == 12; }));
  consumer.Shutdown();
  // Every delivery of the failed messages is the whole batch again, its
  // reconsumes counted.
  std::vector<Call> retries;
  for (const Call& call : recorder.calls()) {
    if (std::count(call.offsets.begin(), call.offsets.end(), 5)) {
      retries.push_back(call);
    }
  }
  ASSERT_GE(retries.size(), 3u);
  for (size_t i = 0; i < retries.size(); ++i) {
    EXPECT_EQ(retries[i].offsets, (std::vector<int64_t>{4, 5, 6, 7}));
    EXPECT_EQ(retries[i].reconsume_times,
              std::vector<int32_t>(4, static_cast<int32_t>(i)));
  }
}

}  // namespace
}  // namespace cometmq::client
