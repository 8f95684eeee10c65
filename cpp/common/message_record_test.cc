#include "cpp/common/message_record.h"

#include <map>
#include <string>
#include <vector>

#include "cpp/common/byte_order.h"
#include "cpp/common/crc32.h"
#include "gtest/gtest.h"

namespace cometmq {
namespace {

MessageToStore MakeMessage(const std::string& topic, int32_t queue_id,
                           const std::string& body,
                           const std::string& tags = "",
                           const std::string& keys = "") {
  MessageToStore m;
  m.topic = topic;
  m.queue_id = queue_id;
  m.body = body;
  m.born_timestamp = 1700000000000;
  m.born_ip = 0x7f000001;
  m.born_port = 5555;
  std::map<std::string, std::string> props;
  if (!tags.empty()) props[std::string(kPropertyTags)] = tags;
  if (!keys.empty()) props[std::string(kPropertyKeys)] = keys;
  m.properties = EncodeProperties(props);
  return m;
}

TEST(MessageRecordTest, RoundTrip) {
  MessageToStore m =
      MakeMessage("TopicTest", 3, std::string("bo\0dy", 5), "TagA", "k1 k2");
  m.flag = 7;
  m.sys_flag = kSysFlagCompressed;
  m.reconsume_times = 2;
  m.prepared_tx_offset = 99;
  StoreStamp stamp{42, 4096, 1700000001234, 0x0a000001, 10911};
  std::vector<char> buf(static_cast<size_t>(RecordSize(m)));
  EncodeRecord(m, stamp, buf.data());
  EXPECT_EQ(GetBig32(buf.data()), static_cast<int32_t>(buf.size()));
  EXPECT_EQ(GetBig32(buf.data() + 4), kMessageMagic);

  RecordView v;
  ASSERT_EQ(
      DecodeRecord(buf.data(), static_cast<int64_t>(buf.size()), true, &v),
      DecodeResult::kRecord);
  EXPECT_EQ(v.total_size, static_cast<int32_t>(buf.size()));
  EXPECT_EQ(v.queue_id, 3);
  EXPECT_EQ(v.flag, 7);
  EXPECT_EQ(v.queue_offset, 42);
  EXPECT_EQ(v.physical_offset, 4096);
  EXPECT_EQ(v.sys_flag, kSysFlagCompressed);
  EXPECT_EQ(v.born_timestamp, 1700000000000);
  EXPECT_EQ(v.born_ip, 0x7f000001u);
  EXPECT_EQ(v.born_port, 5555u);
  EXPECT_EQ(v.store_timestamp, 1700000001234);
  EXPECT_EQ(v.store_ip, 0x0a000001u);
  EXPECT_EQ(v.store_port, 10911u);
  EXPECT_EQ(v.reconsume_times, 2);
  EXPECT_EQ(v.prepared_tx_offset, 99);
  EXPECT_EQ(v.body, absl::string_view("bo\0dy", 5));
  EXPECT_EQ(v.topic, "TopicTest");
  EXPECT_EQ(FindProperty(v.properties, kPropertyTags), "TagA");
  EXPECT_EQ(FindProperty(v.properties, kPropertyKeys), "k1 k2");
  EXPECT_EQ(v.body_crc, static_cast<int32_t>(Crc32(v.body)));
}

TEST(MessageRecordTest, AnyCorruptedByteIsDetected) {
  MessageToStore m = MakeMessage("T", 0, "payload", "TagA");
  StoreStamp stamp{1, 0, 1700000001234, 0x7f000001, 10911};
  std::vector<char> good(static_cast<size_t>(RecordSize(m)));
  EncodeRecord(m, stamp, good.data());
  for (size_t i = 0; i < good.size(); ++i) {
    std::vector<char> bad = good;
    bad[i] ^= 0x5a;
    RecordView v;
    EXPECT_NE(
        DecodeRecord(bad.data(), static_cast<int64_t>(bad.size()), true, &v),
        DecodeResult::kRecord)
        << "flipped byte " << i;
  }
}

TEST(MessageRecordTest, TruncatedRecordIsCorrupt) {
  MessageToStore m = MakeMessage("T", 0, "payload");
  std::vector<char> buf(static_cast<size_t>(RecordSize(m)));
  EncodeRecord(m, StoreStamp{}, buf.data());
  RecordView v;
  EXPECT_EQ(
      DecodeRecord(buf.data(), static_cast<int64_t>(buf.size()) - 1, true, &v),
      DecodeResult::kCorrupt);
}

TEST(MessageRecordTest, BlankAndEnd) {
  char zeros[16] = {};
  RecordView v;
  EXPECT_EQ(DecodeRecord(zeros, 16, true, &v), DecodeResult::kEnd);
  char blank[16] = {};
  PutBig32(blank, 16);
  PutBig32(blank + 4, kBlankMagic);
  EXPECT_EQ(DecodeRecord(blank, 16, true, &v), DecodeResult::kBlank);
}

TEST(MessageRecordTest, PropertiesAndIds) {
  std::map<std::string, std::string> props = {{"a", "1"}, {"KEYS", "x y"}};
  std::string encoded = EncodeProperties(props);
  EXPECT_EQ(DecodeProperties(encoded), props);
  EXPECT_EQ(FindProperty(encoded, "a"), "1");
  EXPECT_FALSE(FindProperty(encoded, "b").has_value());
  EXPECT_EQ(FindProperty(encoded, "KEYS"), "x y");

  // Names are matched whole, empty pairs skipped, values may be empty or
  // hold the name-value separator.
  std::string tricky =
      "ab\x01"
      "1\x02\x02"
      "a\x01\x02"
      "b\x01x\x01y\x02"
      "c\x01"
      "3";
  EXPECT_EQ(FindProperty(tricky, "ab"), "1");
  EXPECT_EQ(FindProperty(tricky, "a"), "");
  EXPECT_EQ(FindProperty(tricky, "b"), "x\x01y");
  EXPECT_EQ(FindProperty(tricky, "c"), "3");
  EXPECT_FALSE(FindProperty(tricky, "abc").has_value());
  EXPECT_FALSE(FindProperty(tricky, "").has_value());
  EXPECT_FALSE(FindProperty("", "a").has_value());

  std::string id = OffsetMessageId(0x7f000001, 10911, 123456789);
  EXPECT_EQ(id.size(), 32u);
  EXPECT_EQ(id, "7F00000100002A9F00000000075BCD15");
  EXPECT_EQ(OffsetMessageId(0xC0A8FFFE, 65535, INT64_MAX),
            "C0A8FFFE0000FFFF7FFFFFFFFFFFFFFF");
  int64_t offset = 0;
  ASSERT_TRUE(ParseOffsetMessageId(id, &offset));
  EXPECT_EQ(offset, 123456789);
  EXPECT_FALSE(ParseOffsetMessageId("xyz", &offset));
  // Java's "TagA".hashCode().
  EXPECT_EQ(TagsHashCode("TagA"), 2598919);
}

}  // namespace
}  // namespace cometmq
