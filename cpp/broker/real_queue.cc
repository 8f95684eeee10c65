#include "cpp/broker/real_queue.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace cometmq::broker {

void ParkOnSystemQueue(absl::string_view system_topic, int32_t queue_id,
                       const std::map<std::string, std::string>& extra,
                       MessageToStore* message) {
  std::map<std::string, std::string> props =
      DecodeProperties(message->properties);
  props[std::string(kPropertyRealTopic)] = message->topic;
  props[std::string(kPropertyRealQueueId)] = absl::StrCat(message->queue_id);
  for (const auto& [name, value] : extra) props[name] = value;
  message->properties = EncodeProperties(props);
  message->topic = std::string(system_topic);
  message->queue_id = queue_id;
}

MessageToStore CopyRecord(const RecordView& record) {
  std::map<std::string, std::string> props =
      DecodeProperties(record.properties);
  props.erase(std::string(kCrcProperty));
  MessageToStore out;
  out.topic = std::string(record.topic);
  out.queue_id = record.queue_id;
  out.properties = EncodeProperties(props);
  out.flag = record.flag;
  out.sys_flag = record.sys_flag;
  out.born_timestamp = record.born_timestamp;
  out.born_ip = record.born_ip;
  out.born_port = record.born_port;
  out.reconsume_times = record.reconsume_times;
  out.prepared_tx_offset = record.prepared_tx_offset;
  out.body = std::string(record.body);
  return out;
}

bool RestoreRealQueue(const RecordView& record,
                      std::initializer_list<absl::string_view> drop,
                      MessageToStore* out) {
  std::map<std::string, std::string> props =
      DecodeProperties(record.properties);
  auto topic = props.find(std::string(kPropertyRealTopic));
  if (topic == props.end() || topic->second.empty()) return false;
  int32_t queue_id = 0;
  if (auto qid = props.find(std::string(kPropertyRealQueueId));
      qid != props.end() && !absl::SimpleAtoi(qid->second, &queue_id)) {
    queue_id = 0;
  }
  *out = CopyRecord(record);
  out->topic = topic->second;
  out->queue_id = queue_id;
  props.erase(std::string(kPropertyRealTopic));
  props.erase(std::string(kPropertyRealQueueId));
  props.erase(std::string(kCrcProperty));
  for (absl::string_view name : drop) props.erase(std::string(name));
  out->properties = EncodeProperties(props);
  return true;
}

}  // namespace cometmq::broker
