#include "cpp/client/message.h"

#include <string>
#include <vector>

#include "cpp/client/batch_encoder.h"
#include "cpp/client/compression.h"
#include "cpp/client/send_request.h"
#include "cpp/common/byte_order.h"
#include "cpp/common/crc32.h"
#include "cpp/common/message_record.h"
#include "gtest/gtest.h"

namespace cometmq::client {
namespace {

constexpr PropertiesSetBy kUser = PropertiesSetBy::kUser;
constexpr PropertiesSetBy kClient = PropertiesSetBy::kClient;

// A stored record as a broker returns it.
std::string Record(const std::string& body, int32_t sys_flag,
                   const std::string& properties, int64_t queue_offset,
                   int64_t physical_offset) {
  MessageToStore message;
  message.topic = "TopicA";
  message.queue_id = 3;
  message.sys_flag = sys_flag;
  message.born_timestamp = 1700000000000;
  message.born_ip = 0x0a000002;
  message.born_port = 40123;
  message.body = body;
  message.properties = properties;
  message.reconsume_times = 2;
  StoreStamp stamp;
  stamp.queue_offset = queue_offset;
  stamp.physical_offset = physical_offset;
  stamp.store_timestamp = 1700000000123;
  stamp.store_ip = 0x0a000001;
  stamp.store_port = 10911;
  std::string out(static_cast<size_t>(RecordSize(message)), '\0');
  EncodeRecord(message, stamp, out.data());
  return out;
}

TEST(MessageTest, DecodesRecordsBackToBack) {
  std::string props = EncodeProperties({{"TAGS", "TagA"},
                                        {"KEYS", "k1 k2"},
                                        {"UNIQ_KEY", "ABC"},
                                        {"color", "red"}});
  std::string body = Record("hello", 0, props, 7, 1000) +
                     Record("world", 0, EncodeProperties({}), 8, 2000);
  auto messages = DecodeMessages(body, "broker-a");
  ASSERT_TRUE(messages.ok()) << messages.status();
  ASSERT_EQ(messages->size(), 2u);
  const MessageExt& first = (*messages)[0];
  EXPECT_EQ(first.topic, "TopicA");
  EXPECT_EQ(first.body, "hello");
  EXPECT_EQ(first.tags, "TagA");
  EXPECT_EQ(first.keys, (std::vector<std::string>{"k1", "k2"}));
  EXPECT_EQ(first.msg_id, "ABC");
  EXPECT_EQ(first.properties.at("color"), "red");
  EXPECT_EQ(first.properties.count("TAGS"), 0u);
  EXPECT_EQ(first.broker_name, "broker-a");
  EXPECT_EQ(first.queue_id, 3);
  EXPECT_EQ(first.queue_offset, 7);
  EXPECT_EQ(first.commit_log_offset, 1000);
  EXPECT_EQ(first.reconsume_times, 2);
  EXPECT_EQ(first.born_timestamp, 1700000000000);
  EXPECT_EQ(first.store_timestamp, 1700000000123);
  EXPECT_EQ(first.born_host, "10.0.0.2:40123");
  EXPECT_EQ(first.store_host, "10.0.0.1:10911");
  EXPECT_EQ(first.offset_msg_id, OffsetMessageId(0x0a000001, 10911, 1000));
  EXPECT_EQ((*messages)[1].body, "world");
  EXPECT_EQ((*messages)[1].queue_offset, 8);
}

TEST(MessageTest, InflatesCompressedBodies) {
  std::string original(10000, 'x');
  std::string body = Record(Compress(original), kSysFlagCompressed,
                            EncodeProperties({}), 0, 0);
  auto messages = DecodeMessages(body, "b");
  ASSERT_TRUE(messages.ok()) << messages.status();
  EXPECT_EQ(messages->at(0).body, original);
}

TEST(MessageTest, RejectsCompressedFlagOnPlainBody) {
  std::string body =
      Record("not zlib", kSysFlagCompressed, EncodeProperties({}), 0, 0);
  EXPECT_EQ(DecodeMessages(body, "b").status().code(),
            absl::StatusCode::kDataLoss);
}

TEST(MessageTest, RejectsTruncatedRecord) {
  std::string body = Record("hello", 0, EncodeProperties({}), 0, 0);
  body.pop_back();
  EXPECT_EQ(DecodeMessages(body, "b").status().code(),
            absl::StatusCode::kDataLoss);
  EXPECT_TRUE(DecodeMessages("", "b")->empty());
}

TEST(SendRequestTest, CompressesOnlyOverThreshold) {
  SendLimits limits;
  Message small{"T", std::string(4096, 'a'), "", {}, {}, 0};
  auto plain = PrepareSend(small, "g", limits, kUser);
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->header.sys_flag() & kSysFlagCompressed, 0);
  EXPECT_EQ(plain->body, small.body);

  Message big{"T", std::string(4097, 'a'), "TagA", {"k1", "k2"}, {}, 3};
  auto compressed = PrepareSend(big, "g", limits, kUser);
  ASSERT_TRUE(compressed.ok());
  EXPECT_NE(compressed->header.sys_flag() & kSysFlagCompressed, 0);
  EXPECT_EQ(*Uncompress(compressed->body), big.body);
  auto props = DecodeProperties(compressed->header.properties());
  EXPECT_EQ(props["TAGS"], "TagA");
  EXPECT_EQ(props["KEYS"], "k1 k2");
  EXPECT_EQ(props["DELAY"], "3");
  EXPECT_EQ(props["UNIQ_KEY"], compressed->msg_id);
  EXPECT_EQ(compressed->msg_id.size(), 32u);
  EXPECT_NE(compressed->msg_id, plain->msg_id);
}

TEST(SendRequestTest, MessageSentAgainKeepsItsUniqKey) {
  Message again{"T", "b", "", {}, {{"UNIQ_KEY", "ABC"}}, 0};
  auto prepared = PrepareSend(again, "g", SendLimits{}, kClient);
  ASSERT_TRUE(prepared.ok());
  EXPECT_EQ(prepared->msg_id, "ABC");
  EXPECT_EQ(DecodeProperties(prepared->header.properties())["UNIQ_KEY"], "ABC");
}

TEST(SendRequestTest, RetryCopyCarriesItsCountsInTheHeader) {
  const std::map<std::string, std::string> counts = {
      {"RECONSUME_TIME", "4"}, {"MAX_RECONSUME_TIMES", "-1"}};
  auto copy = PrepareSend(Message{"%RETRY%G", "b", "", {}, counts, 0}, "g",
                          SendLimits{}, kClient);
  ASSERT_TRUE(copy.ok());
  EXPECT_EQ(copy->header.reconsume_times(), 4);
  EXPECT_EQ(copy->header.max_reconsume_times(), -1);
  auto props = DecodeProperties(copy->header.properties());
  EXPECT_EQ(props.count("RECONSUME_TIME"), 0u);
  EXPECT_EQ(props.count("MAX_RECONSUME_TIMES"), 0u);

  // Only sends to a retry topic read them.
  auto plain = PrepareSend(Message{"T", "b", "", {}, counts, 0}, "g",
                           SendLimits{}, kClient);
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->header.reconsume_times(), 0);
  EXPECT_EQ(DecodeProperties(plain->header.properties())["RECONSUME_TIME"],
            "4");
}

TEST(SendRequestTest, UserMayNotSetSystemProperties) {
  for (const std::string& name : std::vector<std::string>{
           "TRAN_MSG", "PGROUP", "UNIQ_KEY", "DELAY", "TAGS", "KEYS",
           "RETRY_TOPIC", "REAL_TOPIC", "REAL_QID", "RECONSUME_TIME",
           "MAX_RECONSUME_TIMES", "__transactionId__"}) {
    Message message{"T", "b", "", {}, {{name, "true"}}, 0};
    auto user = PrepareSend(message, "g", SendLimits{}, kUser);
    EXPECT_EQ(user.status().code(), absl::StatusCode::kInvalidArgument) << name;
    EXPECT_NE(user.status().message().find(name + " is used by the system"),
              std::string::npos)
        << user.status();
    EXPECT_EQ(PrepareBatch({message}, "g", SendLimits{}).status().code(),
              absl::StatusCode::kInvalidArgument)
        << name;
    EXPECT_TRUE(PrepareSend(message, "g", SendLimits{}, kClient).ok()) << name;
  }
  Message unnamed{"T", "b", "", {}, {{"", "v"}}, 0};
  EXPECT_EQ(PrepareSend(unnamed, "g", SendLimits{}, kUser).status().code(),
            absl::StatusCode::kInvalidArgument);
  // Names are case-sensitive, as in RocketMQ; empty values are allowed.
  Message own{"T", "b", "", {}, {{"tran_msg", ""}, {"order", "7"}}, 0};
  auto sent = PrepareSend(own, "g", SendLimits{}, kUser);
  ASSERT_TRUE(sent.ok()) << sent.status();
  EXPECT_EQ(DecodeProperties(sent->header.properties())["order"], "7");
}

TEST(SendRequestTest, RefusesTopicsTheBrokerWouldRefuse) {
  for (const std::string& topic : std::vector<std::string>{
           "", "orders.v2", "a b", "t\xc3\xa9", std::string(128, 't')}) {
    auto prepared = PrepareSend(Message{topic, "b", "", {}, {}, 0}, "g",
                                SendLimits{}, kUser);
    EXPECT_EQ(prepared.status().code(), absl::StatusCode::kInvalidArgument)
        << topic;
    EXPECT_NE(prepared.status().message().find("message topic"),
              std::string::npos)
        << prepared.status();
  }
  for (const std::string& topic :
       std::vector<std::string>{"T", "%RETRY%group", "%DLQ%group", "a|b-c_d",
                                std::string(127, 't')}) {
    EXPECT_TRUE(PrepareSend(Message{topic, "b", "", {}, {}, 0}, "g",
                            SendLimits{}, kUser)
                    .ok())
        << topic;
  }
}

TEST(SendRequestTest, RefusesEmptyAndOversizedBodies) {
  SendLimits limits;
  auto empty = PrepareSend(Message{"T", "", "", {}, {}, 0}, "g", limits, kUser);
  EXPECT_EQ(empty.status().code(), absl::StatusCode::kInvalidArgument);
  auto huge = PrepareSend(
      Message{"T", std::string(4 * 1024 * 1024 + 1, 'a'), "", {}, {}, 0}, "g",
      limits, kUser);
  EXPECT_EQ(huge.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(huge.status().message().find("maxMessageSize"),
            absl::string_view::npos);
}

TEST(SendRequestTest, RefusesTextThatIsNotUtf8OrHoldsSeparators) {
  auto send = [](Message message) {
    message.topic = message.topic.empty() ? "T" : message.topic;
    message.body = "b";
    return PrepareSend(message, "g", SendLimits{}, kUser).status();
  };
  const std::string gbk = "\xd6\xd0\xce\xc4";  // GBK, not UTF-8
  Message tags;
  tags.tags = gbk;
  EXPECT_EQ(send(tags).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(send(tags).message().find("tags is not valid UTF-8"),
            absl::string_view::npos);
  Message key;
  key.keys = {"ok", gbk};
  EXPECT_EQ(send(key).code(), absl::StatusCode::kInvalidArgument);
  Message value;
  value.properties["city"] = "\xb1\xb1\xbe\xa9";
  EXPECT_EQ(send(value).code(), absl::StatusCode::kInvalidArgument);
  Message separator;
  separator.properties["a"] = std::string("x\x02y\x01z");
  EXPECT_EQ(send(separator).code(), absl::StatusCode::kInvalidArgument);
  for (const char* bad :
       {"\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xe4\xb8"}) {
    Message message;
    message.tags = bad;  // overlong, surrogate, past U+10FFFF, truncated
    EXPECT_EQ(send(message).code(), absl::StatusCode::kInvalidArgument) << bad;
  }
  Message fine;
  fine.tags = "\xe4\xb8\xad\xe6\x96\x87";  // "Chinese" in UTF-8
  fine.keys = {"k\xc3\xa9"};
  fine.properties["emoji"] = "\xf0\x9f\x98\x80";
  EXPECT_TRUE(send(fine).ok()) << send(fine);
}

TEST(BatchTest, EncodesEntriesBackToBack) {
  std::vector<BatchEntry> entries = {{"ab", "P1", 0}, {"cde", "", 7}};
  std::string body = EncodeBatch(entries);
  ASSERT_EQ(body.size(), (22u + 2 + 2) + (22u + 3));
  const char* p = body.data();
  EXPECT_EQ(GetBig32(p), 26);     // total size
  EXPECT_EQ(GetBig32(p + 4), 0);  // magic
  EXPECT_EQ(static_cast<uint32_t>(GetBig32(p + 8)), Crc32("ab"));
  EXPECT_EQ(GetBig32(p + 12), 0);  // flag
  EXPECT_EQ(GetBig32(p + 16), 2);  // body length
  EXPECT_EQ(std::string(p + 20, 2), "ab");
  EXPECT_EQ(GetBig16(p + 22), 2);  // properties length
  EXPECT_EQ(std::string(p + 24, 2), "P1");
  p += 26;
  EXPECT_EQ(GetBig32(p), 25);
  EXPECT_EQ(GetBig32(p + 12), 7);
  EXPECT_EQ(std::string(p + 20, 3), "cde");
  EXPECT_EQ(GetBig16(p + 23), 0);
}

TEST(BatchTest, PrepareBatchChecksTopicAndDelay) {
  SendLimits limits;
  std::vector<Message> mixed = {{"T", "a", "", {}, {}, 0},
                                {"U", "b", "", {}, {}, 0}};
  EXPECT_EQ(PrepareBatch(mixed, "g", limits).status().code(),
            absl::StatusCode::kInvalidArgument);
  std::vector<Message> delayed = {{"T", "a", "", {}, {}, 2}};
  EXPECT_EQ(PrepareBatch(delayed, "g", limits).status().code(),
            absl::StatusCode::kInvalidArgument);
  std::vector<Message> good = {{"T", "a", "X", {}, {}, 0},
                               {"T", "b", "", {}, {}, 0}};
  auto prepared = PrepareBatch(good, "g", limits);
  ASSERT_TRUE(prepared.ok());
  EXPECT_TRUE(prepared->header.batch());
  EXPECT_EQ(prepared->code, proto::SEND_BATCH_MESSAGE);
  EXPECT_EQ(prepared->msg_id.size(), 32u * 2 + 1);
}

}  // namespace
}  // namespace cometmq::client
