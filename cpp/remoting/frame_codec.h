#ifndef COMETMQ_REMOTING_FRAME_CODEC_H_
#define COMETMQ_REMOTING_FRAME_CODEC_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "cpp/remoting/command.h"

namespace cometmq::remoting {

inline constexpr uint32_t kDefaultMaxFrameSize = 16 * 1024 * 1024;
// frame_length (4) + header_length (4).
inline constexpr size_t kFramePrefixSize = 8;

// Encodes `command` as `u32 frame_length | u32 header_length | header` into
// `prefix`; the body follows it on the wire unchanged, so it is not copied.
// frame_length counts the header length field, header and body.
void EncodeFramePrefix(const Command& command, std::string* prefix);

// The whole frame in one string (tests, fuzzing).
std::string EncodeFrame(const Command& command);

// Incremental decoder for a byte stream of frames. Bytes are appended as they
// arrive; complete frames are taken out one at a time. It never reserves memory
// for a length it has not received: a peer claiming a 4 GiB frame costs
// nothing until it sends 4 GiB, and any frame over `max_frame_size` is an error
// as soon as its length is read. Once all it received is decoded it frees a
// buffer grown large for a big frame. After an error the decoder stays failed.
class FrameDecoder {
 public:
  explicit FrameDecoder(uint32_t max_frame_size = kDefaultMaxFrameSize);

  void Append(absl::string_view bytes);

  enum class Result { kFrame, kNeedMore, kError };
  // On kFrame fills `command`; on kError `error()` says why.
  Result Next(Command* command);

  const absl::Status& error() const { return error_; }
  size_t buffered() const { return buffer_.size() - consumed_; }
  // Bytes of memory the buffer holds (its capacity), whatever is buffered.
  size_t memory_held() const { return buffer_.capacity(); }

 private:
  Result Fail(absl::Status status);

  uint32_t max_frame_size_;
  std::string buffer_;
  size_t consumed_ = 0;  // bytes at the front of buffer_ already decoded
  absl::Status error_;
};

}  // namespace cometmq::remoting

#endif  // COMETMQ_REMOTING_FRAME_CODEC_H_
