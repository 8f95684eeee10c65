#include "cpp/admin/args.h"

#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace cometmq::admin {
namespace {

const FlagSpec* FindShort(const std::vector<FlagSpec>& specs, char letter) {
  for (const FlagSpec& spec : specs) {
    if (spec.letter == letter) return &spec;
  }
  return nullptr;
}

const FlagSpec* FindLong(const std::vector<FlagSpec>& specs,
                         absl::string_view name) {
  for (const FlagSpec& spec : specs) {
    if (spec.long_name == name) return &spec;
  }
  return nullptr;
}

}  // namespace

FlagSpec SwitchFlag(char letter, std::string long_name, std::string help) {
  FlagSpec spec;
  spec.letter = letter;
  spec.long_name = std::move(long_name);
  spec.help = std::move(help);
  spec.is_switch = true;
  return spec;
}

std::string ParsedArgs::Get(char letter, const std::string& fallback) const {
  auto it = values_.find(letter);
  return it == values_.end() ? fallback : it->second;
}

absl::StatusOr<int64_t> ParsedArgs::GetInt(char letter,
                                           int64_t fallback) const {
  auto it = values_.find(letter);
  if (it == values_.end()) return fallback;
  int64_t value = 0;
  if (!absl::SimpleAtoi(it->second, &value)) {
    return absl::InvalidArgumentError(absl::StrCat("-", std::string(1, letter),
                                                   " needs an integer, got '",
                                                   it->second, "'"));
  }
  return value;
}

absl::StatusOr<ParsedArgs> ParseArgs(const std::vector<FlagSpec>& specs,
                                     const std::vector<std::string>& args,
                                     const std::string& env_namesrv) {
  ParsedArgs parsed;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--json") {
      parsed.json_ = true;
      continue;
    }
    if (arg == "-h" || arg == "--help") {
      parsed.help_ = true;
      continue;
    }
    const FlagSpec* spec = nullptr;
    std::string value;
    bool has_value = false;
    if (absl::string_view(arg).substr(0, 2) == "--" && arg.size() > 2) {
      absl::string_view name = absl::string_view(arg).substr(2);
      size_t eq = name.find('=');
      if (eq != absl::string_view::npos) {
        value = std::string(name.substr(eq + 1));
        has_value = true;
        name = name.substr(0, eq);
      }
      spec = FindLong(specs, name);
    } else if (arg.size() >= 2 && arg[0] == '-') {
      spec = FindShort(specs, arg[1]);
      if (spec != nullptr && arg.size() > 2) {
        value = arg.substr(2);  // -tTopic
        has_value = true;
      }
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("unexpected argument '", arg, "'"));
    }
    if (spec == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown option '", arg, "'"));
    }
    if (spec->is_switch) {
      if (has_value) {
        return absl::InvalidArgumentError(
            absl::StrCat("option '-", std::string(1, spec->letter),
                         "' takes no value, got '", arg, "'"));
      }
      parsed.values_[spec->letter] = "true";
      continue;
    }
    if (!has_value) {
      if (i + 1 >= args.size()) {
        return absl::InvalidArgumentError(
            absl::StrCat("option '", arg, "' needs a value"));
      }
      value = args[++i];
    }
    parsed.values_[spec->letter] = value;
  }
  if (FindShort(specs, 'n') != nullptr && !parsed.Has('n') &&
      !env_namesrv.empty()) {
    parsed.values_['n'] = env_namesrv;
  }
  if (!parsed.help_) {
    for (const FlagSpec& spec : specs) {
      if (!spec.required || parsed.Has(spec.letter)) continue;
      std::string hint = spec.letter == 'n' ? " (or set NAMESRV_ADDR)" : "";
      return absl::InvalidArgumentError(
          absl::StrCat("missing option -", std::string(1, spec.letter), " ",
                       spec.value_name, hint));
    }
  }
  return parsed;
}

}  // namespace cometmq::admin
