#ifndef COMETMQ_CLIENT_SEND_REQUEST_H_
#define COMETMQ_CLIENT_SEND_REQUEST_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "cpp/client/message.h"
#include "cpp/remoting/command.h"
#include "proto/remoting.pb.h"

namespace cometmq::client {

// The producer group of messages the client sends on its own behalf: a
// consumer's copy of a failed message, an admin's re-send of dead letters.
inline constexpr char kInnerProducerGroup[] = "CLIENT_INNER_PRODUCER";

struct SendLimits {
  int64_t compress_over = 4096;                // compressMsgBodyOverHowmuch
  int64_t max_message_size = 4 * 1024 * 1024;  // maxMessageSize
};

// A validated message ready to go to any queue of its topic: the send
// header fields, the (possibly compressed) body and the msg id(s) the user
// will see.
struct PreparedSend {
  int32_t code = 0;  // SEND_MESSAGE or SEND_BATCH_MESSAGE
  proto::SendMessageRequest header;
  std::string body;
  std::string msg_id;  // UNIQ_KEY; for batches the keys joined by ','
};

// Who set a message's properties. A user may not set the names this client
// or the broker give a meaning to, as RocketMQ's putUserProperty refuses
// them: TRAN_MSG=true alone would park a plain message as a transaction
// half that no producer answers for, and it would be dropped unconsumed.
// This client sets them itself on the messages it sends for the user: a
// consumer's retry copy, a transaction half, a re-sent dead letter.
enum class PropertiesSetBy { kUser, kClient };

// InvalidArgument naming the first property a user may not set: an empty
// name, or one of the system names (RocketMQ's MessageConst set plus this
// broker's own).
absl::Status ValidateUserProperties(
    const std::map<std::string, std::string>& properties);

// Validates `message` and encodes it: properties (user ones plus TAGS, KEYS,
// DELAY, and a fresh UNIQ_KEY unless the properties carry one: a message
// sent again keeps its id), born timestamp, and a zlib body with
// kSysFlagCompressed when the body is over `compress_over`. For a %RETRY%
// topic, RECONSUME_TIME and MAX_RECONSUME_TIMES move into the header.
// InvalidArgument for an empty topic or body, a body over max_message_size,
// or (set_by kUser) a property a user may not set.
absl::StatusOr<PreparedSend> PrepareSend(const Message& message,
                                         const std::string& producer_group,
                                         const SendLimits& limits,
                                         PropertiesSetBy set_by);

// The same for a batch: one topic, no delay levels, each body non-empty,
// the encoded batch within max_message_size. Bodies are not compressed
// (batch entries carry no sysflag of their own). Properties are the user's.
absl::StatusOr<PreparedSend> PrepareBatch(const std::vector<Message>& messages,
                                          const std::string& producer_group,
                                          const SendLimits& limits);

// The request sending `prepared` to `queue_id`.
remoting::Command MakeSendCommand(const PreparedSend& prepared,
                                  int32_t queue_id,
                                  int32_t default_topic_queue_nums);

}  // namespace cometmq::client

#endif  // COMETMQ_CLIENT_SEND_REQUEST_H_
