#include "cpp/store/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace cometmq::store {
namespace {

// The unit of flushCommitLogLeastPages and of zeroing, as in RocketMQ.
constexpr int64_t kPageSize = 4096;

// msync and madvise want addresses aligned to the system's page, which is
// larger than kPageSize on some kernels (16 or 64 KiB on arm64, ppc64).
int64_t RoundDownToSystemPage(int64_t offset) {
  static const int64_t page = ::sysconf(_SC_PAGESIZE);
  return offset / page * page;
}

// Linux 5.14; older C libraries do not name it.
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

absl::Status ErrnoStatus(absl::string_view what, const std::string& path) {
  int err = errno;
  std::string message = absl::StrCat(what, " ", path, ": ", std::strerror(err));
  if (err == ENOSPC || err == EDQUOT) {
    return absl::ResourceExhaustedError(message);
  }
  return absl::InternalError(message);
}

}  // namespace

std::string OffsetToFileName(int64_t offset) {
  return absl::StrFormat("%020d", offset);
}

absl::Status SyncParentDirectory(const std::string& path) {
  const size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "."
                          : slash == 0               ? "/"
                                                     : path.substr(0, slash);
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("cannot open directory", dir);
  const bool ok = ::fsync(fd) == 0;
  absl::Status s = ok ? absl::OkStatus() : ErrnoStatus("cannot sync", dir);
  ::close(fd);
  return s;
}

namespace {

// Creates `path` at its full size under a temporary name and renames it into
// place, so a crash never leaves a segment shorter than its size under the
// real name. The rename is put on disk before the file is used: otherwise a
// power cut could leave flushed records under the temporary name, which the
// next start deletes. Returns the open descriptor.
absl::StatusOr<int> CreateFull(const std::string& path, int64_t size) {
  const std::string tmp = path + ".creating";
  int fd = ::open(tmp.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoStatus("cannot create", tmp);
  if (int err = ::posix_fallocate(fd, 0, size); err != 0) {
    errno = err;
    absl::Status s = ErrnoStatus("cannot reserve space for", path);
    ::close(fd);
    ::unlink(tmp.c_str());
    return s;
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    absl::Status s = ErrnoStatus("cannot rename into place", path);
    ::close(fd);
    ::unlink(tmp.c_str());
    return s;
  }
  if (absl::Status s = SyncParentDirectory(path); !s.ok()) {
    ::close(fd);
    ::unlink(path.c_str());
    return s;
  }
  return fd;
}

}  // namespace

absl::StatusOr<std::shared_ptr<MappedFile>> MappedFile::Open(
    const std::string& path, int64_t start_offset, int64_t size) {
  int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT) {
    absl::StatusOr<int> created = CreateFull(path, size);
    if (!created.ok()) return created.status();
    fd = *created;
  }
  if (fd < 0) return ErrnoStatus("cannot open", path);
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    absl::Status s = ErrnoStatus("cannot stat", path);
    ::close(fd);
    return s;
  }
  if (st.st_size != size) {
    if (st.st_size > size) {
      ::close(fd);
      return absl::FailedPreconditionError(
          absl::StrCat(path, " is ", st.st_size,
                       " bytes, larger than the segment size ", size));
    }
    int err = ::posix_fallocate(fd, 0, size);
    if (err != 0) {
      errno = err;
      absl::Status s = ErrnoStatus("cannot reserve space for", path);
      ::close(fd);
      if (st.st_size == 0) ::unlink(path.c_str());
      return s;
    }
  }
  void* data = ::mmap(nullptr, static_cast<size_t>(size),
                      PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (data == MAP_FAILED) {
    absl::Status s = ErrnoStatus("cannot map", path);
    ::close(fd);
    return s;
  }
  return std::shared_ptr<MappedFile>(
      new MappedFile(path, start_offset, size, fd, static_cast<char*>(data)));
}

MappedFile::MappedFile(std::string path, int64_t start_offset, int64_t size,
                       int fd, char* data)
    : path_(std::move(path)),
      start_offset_(start_offset),
      size_(size),
      fd_(fd),
      data_(data) {}

MappedFile::~MappedFile() {
  ::munmap(data_, static_cast<size_t>(size_));
  ::close(fd_);
}

void MappedFile::Unlink() { ::unlink(path_.c_str()); }

bool MappedFile::Append(absl::string_view bytes) {
  int64_t pos = wrote_position();
  if (pos + static_cast<int64_t>(bytes.size()) > size_) return false;
  std::memcpy(data_ + pos, bytes.data(), bytes.size());
  set_wrote_position(pos + static_cast<int64_t>(bytes.size()));
  return true;
}

absl::Status MappedFile::WriteAt(int64_t position, absl::string_view bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n =
        ::pwrite(fd_, bytes.data() + done, bytes.size() - done,
                 static_cast<off_t>(position) + static_cast<off_t>(done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("cannot write", path_);
    }
    done += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

absl::Status MappedFile::Prefault(int64_t from, int64_t to) {
  from = RoundDownToSystemPage(std::max<int64_t>(0, from));
  to = std::min(size_, to);
  if (to <= from) return absl::OkStatus();
  if (::madvise(data_ + from, static_cast<size_t>(to - from),
                MADV_POPULATE_WRITE) != 0) {
    if (errno == EINVAL) {
      return absl::InvalidArgumentError(
          "this kernel cannot prefault mappings (MADV_POPULATE_WRITE)");
    }
    return ErrnoStatus("cannot prefault", path_);
  }
  return absl::OkStatus();
}

absl::StatusOr<int64_t> MappedFile::Flush(int least_pages) {
  int64_t wrote = wrote_position();
  int64_t flushed = flushed_position();
  if (wrote <= flushed) return flushed;
  // A full segment gets no more dirty pages: its last ones go now, as in
  // RocketMQ, or they would hold back the flush of the next segment.
  if (least_pages > 0 && wrote < size_ &&
      wrote / kPageSize - flushed / kPageSize < least_pages) {
    return flushed;
  }
  int64_t begin = RoundDownToSystemPage(flushed);
  if (::msync(data_ + begin, static_cast<size_t>(wrote - begin), MS_SYNC) !=
      0) {
    return ErrnoStatus("cannot flush", path_);
  }
  set_flushed_position(wrote);
  return wrote;
}

absl::Status MappedFile::SyncRange(int64_t position, int64_t size) {
  const int64_t begin = RoundDownToSystemPage(position);
  if (::msync(data_ + begin, static_cast<size_t>(position + size - begin),
              MS_SYNC) != 0) {
    return ErrnoStatus("cannot flush", path_);
  }
  return absl::OkStatus();
}

absl::Status MappedFile::SyncAll() {
  if (::msync(data_, static_cast<size_t>(size_), MS_SYNC) != 0) {
    return ErrnoStatus("cannot flush", path_);
  }
  return absl::OkStatus();
}

absl::Status MappedFile::ZeroFrom(int64_t position) {
  static const char kZeros[kPageSize] = {};
  int64_t first_dirty = -1;
  int64_t last_dirty = -1;
  for (int64_t pos = position; pos < size_;) {
    int64_t page_end = std::min(size_, (pos / kPageSize + 1) * kPageSize);
    size_t n = static_cast<size_t>(page_end - pos);
    if (std::memcmp(data_ + pos, kZeros, n) != 0) {
      std::memset(data_ + pos, 0, n);
      if (first_dirty < 0) first_dirty = pos;
      last_dirty = page_end;
    }
    pos = page_end;
  }
  if (first_dirty >= 0) {
    int64_t begin = RoundDownToSystemPage(first_dirty);
    if (::msync(data_ + begin, static_cast<size_t>(last_dirty - begin),
                MS_SYNC) != 0) {
      return ErrnoStatus("cannot flush", path_);
    }
  }
  return absl::OkStatus();
}

int64_t MappedFile::ModifiedTimeSeconds() const {
  struct stat st;
  if (::fstat(fd_, &st) != 0) return 0;
  return st.st_mtim.tv_sec;
}

}  // namespace cometmq::store
