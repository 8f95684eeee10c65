#include "cpp/broker/delay_levels.h"

#include <map>
#include <string>
#include <vector>

#include "cpp/broker/broker_config.h"
#include "cpp/broker/topic_config_manager.h"
#include "cpp/common/config_binder.h"
#include "cpp/common/properties.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cometmq::broker {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(DelayLevelsTest, ParsesEveryUnit) {
  absl::StatusOr<DelayLevels> levels = DelayLevels::Parse(" 1s  2m 3h\t1d ");
  ASSERT_TRUE(levels.ok()) << levels.status();
  EXPECT_THAT(levels->delays_ms(),
              ElementsAre(1000, 120000, 3 * 3600000LL, 86400000LL));
}

TEST(DelayLevelsTest, DefaultIsRocketMqs) {
  DelayLevels levels = DelayLevels::Default();
  ASSERT_EQ(levels.count(), 18);
  EXPECT_EQ(levels.DelayMs(1), 1000);
  EXPECT_EQ(levels.DelayMs(2), 5000);
  EXPECT_EQ(levels.DelayMs(3), 10000);
  EXPECT_EQ(levels.DelayMs(18), 2 * 3600000LL);
}

TEST(DelayLevelsTest, RefusesBadText) {
  for (const char* text : {"", "  ", "1x", "s", "0s", "-1s", "1.5s", "1s 2",
                           "1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s "
                           "1s 1s 1s"}) {
    EXPECT_FALSE(DelayLevels::Parse(text).ok()) << "'" << text << "'";
  }
  EXPECT_THAT(DelayLevels::Parse("1s 5q").status().message(),
              HasSubstr("'5q'"));
}

TEST(DelayLevelsTest, ClampsLevelsToTheTable) {
  DelayLevels levels = *DelayLevels::Parse("1s 2s");
  EXPECT_EQ(levels.Clamp(0), 1);
  EXPECT_EQ(levels.Clamp(2), 2);
  EXPECT_EQ(levels.Clamp(19), 2);
  EXPECT_EQ(DelayLevels::Default().Clamp(40), 18);
}

TEST(DelayLevelsTest, DeliverTimeIsStoreTimePlusDelay) {
  DelayLevels levels = *DelayLevels::Parse("1s 5s");
  EXPECT_EQ(levels.DeliverTimestamp(1, 1000000), 1001000);
  EXPECT_EQ(levels.DeliverTimestamp(2, 1000000), 1005000);
  EXPECT_EQ(levels.DeliverTimestamp(9, 1000000), 1005000);

  RecordView record;
  record.store_timestamp = 2000000;
  const std::string props =
      EncodeProperties({{std::string(kPropertyDelayLevel), "2"}});
  record.properties = props;
  EXPECT_EQ(levels.DeliverTimestamp(record), 2005000);
  record.properties = "";
  EXPECT_EQ(levels.DeliverTimestamp(record), 2000000);
}

TEST(DelayLevelsTest, RequestedLevelRefusesWhatIsNotANumber) {
  auto requested = [](const std::string& value) {
    return RequestedDelayLevel(EncodeProperties({{"DELAY", value}}));
  };
  EXPECT_EQ(*RequestedDelayLevel(EncodeProperties({{"KEYS", "k"}})), 0);
  EXPECT_EQ(*requested("3"), 3);
  EXPECT_EQ(*requested("40"), 40);  // clamped when the message is rewritten
  EXPECT_EQ(*requested("0"), 0);
  EXPECT_EQ(*requested("-2"), 0);
  for (const char* bad : {"", "5s", "x", "1.5", "99999999999"}) {
    EXPECT_TRUE(absl::IsInvalidArgument(requested(bad).status())) << bad;
  }
}

TEST(DelayLevelsTest, RewriteAndRestoreRoundTrip) {
  DelayLevels levels = DelayLevels::Default();
  MessageToStore message;
  message.topic = "T";
  message.queue_id = 3;
  message.body = "body";
  message.born_timestamp = 1234;
  message.properties = EncodeProperties(
      {{"DELAY", "40"}, {"UNIQ_KEY", "U"}, {"KEYS", "k1 k2"}, {"TAGS", "A"}});
  RewriteForDelay(levels, 40, &message);
  EXPECT_EQ(message.topic, kScheduleTopic);
  EXPECT_EQ(message.queue_id, 17);
  std::map<std::string, std::string> props =
      DecodeProperties(message.properties);
  EXPECT_EQ(props["DELAY"], "18");
  EXPECT_EQ(props["REAL_TOPIC"], "T");
  EXPECT_EQ(props["REAL_QID"], "3");

  RecordView record;
  record.topic = message.topic;
  record.queue_id = message.queue_id;
  record.body = message.body;
  record.born_timestamp = message.born_timestamp;
  record.reconsume_times = 2;
  record.properties = message.properties;
  MessageToStore restored;
  ASSERT_TRUE(RestoreFromDelay(record, &restored));
  EXPECT_EQ(restored.topic, "T");
  EXPECT_EQ(restored.queue_id, 3);
  EXPECT_EQ(restored.body, "body");
  EXPECT_EQ(restored.born_timestamp, 1234);
  EXPECT_EQ(restored.reconsume_times, 2);
  EXPECT_EQ(DecodeProperties(restored.properties),
            (std::map<std::string, std::string>{
                {"KEYS", "k1 k2"}, {"TAGS", "A"}, {"UNIQ_KEY", "U"}}));
}

TEST(DelayLevelsTest, BadConfigNamesFileLineAndKey) {
  BrokerConfig config;
  ConfigBinder binder;
  config.Bind(&binder);
  std::vector<std::string> warnings;
  absl::Status status = binder.Apply(
      ParseProperties("brokerName=b\nmessageDelayLevel=1s 2x\n", "broker.conf"),
      &warnings);
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(status.message(), HasSubstr("broker.conf:2"));
  EXPECT_THAT(status.message(), HasSubstr("messageDelayLevel"));

  ASSERT_TRUE(binder
                  .Apply(ParseProperties("messageDelayLevel=1s 2s\n", "b.conf"),
                         &warnings)
                  .ok());
  EXPECT_THAT(config.delay_levels.delays_ms(), ElementsAre(1000, 2000));
}

}  // namespace
}  // namespace cometmq::broker
