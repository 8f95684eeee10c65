#include "cpp/client/compression.h"

#include <zlib.h>

#include "absl/strings/str_cat.h"

namespace cometmq::client {

std::string Compress(absl::string_view data, int level) {
  uLongf size = compressBound(static_cast<uLong>(data.size()));
  std::string out(size, '\0');
  // compress2 fails only on bad levels or a too small buffer, neither of
  // which can happen with compressBound and a valid level.
  compress2(reinterpret_cast<Bytef*>(out.data()), &size,
            reinterpret_cast<const Bytef*>(data.data()),
            static_cast<uLong>(data.size()), level);
  out.resize(size);
  return out;
}

absl::StatusOr<std::string> Uncompress(absl::string_view data) {
  z_stream stream{};
  if (inflateInit(&stream) != Z_OK) {
    return absl::InternalError("inflateInit failed");
  }
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  stream.avail_in = static_cast<uInt>(data.size());
  std::string out;
  char buffer[16384];
  int rc = Z_OK;
  while (rc == Z_OK) {
    stream.next_out = reinterpret_cast<Bytef*>(buffer);
    stream.avail_out = sizeof(buffer);
    rc = inflate(&stream, Z_NO_FLUSH);
    out.append(buffer, sizeof(buffer) - stream.avail_out);
    if (rc == Z_BUF_ERROR && stream.avail_in == 0) break;  // truncated
  }
  inflateEnd(&stream);
  if (rc != Z_STREAM_END || stream.avail_in != 0) {
    return absl::DataLossError(absl::StrCat(
        "body is not a complete zlib stream (zlib code ", rc, ")"));
  }
  return out;
}

}  // namespace cometmq::client
