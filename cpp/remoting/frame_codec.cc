#include "cpp/remoting/frame_codec.h"

#include "absl/strings/str_cat.h"

namespace cometmq::remoting {
namespace {

void PutU32(uint32_t v, char* out) {
  out[0] = static_cast<char>(v >> 24);
  out[1] = static_cast<char>(v >> 16);
  out[2] = static_cast<char>(v >> 8);
  out[3] = static_cast<char>(v);
}

// Larger than the frames of small messages read 64 KiB at a time, so only a
// large frame makes the decoder free its buffer afterwards.
constexpr size_t kMaxIdleBufferCapacity = 256 * 1024;

uint32_t GetU32(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  return (uint32_t{u[0]} << 24) | (uint32_t{u[1]} << 16) |
         (uint32_t{u[2]} << 8) | uint32_t{u[3]};
}

}  // namespace

void EncodeFramePrefix(const Command& command, std::string* prefix) {
  size_t header_size = command.header.ByteSizeLong();
  prefix->resize(kFramePrefixSize + header_size);
  uint32_t frame_length =
      static_cast<uint32_t>(4 + header_size + command.body.size());
  PutU32(frame_length, prefix->data());
  PutU32(static_cast<uint32_t>(header_size), prefix->data() + 4);
  command.header.SerializeWithCachedSizesToArray(
      reinterpret_cast<uint8_t*>(prefix->data() + kFramePrefixSize));
}

std::string EncodeFrame(const Command& command) {
  std::string frame;
  EncodeFramePrefix(command, &frame);
  frame.append(command.body);
  return frame;
}

FrameDecoder::FrameDecoder(uint32_t max_frame_size)
    : max_frame_size_(max_frame_size) {}

void FrameDecoder::Append(absl::string_view bytes) {
  if (!error_.ok()) return;
  // Drop decoded bytes before growing, so the buffer holds one partial frame
  // plus whatever arrived with it.
  if (consumed_ > 0 && (consumed_ == buffer_.size() || consumed_ > 65536)) {
    buffer_.erase(0, consumed_);
    consumed_ = 0;
  }
  buffer_.append(bytes.data(), bytes.size());
}

FrameDecoder::Result FrameDecoder::Fail(absl::Status status) {
  error_ = std::move(status);
  buffer_.clear();
  consumed_ = 0;
  return Result::kError;
}

FrameDecoder::Result FrameDecoder::Next(Command* command) {
  if (!error_.ok()) return Result::kError;
  size_t available = buffer_.size() - consumed_;
  if (available < 4) {
    if (available == 0 && buffer_.capacity() > kMaxIdleBufferCapacity) {
      // Everything is decoded: free the room a large frame needed rather
      // than hold it for as long as the connection lives (Netty frees its
      // cumulation buffer once it has been read, too).
      std::string().swap(buffer_);
      consumed_ = 0;
    }
    return Result::kNeedMore;
  }
  const char* p = buffer_.data() + consumed_;
  uint32_t frame_length = GetU32(p);
  if (frame_length > max_frame_size_) {
    return Fail(absl::ResourceExhaustedError(
        absl::StrCat("frame length ", frame_length, " exceeds maxFrameSize ",
                     max_frame_size_)));
  }
  if (frame_length < 4) {
    return Fail(absl::DataLossError(
        absl::StrCat("frame length ", frame_length, " is below 4")));
  }
  if (available < kFramePrefixSize) return Result::kNeedMore;
  uint32_t header_length = GetU32(p + 4);
  if (header_length > frame_length - 4) {
    return Fail(absl::DataLossError(
        absl::StrCat("header length ", header_length,
                     " does not fit in frame length ", frame_length)));
  }
  if (available < 4 + size_t{frame_length}) return Result::kNeedMore;
  if (!command->header.ParseFromArray(p + kFramePrefixSize,
                                      static_cast<int>(header_length))) {
    return Fail(absl::DataLossError("frame header is not a valid Header"));
  }
  size_t body_length = frame_length - 4 - header_length;
  command->body.assign(p + kFramePrefixSize + header_length, body_length);
  consumed_ += 4 + size_t{frame_length};
  return Result::kFrame;
}

}  // namespace cometmq::remoting
