#include "cpp/client/local_offset_file.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace cometmq::client {
namespace {

absl::Status Errno(const std::string& what, const std::string& path) {
  return absl::InternalError(
      absl::StrCat("cannot ", what, " ", path, ": ", std::strerror(errno)));
}

absl::Status MakeDirs(const std::string& dir) {
  if (dir.empty()) return absl::OkStatus();
  std::string partial;
  for (absl::string_view part : absl::StrSplit(dir, '/')) {
    absl::StrAppend(&partial, part, "/");
    if (part.empty()) continue;
    if (mkdir(partial.c_str(), 0755) != 0 && errno != EEXIST) {
      return Errno("create directory", partial);
    }
  }
  return absl::OkStatus();
}

absl::Status WriteAll(int fd, absl::string_view data, const std::string& path) {
  while (!data.empty()) {
    ssize_t n = write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return Errno("write", path);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

std::string DirOf(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

}  // namespace

std::string EncodeOffsets(const OffsetTable& table) {
  std::string out =
      "# CometMQ broadcasting offsets: topic, broker, queue id, offset\n";
  for (const auto& [queue, offset] : table) {
    absl::StrAppend(&out, queue.topic, "\t", queue.broker_name, "\t",
                    queue.queue_id, "\t", offset, "\n");
  }
  return out;
}

absl::StatusOr<OffsetTable> DecodeOffsets(absl::string_view text) {
  OffsetTable table;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    if (line.empty() || line[0] == '#') continue;
    std::vector<absl::string_view> fields = absl::StrSplit(line, '\t');
    MessageQueue queue;
    int64_t offset = 0;
    if (fields.size() != 4 || fields[0].empty() ||
        !absl::SimpleAtoi(fields[2], &queue.queue_id) ||
        !absl::SimpleAtoi(fields[3], &offset) || queue.queue_id < 0 ||
        offset < 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "line ", line_number,
          " is not `topic<TAB>broker<TAB>queue id<TAB>offset`: ", line));
    }
    queue.topic = std::string(fields[0]);
    queue.broker_name = std::string(fields[1]);
    table[queue] = offset;
  }
  return table;
}

absl::StatusOr<OffsetTable> ReadOffsetFile(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return OffsetTable{};
    return Errno("open", path);
  }
  std::string text;
  char buffer[8192];
  while (true) {
    ssize_t n = read(fd, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      absl::Status status = Errno("read", path);
      close(fd);
      return status;
    }
    if (n == 0) break;
    text.append(buffer, static_cast<size_t>(n));
  }
  close(fd);
  absl::StatusOr<OffsetTable> table = DecodeOffsets(text);
  if (!table.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("offset file ", path, ": ", table.status().message()));
  }
  return table;
}

absl::Status WriteOffsetFile(const std::string& path,
                             const OffsetTable& table) {
  const std::string dir = DirOf(path);
  if (absl::Status s = MakeDirs(dir); !s.ok()) return s;
  const std::string temp = absl::StrCat(path, ".tmp");
  int fd = open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Errno("create", temp);
  absl::Status status = WriteAll(fd, EncodeOffsets(table), temp);
  if (status.ok() && fsync(fd) != 0) status = Errno("fsync", temp);
  close(fd);
  if (!status.ok()) return status;
  if (rename(temp.c_str(), path.c_str()) != 0) return Errno("rename", temp);
  int dir_fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    fsync(dir_fd);
    close(dir_fd);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<OffsetFileLock>> OffsetFileLock::Acquire(
    const std::string& path) {
  if (absl::Status s = MakeDirs(DirOf(path)); !s.ok()) return s;
  const std::string lock_path = absl::StrCat(path, ".lock");
  int fd = open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return Errno("create", lock_path);
  while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno == EINTR) continue;
    const bool held = errno == EWOULDBLOCK;
    absl::Status status = Errno("lock", lock_path);
    close(fd);
    if (!held) return status;
    return absl::FailedPreconditionError(absl::StrCat(
        "the offset file ", path,
        " is in use by another running consumer of the group with the same "
        "instance name on this host; give each broadcasting consumer its "
        "own instance_name (or local_offset_dir)"));
  }
  return std::unique_ptr<OffsetFileLock>(new OffsetFileLock(fd));
}

OffsetFileLock::~OffsetFileLock() { close(fd_); }

}  // namespace cometmq::client
