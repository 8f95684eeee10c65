#include "cpp/filter/sql_lexer.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace cometmq::filter {
namespace {

bool IsIdStart(char c) {
  return absl::ascii_isalpha(c) || c == '_' || c == '$';
}
bool IsIdPart(char c) { return IsIdStart(c) || absl::ascii_isdigit(c); }

Tok KeywordOf(absl::string_view word) {
  static constexpr std::pair<absl::string_view, Tok> kKeywords[] = {
      {"NOT", Tok::kNot},
      {"AND", Tok::kAnd},
      {"OR", Tok::kOr},
      {"BETWEEN", Tok::kBetween},
      {"IN", Tok::kIn},
      {"TRUE", Tok::kTrue},
      {"FALSE", Tok::kFalse},
      {"NULL", Tok::kNull},
      {"IS", Tok::kIs},
      {"CONTAINS", Tok::kContains},
      {"STARTSWITH", Tok::kStartsWith},
      {"ENDSWITH", Tok::kEndsWith},
  };
  for (const auto& [name, tok] : kKeywords) {
    if (absl::EqualsIgnoreCase(word, name)) return tok;
  }
  return Tok::kId;
}

// The tokenizer behind Tokenize: one pass over the text, left to right.
// Guarantees: it never reads past the text and never recurses.
class Lexer {
 public:
  explicit Lexer(absl::string_view text) : text_(text) {}

  absl::StatusOr<std::vector<Token>> Run() {
    std::vector<Token> tokens;
    while (true) {
      absl::StatusOr<Token> token = Next();
      if (!token.ok()) return token.status();
      tokens.push_back(*std::move(token));
      if (tokens.back().kind == Tok::kEnd) return tokens;
    }
  }

 private:
  absl::Status SkipSpaceAndComments() {
    while (pos_ < text_.size()) {
      const char c = text_[pos_];
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f') {
        ++pos_;
      } else if (absl::StartsWith(text_.substr(pos_), "--")) {
        while (pos_ < text_.size() && text_[pos_] != '\n' &&
               text_[pos_] != '\r') {
          ++pos_;
        }
      } else if (absl::StartsWith(text_.substr(pos_), "/*")) {
        const size_t close = text_.find("*/", pos_ + 2);
        if (close == absl::string_view::npos) {
          return SyntaxError(pos_, "unterminated comment");
        }
        pos_ = close + 2;
      } else {
        break;
      }
    }
    return absl::OkStatus();
  }

  absl::StatusOr<Token> Next() {
    if (absl::Status s = SkipSpaceAndComments(); !s.ok()) return s;
    Token token;
    token.begin = pos_;
    if (pos_ >= text_.size()) {
      token.kind = Tok::kEnd;
      token.end = pos_;
      return token;
    }
    const char c = text_[pos_];
    if (IsIdStart(c)) {
      while (pos_ < text_.size() && IsIdPart(text_[pos_])) ++pos_;
      token.text = std::string(text_.substr(token.begin, pos_ - token.begin));
      token.kind = KeywordOf(token.text);
    } else if (absl::ascii_isdigit(c) ||
               (c == '.' && pos_ + 1 < text_.size() &&
                absl::ascii_isdigit(text_[pos_ + 1]))) {
      if (absl::Status s = Number(&token); !s.ok()) return s;
    } else if (c == '\'') {
      if (absl::Status s = String(&token); !s.ok()) return s;
    } else {
      if (absl::Status s = Punctuation(&token); !s.ok()) return s;
    }
    token.end = pos_;
    return token;
  }

  absl::Status Number(Token* token) {
    const size_t start = pos_;
    while (pos_ < text_.size() && absl::ascii_isdigit(text_[pos_])) ++pos_;
    bool floating = false;
    if (pos_ < text_.size() && text_[pos_] == '.') {
      floating = true;
      ++pos_;
      while (pos_ < text_.size() && absl::ascii_isdigit(text_[pos_])) ++pos_;
    }
    // An exponent only when digits follow it, as the reference lexer.
    if (pos_ < text_.size() && (text_[pos_] == 'e' || text_[pos_] == 'E')) {
      size_t p = pos_ + 1;
      if (p < text_.size() && (text_[p] == '+' || text_[p] == '-')) ++p;
      if (p < text_.size() && absl::ascii_isdigit(text_[p])) {
        floating = true;
        pos_ = p;
        while (pos_ < text_.size() && absl::ascii_isdigit(text_[pos_])) ++pos_;
      }
    }
    token->text = std::string(text_.substr(start, pos_ - start));
    if (floating) {
      token->kind = Tok::kDouble;
      return absl::OkStatus();
    }
    if (token->text.size() > 1 && token->text[0] == '0') {
      return SyntaxError(start, absl::StrCat("invalid number '", token->text,
                                             "' (no leading zeros)"));
    }
    if (pos_ < text_.size() && (text_[pos_] == 'l' || text_[pos_] == 'L')) {
      ++pos_;
    }
    token->kind = Tok::kLong;
    return absl::OkStatus();
  }

  absl::Status String(Token* token) {
    const size_t start = pos_;
    ++pos_;
    while (true) {
      if (pos_ >= text_.size()) {
        return SyntaxError(start, "unterminated string literal");
      }
      if (text_[pos_] == '\'') {
        if (pos_ + 1 < text_.size() && text_[pos_ + 1] == '\'') {
          token->text.push_back('\'');
          pos_ += 2;
          continue;
        }
        ++pos_;
        break;
      }
      token->text.push_back(text_[pos_++]);
    }
    token->kind = Tok::kString;
    return absl::OkStatus();
  }

  absl::Status Punctuation(Token* token) {
    const char c = text_[pos_];
    const char n = pos_ + 1 < text_.size() ? text_[pos_ + 1] : '\0';
    switch (c) {
      case '=':
        token->kind = Tok::kEq;
        break;
      case '<':
        if (n == '>') {
          token->kind = Tok::kNe;
          ++pos_;
        } else if (n == '=') {
          token->kind = Tok::kLe;
          ++pos_;
        } else {
          token->kind = Tok::kLt;
        }
        break;
      case '>':
        if (n == '=') {
          token->kind = Tok::kGe;
          ++pos_;
        } else {
          token->kind = Tok::kGt;
        }
        break;
      case '(':
        token->kind = Tok::kLParen;
        break;
      case ')':
        token->kind = Tok::kRParen;
        break;
      case ',':
        token->kind = Tok::kComma;
        break;
      case '+':
        token->kind = Tok::kPlus;
        break;
      case '-':
        token->kind = Tok::kMinus;
        break;
      default: {
        std::string shown =
            absl::ascii_isprint(c)
                ? std::string(1, c)
                : absl::StrCat("\\x", absl::Hex(static_cast<unsigned char>(c),
                                                absl::kZeroPad2));
        return SyntaxError(pos_,
                           absl::StrCat("unexpected character '", shown, "'"));
      }
    }
    ++pos_;
    return absl::OkStatus();
  }

  absl::string_view text_;
  size_t pos_ = 0;
};

}  // namespace

absl::StatusOr<std::vector<Token>> Tokenize(absl::string_view text) {
  return Lexer(text).Run();
}

absl::Status SyntaxError(size_t at, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(
      "invalid SQL92 expression at position ", at + 1, ": ", what));
}

}  // namespace cometmq::filter
