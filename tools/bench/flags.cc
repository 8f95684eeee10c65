#include "tools/bench/flags.h"

#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"

namespace cometmq::bench {

bool ParseFlags(int argc, char** argv, const ConfigBinder& flags) {
  std::vector<std::string> args(argv + 1, argv + argc);
  std::vector<std::string> warnings;
  absl::Status status =
      flags.Apply(ExtractCommandLineOverrides(&args), &warnings);
  for (const std::string& w : warnings) {
    std::fprintf(stderr, "warning: %s\n", w.c_str());
  }
  if (status.ok() && args.empty()) return true;
  std::string why = status.ok()
                        ? absl::StrCat("unexpected argument: ", args.front())
                        : status.ToString();
  std::fprintf(stderr, "%s\nflags (--name=value):\n%s", why.c_str(),
               flags.Dump().c_str());
  return false;
}

}  // namespace cometmq::bench
