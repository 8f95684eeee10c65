// libFuzzer entry: feeds arbitrary bytes, split at a fuzzer-chosen point, to
// the frame decoder. Any crash, sanitizer report or over-allocation fails.
#include <cstddef>
#include <cstdint>

#include "cpp/remoting/frame_codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using cometmq::remoting::Command;
  using cometmq::remoting::FrameDecoder;
  if (size == 0) return 0;
  FrameDecoder decoder(1 << 20);
  size_t split = data[0] % size;
  const char* bytes = reinterpret_cast<const char*>(data);
  Command command;
  decoder.Append(absl::string_view(bytes + 1, split > 0 ? split - 1 : 0));
  while (decoder.Next(&command) == FrameDecoder::Result::kFrame) {
    // Re-encoding a decoded frame must decode to the same frame.
    FrameDecoder again;
    again.Append(cometmq::remoting::EncodeFrame(command));
    Command copy;
    if (again.Next(&copy) != FrameDecoder::Result::kFrame) __builtin_trap();
    if (copy.body != command.body) __builtin_trap();
  }
  if (split < size) {
    decoder.Append(absl::string_view(bytes + split, size - split));
  }
  while (decoder.Next(&command) == FrameDecoder::Result::kFrame) {
  }
  return 0;
}
