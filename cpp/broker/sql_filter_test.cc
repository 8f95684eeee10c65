#include "cpp/broker/sql_filter.h"

#include <map>
#include <string>

#include "cpp/common/message_record.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cometmq::broker {
namespace {

using ::testing::HasSubstr;

TEST(SqlFilterCacheTest, CompilesOncePerGroupTopicAndExpression) {
  SqlFilterCache cache;
  auto first = cache.Get("g", "T", "a > 1");
  ASSERT_TRUE(first.ok());
  for (int i = 0; i < 100; ++i) {
    auto again = cache.Get("g", "T", "a > 1");
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(again->get(), first->get());
  }
  EXPECT_EQ(cache.compiles(), 1);
  // Another group, another topic, or a changed expression: its own entry.
  ASSERT_TRUE(cache.Get("g2", "T", "a > 1").ok());
  ASSERT_TRUE(cache.Get("g", "T2", "a > 1").ok());
  EXPECT_EQ(cache.compiles(), 3);
  auto changed = cache.Get("g", "T", "a > 2");
  ASSERT_TRUE(changed.ok());
  EXPECT_EQ((*changed)->text(), "a > 2");
  EXPECT_EQ(cache.compiles(), 4);
}

TEST(SqlFilterCacheTest, RemembersParseErrors) {
  SqlFilterCache cache;
  for (int i = 0; i < 3; ++i) {
    auto bad = cache.Get("g", "T", "a > 'x'");
    ASSERT_FALSE(bad.ok());
    EXPECT_THAT(bad.status().message(), HasSubstr("cannot be compared"));
  }
  EXPECT_EQ(cache.compiles(), 1);
}

TEST(SqlFilterCacheTest, StaysBounded) {
  SqlFilterCache cache;
  for (size_t i = 0; i < SqlFilterCache::kMaxEntries + 5; ++i) {
    ASSERT_TRUE(cache.Get(std::to_string(i), "T", "TRUE").ok());
  }
  // The table started over: the first group compiles again.
  const int64_t before = cache.compiles();
  ASSERT_TRUE(cache.Get("0", "T", "TRUE").ok());
  EXPECT_EQ(cache.compiles(), before + 1);
}

std::string Record(const std::map<std::string, std::string>& props) {
  MessageToStore m;
  m.topic = "T";
  m.body = "body";
  m.properties = EncodeProperties(props);
  std::string out(static_cast<size_t>(RecordSize(m)), '\0');
  EncodeRecord(m, StoreStamp{}, out.data());
  return out;
}

TEST(SqlMatchesRecordTest, SeesUserPropertiesAndTags) {
  auto expr = filter::SqlExpression::Compile(
      "a > 5 AND region = 'eu' AND TAGS = 'TagA'");
  ASSERT_TRUE(expr.ok());
  std::string yes = Record({{"a", "6"}, {"region", "eu"}, {"TAGS", "TagA"}});
  std::string no = Record({{"a", "6"}, {"region", "eu"}, {"TAGS", "TagB"}});
  std::string missing = Record({{"region", "eu"}, {"TAGS", "TagA"}});
  auto slice = [](const std::string& s) {
    store::RecordSlice r;
    r.data = s.data();
    r.size = static_cast<int32_t>(s.size());
    return r;
  };
  EXPECT_TRUE(SqlMatchesRecord(**expr, slice(yes)));
  EXPECT_FALSE(SqlMatchesRecord(**expr, slice(no)));
  EXPECT_FALSE(SqlMatchesRecord(**expr, slice(missing)));
  std::string garbage(40, '\x7f');
  EXPECT_FALSE(SqlMatchesRecord(**expr, slice(garbage)));
}

}  // namespace
}  // namespace cometmq::broker
