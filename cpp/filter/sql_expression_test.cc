#include "cpp/filter/sql_expression.h"

#include <map>
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cometmq::filter {
namespace {

using ::testing::HasSubstr;
using Props = std::map<std::string, std::string>;

Outcome Eval(absl::string_view sql, const Props& props) {
  auto compiled = SqlExpression::Compile(sql);
  EXPECT_TRUE(compiled.ok()) << sql << ": " << compiled.status();
  if (!compiled.ok()) return Outcome::kError;
  return (*compiled)->Evaluate(
      [&](absl::string_view name) -> std::optional<absl::string_view> {
        auto it = props.find(std::string(name));
        if (it == props.end()) return std::nullopt;
        return absl::string_view(it->second);
      });
}

bool Match(absl::string_view sql, const Props& props) {
  return Eval(sql, props) == Outcome::kTrue;
}

std::string ParseError(absl::string_view sql) {
  auto compiled = SqlExpression::Compile(sql);
  EXPECT_FALSE(compiled.ok()) << sql << " compiled";
  if (compiled.ok()) return "";
  EXPECT_EQ(compiled.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(compiled.status().message());
}

TEST(SqlExpressionTest, NumericComparisonsConvertThePropertyString) {
  const Props p = {{"a", "10"}};
  EXPECT_TRUE(Match("a > 5", p));
  EXPECT_FALSE(Match("a > 10", p));
  EXPECT_TRUE(Match("a >= 10", p));
  EXPECT_TRUE(Match("a < 11", p));
  EXPECT_TRUE(Match("a <= 10", p));
  EXPECT_FALSE(Match("a < 10", p));
  EXPECT_TRUE(Match("a = 10", p));
  EXPECT_FALSE(Match("a <> 10", p));
  EXPECT_TRUE(Match("a <> 11", p));
  EXPECT_TRUE(Match("5 < a", p));
}

TEST(SqlExpressionTest, DoubleConstantsCompareAsDoubles) {
  EXPECT_TRUE(Match("a > 9.5", {{"a", "10"}}));
  EXPECT_TRUE(Match("a < 10.25", {{"a", "10.2"}}));
  EXPECT_TRUE(Match("a = 1.5E2", {{"a", "150"}}));
  EXPECT_TRUE(Match("a > .5", {{"a", "0.75"}}));
  EXPECT_TRUE(Match("a = 3.0", {{"a", "3"}}));
}

TEST(SqlExpressionTest, LongConstantNeedsALongProperty) {
  // As RocketMQ: Long.valueOf("5.5") throws, so the message is not matched.
  EXPECT_EQ(Eval("a > 5", {{"a", "5.5"}}), Outcome::kError);
  EXPECT_EQ(Eval("a > 5", {{"a", "abc"}}), Outcome::kError);
  EXPECT_EQ(Eval("a = 5", {{"a", " 5"}}), Outcome::kError);
  EXPECT_TRUE(Match("a = -5", {{"a", "-5"}}));
  EXPECT_TRUE(Match("a = 5", {{"a", "+5"}}));
  EXPECT_TRUE(Match("a = 5L", {{"a", "5"}}));
}

TEST(SqlExpressionTest, AnErrorFailsTheWholeExpressionUnlessShortCircuited) {
  const Props p = {{"a", "abc"}, {"b", "x"}};
  EXPECT_EQ(Eval("a > 5 OR b = 'x'", p), Outcome::kError);
  EXPECT_TRUE(Match("b = 'x' OR a > 5", p));
  EXPECT_FALSE(Match("b = 'y' AND a > 5", p));
}

TEST(SqlExpressionTest, StringEqualityAndEscapes) {
  EXPECT_TRUE(Match("region = 'eu'", {{"region", "eu"}}));
  EXPECT_FALSE(Match("region = 'eu'", {{"region", "EU"}}));
  EXPECT_TRUE(Match("region <> 'eu'", {{"region", "us"}}));
  EXPECT_TRUE(Match("s = 'it''s'", {{"s", "it's"}}));
  EXPECT_TRUE(Match("s = ''", {{"s", ""}}));
  EXPECT_TRUE(Match("s = 'a b  c'", {{"s", "a b  c"}}));
}

TEST(SqlExpressionTest, MissingPropertyIsUnknownAndNotOfUnknownIsNotTrue) {
  const Props none;
  EXPECT_EQ(Eval("a > 5", none), Outcome::kUnknown);
  EXPECT_EQ(Eval("a = 'x'", none), Outcome::kUnknown);
  EXPECT_EQ(Eval("NOT (a > 5)", none), Outcome::kUnknown);
  EXPECT_EQ(Eval("a <> 'x'", none), Outcome::kUnknown);
  EXPECT_EQ(Eval("a IN ('x')", none), Outcome::kUnknown);
  EXPECT_EQ(Eval("a NOT IN ('x')", none), Outcome::kUnknown);
  EXPECT_EQ(Eval("a BETWEEN 1 AND 2", none), Outcome::kUnknown);
  EXPECT_FALSE(Match("a NOT BETWEEN 1 AND 2", none));
}

TEST(SqlExpressionTest, ThreeValuedAndOr) {
  const Props p = {{"b", "1"}};
  EXPECT_TRUE(Match("a > 5 OR b = 1", p));
  EXPECT_EQ(Eval("a > 5 OR b = 2", p), Outcome::kUnknown);
  EXPECT_EQ(Eval("a > 5 AND b = 1", p), Outcome::kUnknown);
  EXPECT_EQ(Eval("b = 2 AND a > 5", p), Outcome::kFalse);
  // RocketMQ's AND stops at an unknown left side: unknown, not false.
  EXPECT_EQ(Eval("a > 5 AND b = 2", p), Outcome::kUnknown);
  EXPECT_EQ(Eval("NOT (a > 5 AND b = 2)", p), Outcome::kUnknown);
}

TEST(SqlExpressionTest, IsNullAndIsNotNull) {
  EXPECT_TRUE(Match("a IS NULL", {}));
  EXPECT_FALSE(Match("a IS NULL", {{"a", "1"}}));
  EXPECT_TRUE(Match("a IS NOT NULL", {{"a", ""}}));
  EXPECT_FALSE(Match("a IS NOT NULL", {}));
  EXPECT_TRUE(Match("a is not null and a = 'x'", {{"a", "x"}}));
}

TEST(SqlExpressionTest, Between) {
  EXPECT_TRUE(Match("a BETWEEN 1 AND 3", {{"a", "1"}}));
  EXPECT_TRUE(Match("a BETWEEN 1 AND 3", {{"a", "3"}}));
  EXPECT_FALSE(Match("a BETWEEN 1 AND 3", {{"a", "4"}}));
  EXPECT_TRUE(Match("a NOT BETWEEN 1 AND 3", {{"a", "4"}}));
  EXPECT_TRUE(Match("a NOT BETWEEN 1 AND 3", {{"a", "0"}}));
  EXPECT_FALSE(Match("a NOT BETWEEN 1 AND 3", {{"a", "2"}}));
  EXPECT_TRUE(Match("a BETWEEN -1.5 AND 1.5", {{"a", "-1"}}));
  EXPECT_TRUE(Match("a BETWEEN 0 AND 3 AND b = 'y'", {{"a", "2"}, {"b", "y"}}));
}

TEST(SqlExpressionTest, InAndNotIn) {
  EXPECT_TRUE(Match("TAGS IN ('A', 'B')", {{"TAGS", "B"}}));
  EXPECT_FALSE(Match("TAGS IN ('A', 'B')", {{"TAGS", "C"}}));
  EXPECT_TRUE(Match("TAGS NOT IN ('A', 'B')", {{"TAGS", "C"}}));
  EXPECT_FALSE(Match("TAGS NOT IN ('A','B')", {{"TAGS", "A"}}));
  EXPECT_TRUE(Match("n IN ('1')", {{"n", "1"}}));
}

TEST(SqlExpressionTest, BooleanConstantsAndCasts) {
  EXPECT_TRUE(Match("TRUE", {}));
  EXPECT_FALSE(Match("FALSE", {}));
  EXPECT_TRUE(Match("NOT FALSE", {}));
  EXPECT_TRUE(Match("flag = TRUE", {{"flag", "true"}}));
  EXPECT_TRUE(Match("flag = TRUE", {{"flag", "TRUE"}}));
  EXPECT_FALSE(Match("flag = TRUE", {{"flag", "yes"}}));
  EXPECT_TRUE(Match("flag = FALSE", {{"flag", "no"}}));
  // A bare property is a boolean cast: a string is never TRUE.
  EXPECT_FALSE(Match("flag", {{"flag", "true"}}));
  EXPECT_EQ(Eval("flag", {}), Outcome::kUnknown);
  EXPECT_EQ(Eval("NULL", {}), Outcome::kUnknown);
}

TEST(SqlExpressionTest, ContainsStartsWithEndsWith) {
  const Props p = {{"s", "hello world"}};
  EXPECT_TRUE(Match("s CONTAINS 'lo w'", p));
  EXPECT_FALSE(Match("s CONTAINS 'xyz'", p));
  EXPECT_TRUE(Match("s NOT CONTAINS 'xyz'", p));
  EXPECT_TRUE(Match("s STARTSWITH 'hell'", p));
  EXPECT_TRUE(Match("s ENDSWITH 'world'", p));
  EXPECT_TRUE(Match("s NOT STARTSWITH 'world'", p));
  EXPECT_FALSE(Match("s NOT ENDSWITH 'd'", p));
  EXPECT_EQ(Eval("x CONTAINS 'a'", p), Outcome::kUnknown);
}

TEST(SqlExpressionTest, PrecedenceAndParentheses) {
  const Props p = {{"a", "1"}, {"b", "2"}, {"c", "3"}};
  EXPECT_TRUE(Match("a = 1 OR b = 9 AND c = 9", p));
  EXPECT_FALSE(Match("(a = 1 OR b = 9) AND c = 9", p));
  EXPECT_TRUE(Match("NOT (a = 2) AND (b = 2)", p));
  EXPECT_TRUE(Match("((((a = 1))))", p));
}

TEST(SqlExpressionTest, TwoPropertiesCompareAsNumbers) {
  EXPECT_TRUE(Match("a < b", {{"a", "9"}, {"b", "10"}}));
  EXPECT_EQ(Eval("a < b", {{"a", "x"}, {"b", "10"}}), Outcome::kError);
  // Equality of two properties is string equality.
  EXPECT_FALSE(Match("a = b", {{"a", "10"}, {"b", "10.0"}}));
  EXPECT_TRUE(Match("a = b", {{"a", "z"}, {"b", "z"}}));
}

TEST(SqlExpressionTest, KeywordsAreCaseInsensitivePropertiesAreNot) {
  EXPECT_TRUE(Match("a between 1 and 2 or A in ('q')", {{"a", "1"}}));
  EXPECT_EQ(Eval("A = 1", {{"a", "1"}}), Outcome::kUnknown);
  EXPECT_TRUE(Match("$x_1 = 'y'", {{"$x_1", "y"}}));
}

TEST(SqlExpressionTest, CommentsAndWhitespace) {
  EXPECT_TRUE(Match("a = 1 /* and b */\n\t-- trailing\n", {{"a", "1"}}));
}

TEST(SqlExpressionTest, NegativeAndUnaryPlus) {
  EXPECT_TRUE(Match("a > -5", {{"a", "-4"}}));
  EXPECT_TRUE(Match("a = +5", {{"a", "5"}}));
  EXPECT_TRUE(
      Match("a = -9223372036854775808", {{"a", "-9223372036854775808"}}));
  // Negating a property gives unknown (its value is a string).
  EXPECT_EQ(Eval("-a = 5", {{"a", "-5"}}), Outcome::kUnknown);
}

TEST(SqlExpressionTest, ParseErrorsNameThePosition) {
  EXPECT_THAT(ParseError("a > 'x'"), HasSubstr("position 5"));
  EXPECT_THAT(ParseError("a > 'x'"), HasSubstr("cannot be compared"));
  EXPECT_THAT(ParseError("a >= TRUE"), HasSubstr("cannot be compared"));
  EXPECT_THAT(ParseError("a < NULL"), HasSubstr("cannot be compared"));
  EXPECT_THAT(ParseError("a BETWEEN 'a' AND 'b'"),
              HasSubstr("cannot be compared"));
  EXPECT_THAT(ParseError("a = NULL"), HasSubstr("IS NULL"));
  EXPECT_THAT(ParseError("TRUE = 5"), HasSubstr("cannot be compared"));
  EXPECT_THAT(ParseError("(a > 1) > 2"), HasSubstr("cannot be compared"));
  EXPECT_THAT(ParseError("a BETWEEN 3 AND 1"),
              HasSubstr("must be less than or equal"));
  EXPECT_THAT(ParseError("a BETWEEN NULL AND 1"), HasSubstr("NULL"));
  EXPECT_THAT(ParseError("'x' IN ('x')"), HasSubstr("property for IN"));
  EXPECT_THAT(ParseError("a IN (1, 2)"), HasSubstr("'string' literal"));
  EXPECT_THAT(ParseError("a IN ()"), HasSubstr("position 7"));
  EXPECT_THAT(ParseError("a = 'x"), HasSubstr("unterminated string"));
  EXPECT_THAT(ParseError("a != 1"), HasSubstr("unexpected character '!'"));
  EXPECT_THAT(ParseError("a = 1 AND"), HasSubstr("end of expression"));
  EXPECT_THAT(ParseError("(a = 1"), HasSubstr("expected ')'"));
  EXPECT_THAT(ParseError("a = 1 b = 2"), HasSubstr("position 7"));
  EXPECT_THAT(ParseError("5"), HasSubstr("will not result in a boolean"));
  EXPECT_THAT(ParseError("'x'"), HasSubstr("will not result in a boolean"));
  EXPECT_THAT(ParseError("a = 1 AND 5"),
              HasSubstr("will not result in a boolean"));
  EXPECT_THAT(ParseError("a = 99999999999999999999"),
              HasSubstr("out of the long range"));
  EXPECT_THAT(ParseError("a = 05"), HasSubstr("leading zeros"));
  EXPECT_THAT(ParseError("   "), HasSubstr("empty"));
  EXPECT_THAT(ParseError(""), HasSubstr("empty"));
  EXPECT_THAT(ParseError("a = 1 /* open"), HasSubstr("unterminated comment"));
  // As RocketMQ, NOT binds tighter than comparisons: NOT a > 5 compares a
  // condition with 5.
  EXPECT_THAT(ParseError("NOT a > 5"), HasSubstr("cannot be compared"));
  EXPECT_THAT(ParseError("a CONTAINS b"), HasSubstr("'string' literal"));
}

TEST(SqlExpressionTest, HostileExpressionsAreRejectedNotOverflowed) {
  std::string deep_parens(100000, '(');
  EXPECT_THAT(ParseError(deep_parens), HasSubstr("longer than"));
  std::string nested =
      std::string(5000, '(') + "a = 1" + std::string(5000, ')');
  EXPECT_THAT(ParseError(nested), HasSubstr("nested deeper"));
  std::string nots;
  for (int i = 0; i < 1000; ++i) nots += "NOT ";
  EXPECT_THAT(ParseError(nots + "a"), HasSubstr("nested deeper"));
  std::string minus(3000, '-');
  EXPECT_FALSE(SqlExpression::Compile(minus + "a = 1").ok());
  std::string chain = "a = 1";
  for (int i = 0; i < 1000; ++i) chain += " OR a = 1";
  EXPECT_THAT(ParseError(chain), HasSubstr("nested deeper"));
  // A long but shallow selector still compiles.
  std::string wide = "a IN ('0'";
  for (int i = 1; i < 1000; ++i) absl::StrAppend(&wide, ", '", i, "'");
  wide += ")";
  EXPECT_TRUE(Match(wide, {{"a", "999"}}));
  std::string ors = "a = 0";
  for (int i = 1; i < 150; ++i) absl::StrAppend(&ors, " OR a = ", i);
  EXPECT_TRUE(Match(ors, {{"a", "149"}}));
}

TEST(SqlExpressionTest, CompiledExpressionKeepsItsText) {
  auto compiled = SqlExpression::Compile("a > 1");
  ASSERT_TRUE(compiled.ok());
  EXPECT_EQ((*compiled)->text(), "a > 1");
  EXPECT_TRUE(ValidateSql92("a > 1").ok());
  EXPECT_FALSE(ValidateSql92("a >").ok());
}

}  // namespace
}  // namespace cometmq::filter
