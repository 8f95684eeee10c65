#ifndef COMETMQ_COMMON_MESSAGE_RECORD_H_
#define COMETMQ_COMMON_MESSAGE_RECORD_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace cometmq {

// Stored-message layout of the reference system (v1 magic, IPv4 hosts), all
// integers big-endian:
//   TOTALSIZE 4 | MAGIC 4 | BODYCRC 4 | QUEUEID 4 | FLAG 4 | QUEUEOFFSET 8 |
//   PHYSICALOFFSET 8 | SYSFLAG 4 | BORNTIMESTAMP 8 | BORNHOST 8 |
//   STORETIMESTAMP 8 | STOREHOST 8 | RECONSUMETIMES 4 | PREPAREDTXOFFSET 8 |
//   BODYLEN 4 + body | TOPICLEN 1 + topic | PROPLEN 2 + properties
// CometMQ ends every record's properties with `__CRC32#` = CRC32 of all the
// record's bytes before that property, so a torn or corrupted record is
// detected anywhere in it, not only in the body.
inline constexpr int32_t kMessageMagic = -626843481;
inline constexpr int32_t kBlankMagic = -875286124;
inline constexpr int kEndFileMinBlankLength = 8;
inline constexpr int kRecordFixedSize =
    4 + 4 + 4 + 4 + 4 + 8 + 8 + 4 + 8 + 8 + 8 + 8 + 4 + 8 + 4 + 1 + 2;  // 91
inline constexpr char kNameValueSeparator = '\x01';
inline constexpr char kPropertySeparator = '\x02';
inline constexpr absl::string_view kCrcProperty = "__CRC32#";
// `__CRC32#` \x01 ten digits \x02
inline constexpr int kCrcPropertySize = 8 + 1 + 10 + 1;
// Properties a record can hold besides its CRC property (PROPLEN is 16
// bits, signed as RocketMQ reads it).
inline constexpr int kMaxRecordPropertiesSize = 32767 - kCrcPropertySize;
// Room kept for the properties the broker and consumers add to a message
// on its way through retries, delays, transactions and the DLQ
// (RETRY_TOPIC, ORIGIN_MESSAGE_ID, RECONSUME_TIME, MAX_RECONSUME_TIMES,
// DELAY, REAL_TOPIC, REAL_QID, check counts; about 600 bytes at most with
// 127-byte topics), so a message a producer could send can always be
// retried and dead-lettered.
inline constexpr int kSystemPropertiesHeadroom = 1024;
// Properties a producer may send with one message.
inline constexpr int kMaxProducerPropertiesSize =
    kMaxRecordPropertiesSize - kSystemPropertiesHeadroom;

// Offsets of the fixed fields inside a record.
inline constexpr int kQueueIdPos = 12;
inline constexpr int kQueueOffsetPos = 20;
inline constexpr int kPhysicalOffsetPos = 28;
inline constexpr int kStoreTimestampPos = 56;

// sysflag bits.
inline constexpr int32_t kSysFlagCompressed = 0x1;
inline constexpr int32_t kSysFlagMultiTags = 0x1 << 1;
inline constexpr int32_t kTransactionNotType = 0;
inline constexpr int32_t kTransactionPreparedType = 0x1 << 2;
inline constexpr int32_t kTransactionCommitType = 0x2 << 2;
inline constexpr int32_t kTransactionRollbackType = 0x3 << 2;
inline constexpr int32_t TransactionType(int32_t sys_flag) {
  return sys_flag & kTransactionRollbackType;
}
// Prepared and rolled-back transaction halves get no consume-queue slot.
inline constexpr bool GetsQueueOffset(int32_t sys_flag) {
  return TransactionType(sys_flag) == kTransactionNotType ||
         TransactionType(sys_flag) == kTransactionCommitType;
}

// Property names shared with clients.
inline constexpr absl::string_view kPropertyKeys = "KEYS";
inline constexpr absl::string_view kPropertyTags = "TAGS";
inline constexpr absl::string_view kPropertyUniqKey = "UNIQ_KEY";
inline constexpr absl::string_view kPropertyDelayLevel = "DELAY";
inline constexpr absl::string_view kPropertyRealTopic = "REAL_TOPIC";
inline constexpr absl::string_view kPropertyRealQueueId = "REAL_QID";
inline constexpr absl::string_view kPropertyTransactionPrepared = "TRAN_MSG";
// A consumer group's retry and dead-letter topics are these plus the group.
inline constexpr absl::string_view kRetryGroupTopicPrefix = "%RETRY%";
inline constexpr absl::string_view kDlqGroupTopicPrefix = "%DLQ%";
// Properties of retried messages.
inline constexpr absl::string_view kPropertyRetryTopic = "RETRY_TOPIC";
inline constexpr absl::string_view kPropertyOriginMessageId =
    "ORIGIN_MESSAGE_ID";
inline constexpr absl::string_view kPropertyReconsumeTime = "RECONSUME_TIME";
// Carried by a consumer's own copy to %RETRY%<group> only until the
// producer moves them into the send header.
inline constexpr absl::string_view kPropertyMaxReconsumeTimes =
    "MAX_RECONSUME_TIMES";

// What a producer hands to the store; the store assigns the rest.
struct MessageToStore {
  std::string topic;
  int32_t queue_id = 0;
  int32_t flag = 0;
  int32_t sys_flag = 0;
  int64_t born_timestamp = 0;
  uint32_t born_ip = 0;  // IPv4, host order
  uint32_t born_port = 0;
  int32_t reconsume_times = 0;
  int64_t prepared_tx_offset = 0;
  std::string body;
  std::string properties;  // encoded with EncodeProperties, without the CRC
};

// A record decoded from the log. Views point into the mapped file.
struct RecordView {
  int32_t total_size = 0;
  int32_t body_crc = 0;
  int32_t queue_id = 0;
  int32_t flag = 0;
  int64_t queue_offset = 0;
  int64_t physical_offset = 0;
  int32_t sys_flag = 0;
  int64_t born_timestamp = 0;
  uint32_t born_ip = 0;
  uint32_t born_port = 0;
  int64_t store_timestamp = 0;
  uint32_t store_ip = 0;
  uint32_t store_port = 0;
  int32_t reconsume_times = 0;
  int64_t prepared_tx_offset = 0;
  absl::string_view body;
  absl::string_view topic;
  absl::string_view properties;
};

// Size of the record `message` becomes, CRC property included.
int64_t RecordSize(const MessageToStore& message);

// What the log assigns at append time.
struct StoreStamp {
  int64_t queue_offset = 0;
  int64_t physical_offset = 0;
  int64_t store_timestamp = 0;
  uint32_t store_ip = 0;
  uint32_t store_port = 0;
};

// Writes the record into `out`, which has RecordSize(message) bytes.
void EncodeRecord(const MessageToStore& message, const StoreStamp& stamp,
                  char* out);

enum class DecodeResult {
  kRecord,  // a valid message record
  kBlank,   // end-of-file blank: the rest of the segment is unused
  kEnd,     // zeros: nothing was ever written here
  kCorrupt  // anything else: a torn or damaged record
};

// Decodes the record at `data` (at most `available` bytes). With
// `check_crc`, verifies the body CRC and the record CRC property.
DecodeResult DecodeRecord(const char* data, int64_t available, bool check_crc,
                          RecordView* view);

// name\x01value\x02 pairs.
std::string EncodeProperties(const std::map<std::string, std::string>& props);
std::map<std::string, std::string> DecodeProperties(absl::string_view encoded);
// The value of one property, without decoding all of them or copying: a
// view into `encoded`, valid as long as it is.
std::optional<absl::string_view> FindProperty(absl::string_view encoded,
                                              absl::string_view name);

// Java's String.hashCode of the tag, the reference system's tag hash.
int64_t TagsHashCode(absl::string_view tags);

// 16-byte offset message id (store IPv4, port, physical offset) as 32 hex.
std::string OffsetMessageId(uint32_t store_ip, uint32_t store_port,
                            int64_t physical_offset);
// Inverse of OffsetMessageId; false if `id` is not one.
bool ParseOffsetMessageId(absl::string_view id, int64_t* physical_offset);

}  // namespace cometmq

#endif  // COMETMQ_COMMON_MESSAGE_RECORD_H_
