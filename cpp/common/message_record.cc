#include "cpp/common/message_record.h"

#include <cstring>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "cpp/common/byte_order.h"
#include "cpp/common/crc32.h"
#include "cpp/common/hex.h"

namespace cometmq {

int64_t RecordSize(const MessageToStore& m) {
  return kRecordFixedSize + static_cast<int64_t>(m.body.size()) +
         static_cast<int64_t>(m.topic.size()) +
         static_cast<int64_t>(m.properties.size()) + kCrcPropertySize;
}

void EncodeRecord(const MessageToStore& m, const StoreStamp& stamp, char* out) {
  const int32_t total = static_cast<int32_t>(RecordSize(m));
  char* p = out;
  p = PutBig32(p, total);
  p = PutBig32(p, kMessageMagic);
  p = PutBig32(p, static_cast<int32_t>(Crc32(m.body)));
  p = PutBig32(p, m.queue_id);
  p = PutBig32(p, m.flag);
  p = PutBig64(p, stamp.queue_offset);
  p = PutBig64(p, stamp.physical_offset);
  p = PutBig32(p, m.sys_flag);
  p = PutBig64(p, m.born_timestamp);
  p = PutBig32(p, static_cast<int32_t>(m.born_ip));
  p = PutBig32(p, static_cast<int32_t>(m.born_port));
  p = PutBig64(p, stamp.store_timestamp);
  p = PutBig32(p, static_cast<int32_t>(stamp.store_ip));
  p = PutBig32(p, static_cast<int32_t>(stamp.store_port));
  p = PutBig32(p, m.reconsume_times);
  p = PutBig64(p, m.prepared_tx_offset);
  p = PutBig32(p, static_cast<int32_t>(m.body.size()));
  std::memcpy(p, m.body.data(), m.body.size());
  p += m.body.size();
  *p++ = static_cast<char>(m.topic.size());
  std::memcpy(p, m.topic.data(), m.topic.size());
  p += m.topic.size();
  p = PutBig16(p, static_cast<int16_t>(m.properties.size() + kCrcPropertySize));
  std::memcpy(p, m.properties.data(), m.properties.size());
  p += m.properties.size();
  uint32_t crc = Crc32(absl::string_view(out, static_cast<size_t>(p - out)));
  std::memcpy(p, kCrcProperty.data(), kCrcProperty.size());
  p += kCrcProperty.size();
  *p++ = kNameValueSeparator;
  std::string digits = absl::StrFormat("%010u", crc);
  std::memcpy(p, digits.data(), 10);
  p += 10;
  *p++ = kPropertySeparator;
}

DecodeResult DecodeRecord(const char* data, int64_t available, bool check_crc,
                          RecordView* v) {
  if (available < kEndFileMinBlankLength) {
    return available <= 0 || GetBig32(data) == 0 ? DecodeResult::kEnd
                                                 : DecodeResult::kCorrupt;
  }
  int32_t total = GetBig32(data);
  int32_t magic = GetBig32(data + 4);
  if (total == 0 && magic == 0) return DecodeResult::kEnd;
  if (magic == kBlankMagic) {
    return total >= kEndFileMinBlankLength && total <= available
               ? DecodeResult::kBlank
               : DecodeResult::kCorrupt;
  }
  if (magic != kMessageMagic || total < kRecordFixedSize + kCrcPropertySize ||
      total > available) {
    return DecodeResult::kCorrupt;
  }
  const char* p = data + 8;
  v->total_size = total;
  v->body_crc = GetBig32(p), p += 4;
  v->queue_id = GetBig32(p), p += 4;
  v->flag = GetBig32(p), p += 4;
  v->queue_offset = GetBig64(p), p += 8;
  v->physical_offset = GetBig64(p), p += 8;
  v->sys_flag = GetBig32(p), p += 4;
  v->born_timestamp = GetBig64(p), p += 8;
  v->born_ip = static_cast<uint32_t>(GetBig32(p)), p += 4;
  v->born_port = static_cast<uint32_t>(GetBig32(p)), p += 4;
  v->store_timestamp = GetBig64(p), p += 8;
  v->store_ip = static_cast<uint32_t>(GetBig32(p)), p += 4;
  v->store_port = static_cast<uint32_t>(GetBig32(p)), p += 4;
  v->reconsume_times = GetBig32(p), p += 4;
  v->prepared_tx_offset = GetBig64(p), p += 8;
  const char* end = data + total;
  int32_t body_len = GetBig32(p);
  p += 4;
  if (body_len < 0 || body_len > end - p) return DecodeResult::kCorrupt;
  v->body = absl::string_view(p, static_cast<size_t>(body_len));
  p += body_len;
  if (p + 1 > end) return DecodeResult::kCorrupt;
  auto topic_len = static_cast<uint8_t>(*p++);
  if (topic_len > end - p) return DecodeResult::kCorrupt;
  v->topic = absl::string_view(p, topic_len);
  p += topic_len;
  if (p + 2 > end) return DecodeResult::kCorrupt;
  auto props_len = static_cast<uint16_t>(GetBig16(p));
  p += 2;
  if (p + props_len != end || props_len < kCrcPropertySize) {
    return DecodeResult::kCorrupt;
  }
  // The caller sees the properties without the CRC property.
  v->properties = absl::string_view(p, props_len - kCrcPropertySize);
  if (check_crc) {
    if (static_cast<int32_t>(Crc32(v->body)) != v->body_crc) {
      return DecodeResult::kCorrupt;
    }
    const char* crc_prop = end - kCrcPropertySize;
    uint32_t stored = 0;
    if (absl::string_view(crc_prop, kCrcProperty.size()) != kCrcProperty ||
        crc_prop[8] != kNameValueSeparator ||
        crc_prop[kCrcPropertySize - 1] != kPropertySeparator ||
        !absl::SimpleAtoi(absl::string_view(crc_prop + 9, 10), &stored) ||
        Crc32(absl::string_view(data, static_cast<size_t>(crc_prop - data))) !=
            stored) {
      return DecodeResult::kCorrupt;
    }
  }
  return DecodeResult::kRecord;
}

std::string EncodeProperties(const std::map<std::string, std::string>& props) {
  std::string out;
  for (const auto& [name, value] : props) {
    out.append(name);
    out.push_back(kNameValueSeparator);
    out.append(value);
    out.push_back(kPropertySeparator);
  }
  return out;
}

std::map<std::string, std::string> DecodeProperties(absl::string_view encoded) {
  std::map<std::string, std::string> props;
  for (absl::string_view pair :
       absl::StrSplit(encoded, kPropertySeparator, absl::SkipEmpty())) {
    size_t sep = pair.find(kNameValueSeparator);
    if (sep == absl::string_view::npos) continue;
    props[std::string(pair.substr(0, sep))] = std::string(pair.substr(sep + 1));
  }
  return props;
}

std::optional<absl::string_view> FindProperty(absl::string_view encoded,
                                              absl::string_view name) {
  // Every send and every dispatched record looks up a few properties, so
  // this walks the pairs in place rather than splitting them out.
  size_t pos = 0;
  while (pos < encoded.size()) {
    size_t end = encoded.find(kPropertySeparator, pos);
    if (end == absl::string_view::npos) end = encoded.size();
    absl::string_view pair = encoded.substr(pos, end - pos);
    if (pair.size() > name.size() && pair[name.size()] == kNameValueSeparator &&
        absl::StartsWith(pair, name)) {
      return pair.substr(name.size() + 1);
    }
    pos = end + 1;
  }
  return std::nullopt;
}

int64_t TagsHashCode(absl::string_view tags) {
  // Java hashes UTF-16 code units; for ASCII tags (the norm) bytes are the
  // same units. Other tags still hash consistently within CometMQ.
  int32_t h = 0;
  for (char c : tags) {
    h = static_cast<int32_t>(static_cast<uint32_t>(h) * 31u +
                             static_cast<uint8_t>(c));
  }
  return h;
}

std::string OffsetMessageId(uint32_t store_ip, uint32_t store_port,
                            int64_t physical_offset) {
  char raw[16];
  PutBig32(raw, static_cast<int32_t>(store_ip));
  PutBig32(raw + 4, static_cast<int32_t>(store_port));
  PutBig64(raw + 8, physical_offset);
  return UpperHex(absl::string_view(raw, sizeof(raw)));
}

bool ParseOffsetMessageId(absl::string_view id, int64_t* physical_offset) {
  if (id.size() != 32) return false;
  for (char c : id) {
    if (!absl::ascii_isxdigit(c)) return false;
  }
  std::string raw = absl::HexStringToBytes(id);
  *physical_offset = GetBig64(raw.data() + 8);
  return true;
}

}  // namespace cometmq
