#include <cmath>

#include "cpp/admin/json.h"
#include "cpp/admin/table.h"
#include "gtest/gtest.h"

namespace cometmq::admin {
namespace {

TEST(TableTest, PadsColumnsToTheWidestCell) {
  Table table({"#Name", "#QID", "#Offset"});
  table.AddRow({"broker-a", "0", "12"});
  table.AddRow({"b", "10"});  // short rows get empty cells
  EXPECT_EQ(table.rows(), 2u);
  EXPECT_EQ(table.Render(),
            "#Name     #QID  #Offset\n"
            "broker-a  0     12\n"
            "b         10\n");
}

TEST(TableTest, HeaderOnlyWhenEmpty) {
  Table table({"#A", "#B"});
  EXPECT_EQ(table.Render(), "#A  #B\n");
}

TEST(JsonTest, SerializesNestedValues) {
  JsonValue json = JsonValue::Object();
  JsonValue list = JsonValue::Array();
  list.Push(JsonValue::Int(-3)).Push(JsonValue::Bool(true)).Push(JsonValue());
  json.Set("name", JsonValue::String("t"))
      .Set("list", std::move(list))
      .Set("empty", JsonValue::Object());
  EXPECT_EQ(json.Serialize(),
            R"({"name":"t","list":[-3,true,null],"empty":{}})");
}

TEST(JsonTest, DoublesHaveTwoDecimalsAndNoNaN) {
  JsonValue list = JsonValue::Array();
  list.Push(JsonValue::Double(12.345))
      .Push(JsonValue::Double(0))
      .Push(JsonValue::Double(std::nan("")))
      .Push(JsonValue::Double(1.0 / 0.0));
  EXPECT_EQ(list.Serialize(), "[12.35,0.00,null,null]");
}

TEST(JsonTest, EscapesStrings) {
  EXPECT_EQ(JsonQuote("a\"b\\c\nd\te"), R"("a\"b\\c\nd\te")");
  EXPECT_EQ(JsonQuote(std::string("\x01", 1)), R"("\u0001")");
  EXPECT_EQ(JsonQuote("h\xc3\xa9"), "\"h\xc3\xa9\"");
}

}  // namespace
}  // namespace cometmq::admin
