#include "cpp/client/batch_encoder.h"

#include "cpp/common/byte_order.h"
#include "cpp/common/crc32.h"
#include "cpp/common/message_record.h"

namespace cometmq::client {

size_t BatchEntrySize(const BatchEntry& entry) {
  return 4 + 4 + 4 + 4 + 4 + entry.body.size() + 2 + entry.properties.size();
}

std::string EncodeBatch(const std::vector<BatchEntry>& entries) {
  size_t total = 0;
  for (const BatchEntry& entry : entries) total += BatchEntrySize(entry);
  std::string out(total, '\0');
  char* p = out.data();
  for (const BatchEntry& entry : entries) {
    p = PutBig32(p, static_cast<int32_t>(BatchEntrySize(entry)));
    p = PutBig32(p, 0);
    p = PutBig32(p, static_cast<int32_t>(Crc32(entry.body)));
    p = PutBig32(p, entry.flag);
    p = PutBig32(p, static_cast<int32_t>(entry.body.size()));
    p = std::copy(entry.body.begin(), entry.body.end(), p);
    p = PutBig16(p, static_cast<int16_t>(entry.properties.size()));
    p = std::copy(entry.properties.begin(), entry.properties.end(), p);
  }
  return out;
}

}  // namespace cometmq::client
