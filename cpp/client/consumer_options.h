#ifndef COMETMQ_CLIENT_CONSUMER_OPTIONS_H_
#define COMETMQ_CLIENT_CONSUMER_OPTIONS_H_

#include <cstdint>
#include <limits>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "cpp/client/client_instance.h"

namespace cometmq::client {

// Where a group starts on a queue it has never committed an offset for.
enum class ConsumeFrom { kFirstOffset, kLastOffset, kTimestamp };
enum class MessageModel { kClustering, kBroadcasting };

// Settings shared by push and lite pull consumers. Defaults are RocketMQ's
// except consume_threads.
struct ConsumerOptions {
  ClientConfig client;
  ConsumeFrom consume_from = ConsumeFrom::kLastOffset;
  int64_t consume_timestamp_millis = 0;  // kTimestamp; 0: 30 minutes ago
  MessageModel model = MessageModel::kClustering;
  int consume_threads = 4;
  // Reconsumes of a failed message before it goes to %DLQ%<group> (sent to
  // the broker with each send-back). -1: RocketMQ's default, 16 for
  // concurrent consumption and no limit for orderly; 0: the first failure
  // goes to the DLQ. Other negative values are refused by Start().
  int max_reconsume_times = -1;
  int pull_batch_size = 32;
  // Push consumers (consumeMessageBatchMaxSize): the most messages of one
  // queue a batch listener (RegisterBatchListener) gets per call, 1 to
  // kMaxConsumeBatchMaxSize. Concurrent consumers split each pulled batch
  // into calls of at most this many; orderly ones take up to this many
  // consecutive messages of the queue. Above 1 it needs a batch listener.
  int consume_batch_max_size = 1;
  int64_t pull_threshold_for_queue = 1000;             // messages
  int64_t pull_threshold_bytes_for_queue = 100 << 20;  // body bytes
  // Concurrent consumption (consumeConcurrentlyMaxSpan; for lite pull
  // RocketMQ's consumeMaxSpan): a queue is not pulled while the offsets of
  // the messages it holds (pulled, not yet consumed or polled) span more
  // than this, the pull retried after flow_control_delay. As in RocketMQ
  // the span is that of the messages still held: a slow message at the
  // bottom stops the pulls while those above it wait, and they go on as
  // those are consumed. Orderly consumers are exempt.
  int64_t consume_concurrently_max_span = 2000;
  absl::Duration rebalance_interval = absl::Seconds(20);
  absl::Duration offset_commit_interval = absl::Seconds(5);
  // Lite pull: polled offsets are committed periodically and whenever a
  // queue is given up or the consumer shuts down. False: only Commit()
  // commits. Push consumers commit what their listener consumed and
  // refuse false.
  bool auto_commit = true;
  absl::Duration suspend_timeout = absl::Seconds(15);  // broker long poll
  absl::Duration pull_timeout = absl::Seconds(30);     // > suspend_timeout
  absl::Duration pull_error_delay = absl::Seconds(3);
  absl::Duration flow_control_delay = absl::Milliseconds(50);
  absl::Duration reconsume_backoff = absl::Seconds(1);
  // Concurrent push consumption (consumeTimeout): a message whose listener
  // call has run longer than this is sent back to its broker for a retry
  // (CONSUMER_SEND_MSG_BACK with delay level 3, as RocketMQ's
  // cleanExpireMsg; else a copy to %RETRY%<group>) and no longer holds its
  // queue's committed offset; the call itself runs on, and what it returns
  // changes nothing more (the retry delivers the message again: at least
  // once). A message no broker took back stays and is tried again at the
  // next check. Checked every min(consume_timeout, 1 min) for the lowest
  // messages of each queue (up to 16, as RocketMQ). In BROADCASTING the
  // message is given up without a retry, as failed ones are. Must be
  // positive. Orderly consumers are exempt.
  absl::Duration consume_timeout = absl::Minutes(15);
  // How long a queue given up (or a shutdown) waits for its running
  // listener calls before committing what they have not finished yet.
  absl::Duration drop_wait = absl::Seconds(30);

  // Orderly push consumption: each queue is consumed by one thread at a
  // time in queue order, and in clustering only while this client holds the
  // queue's lock on its broker.
  bool orderly = false;
  // Broker locks are renewed this often (rocketmq.client.rebalance
  // .lockInterval); a lock not confirmed within lock_ttl stops consumption
  // of its queue (ProcessQueue.REBALANCE_LOCK_MAX_LIVE_TIME), which is
  // before the broker lets it expire (60 s).
  absl::Duration lock_interval = absl::Seconds(20);
  absl::Duration lock_ttl = absl::Seconds(30);
  // A failed orderly message is retried locally after this
  // (suspendCurrentQueueTimeMillis), max_reconsume_times times (without end
  // for -1), then goes to %DLQ%<group>.
  absl::Duration suspend_time = absl::Seconds(1);
  // One queue is consumed at most this long before its thread yields.
  absl::Duration max_consume_continuously = absl::Seconds(60);

  // Broadcasting: offsets live in the file
  // <local_offset_dir>/<client ip>@<instance name>/<group>/offsets. Empty:
  // $COMETMQ_OFFSET_DIR, else $HOME/.cometmq_offsets.
  std::string local_offset_dir;
};

// RocketMQ's maxReconsumeTimes for concurrent consumers when -1.
inline constexpr int kDefaultMaxReconsumeTimes = 16;

// RocketMQ's bounds of consumeMessageBatchMaxSize.
inline constexpr int kMaxConsumeBatchMaxSize = 1024;

// InvalidArgument for a consume_batch_max_size out of [1, 1024].
inline absl::Status ValidateConsumeBatchMaxSize(int consume_batch_max_size) {
  if (consume_batch_max_size < 1 ||
      consume_batch_max_size > kMaxConsumeBatchMaxSize) {
    return absl::InvalidArgumentError(absl::StrCat(
        "consume_batch_max_size must be between 1 and ",
        kMaxConsumeBatchMaxSize, ", not ", consume_batch_max_size));
  }
  return absl::OkStatus();
}

// InvalidArgument for a max_reconsume_times below -1.
inline absl::Status ValidateMaxReconsumeTimes(int max_reconsume_times) {
  if (max_reconsume_times < -1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "max_reconsume_times must be -1 (the default: 16, unlimited for "
        "orderly consumers), 0 (straight to the dead-letter queue) or "
        "positive, not ",
        max_reconsume_times));
  }
  return absl::OkStatus();
}

// The reconsumes `max_reconsume_times` allows, with -1 resolved as
// RocketMQ's getMaxReconsumeTimes() does: 16, or INT32_MAX (no limit) for
// orderly consumption.
inline int EffectiveMaxReconsumeTimes(int max_reconsume_times, bool orderly) {
  if (max_reconsume_times != -1) return max_reconsume_times;
  return orderly ? std::numeric_limits<int>::max() : kDefaultMaxReconsumeTimes;
}

const char* ConsumeFromName(ConsumeFrom from);
const char* MessageModelName(MessageModel model);

}  // namespace cometmq::client

#endif  // COMETMQ_CLIENT_CONSUMER_OPTIONS_H_
