#include "cpp/client/message.h"

#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "cpp/client/compression.h"
#include "cpp/client/message_id.h"
#include "cpp/common/message_record.h"

namespace cometmq::client {
namespace {

// Moves the properties with fields of their own out of `props`.
void ApplyProperties(std::map<std::string, std::string> props,
                     MessageExt* message) {
  auto take = [&props](absl::string_view name) {
    std::string value;
    auto it = props.find(std::string(name));
    if (it != props.end()) {
      value = std::move(it->second);
      props.erase(it);
    }
    return value;
  };
  message->tags = take(kPropertyTags);
  message->msg_id = take(kPropertyUniqKey);
  std::string keys = take(kPropertyKeys);
  message->keys = absl::StrSplit(keys, ' ', absl::SkipEmpty());
  std::string delay = take(kPropertyDelayLevel);
  if (!delay.empty() && !absl::SimpleAtoi(delay, &message->delay_level)) {
    message->delay_level = 0;
  }
  message->properties = std::move(props);
}

// As RocketMQ's MessageExt shows bornHost and storeHost.
std::string HostPort(uint32_t ip, uint32_t port) {
  return absl::StrCat(Ipv4ToString(ip), ":", port);
}

}  // namespace

absl::StatusOr<std::vector<MessageExt>> DecodeMessages(
    absl::string_view body, const std::string& broker_name) {
  std::vector<MessageExt> messages;
  size_t pos = 0;
  while (pos < body.size()) {
    RecordView view;
    DecodeResult result =
        DecodeRecord(body.data() + pos, static_cast<int64_t>(body.size() - pos),
                     /*check_crc=*/true, &view);
    if (result != DecodeResult::kRecord) {
      return absl::DataLossError(
          absl::StrCat("corrupt record at byte ", pos, " of ", body.size()));
    }
    MessageExt message;
    message.topic = std::string(view.topic);
    if (view.sys_flag & kSysFlagCompressed) {
      absl::StatusOr<std::string> inflated = Uncompress(view.body);
      if (!inflated.ok()) {
        return absl::DataLossError(absl::StrCat("record at queue offset ",
                                                view.queue_offset, ": ",
                                                inflated.status().message()));
      }
      message.body = *std::move(inflated);
    } else {
      message.body = std::string(view.body);
    }
    ApplyProperties(DecodeProperties(view.properties), &message);
    message.offset_msg_id =
        OffsetMessageId(view.store_ip, view.store_port, view.physical_offset);
    message.broker_name = broker_name;
    message.queue_id = view.queue_id;
    message.queue_offset = view.queue_offset;
    message.commit_log_offset = view.physical_offset;
    message.reconsume_times = view.reconsume_times;
    message.born_timestamp = view.born_timestamp;
    message.store_timestamp = view.store_timestamp;
    message.born_host = HostPort(view.born_ip, view.born_port);
    message.store_host = HostPort(view.store_ip, view.store_port);
    message.sys_flag = view.sys_flag;
    messages.push_back(std::move(message));
    pos += static_cast<size_t>(view.total_size);
  }
  return messages;
}

}  // namespace cometmq::client
