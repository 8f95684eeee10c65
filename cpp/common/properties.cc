#include "cpp/common/properties.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace cometmq {
namespace {

// Cuts a trailing comment: a '#' or '!' that starts the value or follows
// whitespace.
absl::string_view StripInlineComment(absl::string_view value) {
  for (size_t i = 0; i < value.size(); ++i) {
    if (value[i] != '#' && value[i] != '!') continue;
    if (i == 0 || value[i - 1] == ' ' || value[i - 1] == '\t') {
      return value.substr(0, i);
    }
  }
  return value;
}

}  // namespace

std::vector<PropertyEntry> ParseProperties(absl::string_view text,
                                           absl::string_view source) {
  std::vector<PropertyEntry> entries;
  int line_number = 0;
  for (absl::string_view raw : absl::StrSplit(text, '\n')) {
    ++line_number;
    absl::string_view line = absl::StripAsciiWhitespace(raw);
    if (line.empty() || line.front() == '#' || line.front() == '!') continue;
    size_t sep = line.find_first_of("=:");
    PropertyEntry entry;
    entry.source = std::string(source);
    entry.line = line_number;
    if (sep == absl::string_view::npos) {
      entry.key = std::string(StripInlineComment(line));
      entry.key = std::string(absl::StripAsciiWhitespace(entry.key));
    } else {
      entry.key = std::string(absl::StripAsciiWhitespace(line.substr(0, sep)));
      absl::string_view value =
          StripInlineComment(absl::StripAsciiWhitespace(line.substr(sep + 1)));
      entry.value = std::string(absl::StripAsciiWhitespace(value));
    }
    entries.push_back(std::move(entry));
  }
  return entries;
}

absl::StatusOr<std::vector<PropertyEntry>> LoadPropertiesFile(
    const std::string& path) {
  auto failed = [&path](int error) {
    return absl::ErrnoToStatus(error,
                               absl::StrCat("cannot read config file ", path));
  };
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return failed(errno);
  // A directory opens and then reads as empty: a user who gave one (say a
  // cluster's conf/ folder) would silently get every default.
  struct stat st;
  if (::fstat(fd, &st) != 0 || S_ISDIR(st.st_mode)) {
    const int error = S_ISDIR(st.st_mode) ? EISDIR : errno;
    ::close(fd);
    return failed(error);
  }
  std::string text;
  char chunk[8192];
  while (true) {
    const ssize_t n = ::read(fd, chunk, sizeof(chunk));
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      const int error = errno;
      ::close(fd);
      return failed(error);
    }
    text.append(chunk, static_cast<size_t>(n));
  }
  ::close(fd);
  return ParseProperties(text, path);
}

std::vector<PropertyEntry> ExtractCommandLineOverrides(
    std::vector<std::string>* args) {
  std::vector<PropertyEntry> overrides;
  std::vector<std::string> rest;
  for (std::string& arg : *args) {
    size_t eq = arg.find('=');
    if (arg.size() > 2 && arg.compare(0, 2, "--") == 0 &&
        eq != std::string::npos && eq > 2) {
      overrides.push_back(PropertyEntry{arg.substr(2, eq - 2),
                                        arg.substr(eq + 1), "command line", 0});
    } else {
      rest.push_back(std::move(arg));
    }
  }
  *args = std::move(rest);
  return overrides;
}

}  // namespace cometmq
