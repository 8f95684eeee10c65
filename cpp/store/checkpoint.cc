#include "cpp/store/checkpoint.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "cpp/common/byte_order.h"

namespace cometmq::store {
namespace {

constexpr size_t kPage = 4096;

}  // namespace

absl::StatusOr<Checkpoint> Checkpoint::Load(const std::string& path) {
  Checkpoint c;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return c;
    return absl::InternalError(
        absl::StrCat("cannot open ", path, ": ", std::strerror(errno)));
  }
  char page[kPage] = {};
  ssize_t n = ::pread(fd, page, kPage, 0);
  ::close(fd);
  if (n < 48) return c;  // never completely written: treat as absent
  c.physic_msg_timestamp = GetBig64(page);
  c.logics_msg_timestamp = GetBig64(page + 8);
  c.index_msg_timestamp = GetBig64(page + 16);
  c.master_flushed_offset = GetBig64(page + 24);
  c.confirm_phy_offset = GetBig64(page + 32);
  c.dispatch_flushed_offset = GetBig64(page + 40);
  return c;
}

absl::Status Checkpoint::Save(const std::string& path) const {
  char page[kPage] = {};
  PutBig64(page, physic_msg_timestamp);
  PutBig64(page + 8, logics_msg_timestamp);
  PutBig64(page + 16, index_msg_timestamp);
  PutBig64(page + 24, master_flushed_offset);
  PutBig64(page + 32, confirm_phy_offset);
  PutBig64(page + 40, dispatch_flushed_offset);
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    return absl::InternalError(
        absl::StrCat("cannot open ", path, ": ", std::strerror(errno)));
  }
  // One page written in place is atomic on the filesystems we run on.
  bool ok = ::pwrite(fd, page, kPage, 0) == static_cast<ssize_t>(kPage) &&
            ::fdatasync(fd) == 0;
  int err = errno;
  ::close(fd);
  if (!ok) {
    return absl::InternalError(
        absl::StrCat("cannot write ", path, ": ", std::strerror(err)));
  }
  return absl::OkStatus();
}

}  // namespace cometmq::store
