#ifndef COMETMQ_BROKER_TRANSACTIONAL_MESSAGE_H_
#define COMETMQ_BROKER_TRANSACTIONAL_MESSAGE_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "cpp/common/message_record.h"

namespace cometmq::broker {

// Transactional messages as RocketMQ 4.9 stores them. A half (prepared)
// message waits on RMQ_SYS_TRANS_HALF_TOPIC queue 0 with its real topic and
// queue in REAL_TOPIC / REAL_QID; its sysflag is reset to "not transactional"
// so that the half topic's consume queue indexes it (the check service reads
// it from there), while no user topic ever sees it. Ending a transaction
// appends an op record to RMQ_SYS_TRANS_OP_HALF_TOPIC queue 0: tag "d", body
// = the half's queue offset in decimal, so the half is never checked again.
inline constexpr absl::string_view kTransHalfTopic = "RMQ_SYS_TRANS_HALF_TOPIC";
inline constexpr absl::string_view kTransOpHalfTopic =
    "RMQ_SYS_TRANS_OP_HALF_TOPIC";
// The internal group whose consumer offsets on the half and op topics are the
// check service's progress (persisted with every other group's offsets).
inline constexpr absl::string_view kTransCheckGroup = "CID_SYS_RMQ_TRANS";
inline constexpr absl::string_view kTransOpRemoveTag = "d";
// Where a half nobody answered for transactionCheckMax checks is copied
// before it is discarded, so it can still be read and acted on by hand.
inline constexpr absl::string_view kTransCheckMaxTimeTopic =
    "TRANS_CHECK_MAX_TIME_TOPIC";

inline constexpr absl::string_view kPropertyProducerGroup = "PGROUP";
inline constexpr absl::string_view kPropertyCheckTimes =
    "TRANSACTION_CHECK_TIMES";
inline constexpr absl::string_view kPropertyTransactionId = "__transactionId__";

// True for the internal topics no client may send to or read.
bool IsTransactionTopic(absl::string_view topic);

// True when encoded `properties` carry TRAN_MSG=true.
bool IsTransactionPrepared(absl::string_view properties);

// Rewrites a prepared message into its half form (see above).
void RewriteForHalf(MessageToStore* message);

// The real message a committed half becomes: real topic and queue, REAL_*,
// TRAN_MSG and TRANSACTION_CHECK_TIMES removed, sysflag set to the commit
// type, prepared_tx_offset = the half's commit log offset; unique id, keys,
// tags, other properties, body and born data kept. False without REAL_TOPIC.
bool RestoreFromHalf(const RecordView& half, MessageToStore* out);

// The copy of a discarded half for TRANS_CHECK_MAX_TIME_TOPIC queue 0: the
// half's body, properties (REAL_TOPIC, REAL_QID, PGROUP, the check count)
// and born data, stored as an ordinary message.
MessageToStore MakeDiscardedCopy(const RecordView& half);

// The half's transaction id: its UNIQ_KEY (empty if it has none).
std::string TransactionIdOf(const RecordView& half);
// TRANSACTION_CHECK_TIMES of a half (0 when absent or malformed).
int CheckTimesOf(const RecordView& half);

// The op record that ends the half at `half_queue_offset`.
MessageToStore MakeOpMessage(int64_t half_queue_offset,
                             absl::string_view transaction_id);

// What an op record says; nullopt if it is not a well-formed "d" op.
struct OpEntry {
  int64_t half_queue_offset = 0;
  std::string transaction_id;
};
std::optional<OpEntry> ParseOp(const RecordView& op);

}  // namespace cometmq::broker

#endif  // COMETMQ_BROKER_TRANSACTIONAL_MESSAGE_H_
