#ifndef COMETMQ_CLIENT_BATCH_ENCODER_H_
#define COMETMQ_CLIENT_BATCH_ENCODER_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace cometmq::client {

// One message of a SEND_BATCH_MESSAGE body: its body and encoded properties.
struct BatchEntry {
  std::string body;
  std::string properties;
  int32_t flag = 0;
};

// The batch body of PROTOCOL.md: entries back to back, each
// `i32 total_size | i32 magic(0) | i32 body_crc | i32 flag | i32 body_len |
// body | i16 props_len | props`, big-endian, total_size counting the whole
// entry.
std::string EncodeBatch(const std::vector<BatchEntry>& entries);

// Size EncodeBatch gives one entry.
size_t BatchEntrySize(const BatchEntry& entry);

}  // namespace cometmq::client

#endif  // COMETMQ_CLIENT_BATCH_ENCODER_H_
