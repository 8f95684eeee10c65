#ifndef COMETMQ_CLIENT_COMPRESSION_H_
#define COMETMQ_CLIENT_COMPRESSION_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace cometmq::client {

// zlib streams, the reference system's default body compression. Guarantee:
// Uncompress(Compress(x)) == x; Uncompress refuses input that is not one
// complete zlib stream.
std::string Compress(absl::string_view data, int level = 5);
absl::StatusOr<std::string> Uncompress(absl::string_view data);

}  // namespace cometmq::client

#endif  // COMETMQ_CLIENT_COMPRESSION_H_
