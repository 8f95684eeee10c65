#include "cpp/broker/config_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"

namespace cometmq::broker {
namespace {

// A full disk (or quota) is ResourceExhausted, so callers and logs tell it
// from a broken file system.
absl::Status Errno(absl::string_view what, const std::string& path) {
  const int error = errno;
  std::string message =
      absl::StrCat(what, " ", path, ": ", std::strerror(error));
  if (error == ENOSPC || error == EDQUOT) {
    return absl::ResourceExhaustedError(std::move(message));
  }
  return absl::InternalError(std::move(message));
}

// Closes `fd` and removes the partial temp copy (on a full disk it holds
// space the next try needs); returns `failure`.
absl::Status Abandon(int fd, const std::string& temp, absl::Status failure) {
  if (fd >= 0) ::close(fd);
  ::unlink(temp.c_str());
  return failure;
}

absl::Status FsyncPath(const std::string& path, int flags) {
  int fd = ::open(path.c_str(), flags);
  if (fd < 0) return Errno("cannot open", path);
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return Errno("cannot fsync", path);
  return absl::OkStatus();
}

}  // namespace

absl::Status WriteFileAtomically(const std::string& path,
                                 absl::string_view content) {
  const std::filesystem::path target(path);
  std::error_code ec;
  std::filesystem::create_directories(target.parent_path(), ec);
  if (ec) {
    return absl::InternalError(absl::StrCat("cannot create directory ",
                                            target.parent_path().string(), ": ",
                                            ec.message()));
  }
  const std::string temp = absl::StrCat(path, ".tmp");
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Errno("cannot create", temp);
  size_t written = 0;
  while (written < content.size()) {
    ssize_t n = ::write(fd, content.data() + written, content.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Abandon(fd, temp, Errno("cannot write", temp));
    }
    written += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) return Abandon(fd, temp, Errno("cannot fsync", temp));
  if (::close(fd) != 0) return Abandon(-1, temp, Errno("cannot close", temp));
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    return Abandon(-1, temp, Errno("cannot rename to", path));
  }
  // The rename itself is only durable once the directory is.
  return FsyncPath(target.parent_path().string(), O_RDONLY | O_DIRECTORY);
}

absl::StatusOr<std::optional<std::string>> ReadFileIfExists(
    const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (!std::filesystem::exists(path)) return std::optional<std::string>();
    return Errno("cannot read", path);
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return Errno("cannot read", path);
  return std::optional<std::string>(text.str());
}

}  // namespace cometmq::broker
