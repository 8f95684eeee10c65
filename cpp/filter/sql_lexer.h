#ifndef COMETMQ_FILTER_SQL_LEXER_H_
#define COMETMQ_FILTER_SQL_LEXER_H_

#include <cstddef>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace cometmq::filter {

// A token's kind: the end of the text, an identifier, a literal, a keyword
// (matched in any case) or punctuation.
enum class Tok {
  kEnd,
  kId,
  kLong,
  kDouble,
  kString,
  kNot,
  kAnd,
  kOr,
  kBetween,
  kIn,
  kTrue,
  kFalse,
  kNull,
  kIs,
  kContains,
  kStartsWith,
  kEndsWith,
  kEq,
  kNe,
  kGt,
  kGe,
  kLt,
  kLe,
  kLParen,
  kRParen,
  kComma,
  kPlus,
  kMinus,
};

// One token of an expression: its kind and its [begin, end) span in the
// text, which error messages quote and point at.
struct Token {
  Tok kind = Tok::kEnd;
  size_t begin = 0;
  size_t end = 0;
  std::string text;  // identifier name, decoded string, number image
};

// Splits `text` into tokens with RocketMQ's SelectorParser.jj lexical rules
// (keywords in any case, '' escapes in strings, -- and /* */ comments).
// Guarantees: on success the last token, and only the last, is kEnd; on
// failure the error is a SyntaxError at the offending character.
absl::StatusOr<std::vector<Token>> Tokenize(absl::string_view text);

// The InvalidArgument error for a syntax or type error at byte offset `at`
// of the expression; the message names the 1-based position.
absl::Status SyntaxError(size_t at, absl::string_view what);

}  // namespace cometmq::filter

#endif  // COMETMQ_FILTER_SQL_LEXER_H_
