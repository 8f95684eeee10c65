#include "cpp/store/mapped_file_queue.h"

#include <algorithm>
#include <filesystem>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "spdlog/spdlog.h"

namespace cometmq::store {

namespace fs = std::filesystem;

MappedFileQueue::MappedFileQueue(std::string dir, int64_t file_size)
    : dir_(std::move(dir)), file_size_(file_size) {}

absl::Status MappedFileQueue::Load() {
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec) {
    return absl::InternalError(
        absl::StrCat("cannot create ", dir_, ": ", ec.message()));
  }
  std::vector<std::pair<int64_t, std::string>> found;
  for (const auto& entry : fs::directory_iterator(dir_, ec)) {
    std::string name = entry.path().filename().string();
    if (absl::EndsWith(name, ".creating")) {
      // A segment whose creation a crash interrupted; never written to.
      fs::remove(entry.path(), ec);
      continue;
    }
    int64_t start;
    if (name.size() != 20 || !absl::SimpleAtoi(name, &start)) continue;
    found.emplace_back(start, entry.path().string());
  }
  std::sort(found.begin(), found.end());
  std::vector<std::shared_ptr<MappedFile>> files;
  for (size_t i = 0; i < found.size(); ++i) {
    const auto& [start, path] = found[i];
    if (start % file_size_ != 0 ||
        (i > 0 && start != found[i - 1].first + file_size_)) {
      return absl::DataLossError(absl::StrCat(
          path, " does not follow the previous segment (segment size ",
          file_size_, "); was the segment size changed?"));
    }
    if (static_cast<int64_t>(fs::file_size(path, ec)) != file_size_) {
      return absl::DataLossError(
          absl::StrCat(path, " is not ", file_size_,
                       " bytes; was the segment size changed?"));
    }
    absl::StatusOr<std::shared_ptr<MappedFile>> file =
        MappedFile::Open(path, start, file_size_);
    if (!file.ok()) return file.status();
    (*file)->set_wrote_position(file_size_);
    (*file)->set_flushed_position(file_size_);
    files.push_back(*std::move(file));
  }
  absl::MutexLock lock(&mu_);
  files_ = std::move(files);
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<MappedFile>> MappedFileQueue::LastFileForWrite(
    int64_t start_if_empty) {
  int64_t start;
  {
    absl::ReaderMutexLock lock(&mu_);
    if (!files_.empty() && !files_.back()->full()) return files_.back();
    start = files_.empty() ? start_if_empty - start_if_empty % file_size_
                           : files_.back()->start_offset() + file_size_;
  }
  absl::StatusOr<std::shared_ptr<MappedFile>> file = MappedFile::Open(
      absl::StrCat(dir_, "/", OffsetToFileName(start)), start, file_size_);
  if (!file.ok()) return file.status();
  absl::MutexLock lock(&mu_);
  if (files_.empty()) flushed_where_.store(start);
  files_.push_back(*file);
  return *file;
}

std::shared_ptr<MappedFile> MappedFileQueue::LastFile() const {
  absl::ReaderMutexLock lock(&mu_);
  return files_.empty() ? nullptr : files_.back();
}

std::shared_ptr<MappedFile> MappedFileQueue::FirstFile() const {
  absl::ReaderMutexLock lock(&mu_);
  return files_.empty() ? nullptr : files_.front();
}

std::shared_ptr<MappedFile> MappedFileQueue::FindByOffset(
    int64_t offset) const {
  absl::ReaderMutexLock lock(&mu_);
  if (files_.empty() || offset < files_.front()->start_offset()) return nullptr;
  size_t index = static_cast<size_t>((offset - files_.front()->start_offset()) /
                                     file_size_);
  if (index >= files_.size()) return nullptr;
  return files_[index];
}

std::vector<std::shared_ptr<MappedFile>> MappedFileQueue::Files() const {
  absl::ReaderMutexLock lock(&mu_);
  return files_;
}

int64_t MappedFileQueue::MinOffset() const {
  absl::ReaderMutexLock lock(&mu_);
  return files_.empty() ? 0 : files_.front()->start_offset();
}

int64_t MappedFileQueue::MaxOffset() const {
  absl::ReaderMutexLock lock(&mu_);
  return files_.empty()
             ? 0
             : files_.back()->start_offset() + files_.back()->wrote_position();
}

absl::StatusOr<int64_t> MappedFileQueue::Flush(int least_pages) {
  while (true) {
    int64_t where = flushed_where_.load();
    if (std::shared_ptr<MappedFile> first = FirstFile();
        first != nullptr && where < first->start_offset()) {
      // Retention deleted segments this flush had not reached (forced
      // deletion in ASYNC_FLUSH, consume queue files): nothing of them is
      // left to flush, and no segment holds `where` any more.
      where = first->start_offset();
      flushed_where_.store(where);
    }
    std::shared_ptr<MappedFile> file = FindByOffset(where);
    if (file == nullptr) {
      // Exactly at the end of a full last file, or an empty queue.
      return where;
    }
    absl::StatusOr<int64_t> flushed = file->Flush(least_pages);
    if (!flushed.ok()) return flushed.status();
    int64_t now = file->start_offset() + *flushed;
    flushed_where_.store(now);
    if (*flushed < file->size() || now == where) return now;
  }
}

absl::Status MappedFileQueue::TruncateTo(int64_t offset, bool zero_tail) {
  std::vector<std::shared_ptr<MappedFile>> doomed;
  std::shared_ptr<MappedFile> last;
  {
    absl::MutexLock lock(&mu_);
    while (!files_.empty() && files_.back()->start_offset() >= offset &&
           !(files_.back()->start_offset() == offset && files_.size() == 1)) {
      doomed.push_back(files_.back());
      files_.pop_back();
    }
    if (!files_.empty()) last = files_.back();
  }
  for (auto& f : doomed) {
    spdlog::warn("removing {}: it lies past the recovered end {}", f->path(),
                 offset);
    f->Unlink();
  }
  if (last != nullptr) {
    int64_t position = std::min(offset - last->start_offset(), last->size());
    if (zero_tail && position < last->size()) {
      absl::Status s = last->ZeroFrom(position);
      if (!s.ok()) return s;
    }
    last->set_wrote_position(position);
    last->set_flushed_position(position);
  }
  flushed_where_.store(offset);
  return absl::OkStatus();
}

int MappedFileQueue::DeleteFromFront(
    const std::function<bool(const MappedFile&)>& expired, int max_files) {
  std::vector<std::shared_ptr<MappedFile>> doomed;
  {
    absl::MutexLock lock(&mu_);
    size_t n = 0;
    while (n + 1 < files_.size() && static_cast<int>(n) < max_files &&
           expired(*files_[n])) {
      ++n;
    }
    doomed.assign(files_.begin(), files_.begin() + static_cast<long>(n));
    files_.erase(files_.begin(), files_.begin() + static_cast<long>(n));
  }
  for (auto& f : doomed) {
    spdlog::info("deleting expired file {}", f->path());
    f->Unlink();
  }
  return static_cast<int>(doomed.size());
}

}  // namespace cometmq::store

namespace cometmq::store {

void MappedFileQueue::DestroyAll() {
  std::vector<std::shared_ptr<MappedFile>> files;
  {
    absl::MutexLock lock(&mu_);
    files.swap(files_);
  }
  for (auto& f : files) f->Unlink();
  std::error_code ec;
  fs::remove(dir_, ec);
}

}  // namespace cometmq::store
