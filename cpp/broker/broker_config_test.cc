#include "cpp/broker/broker_config.h"

#include <string>
#include <vector>

#include "cpp/common/config_binder.h"
#include "cpp/common/properties.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cometmq::broker {
namespace {

using ::testing::HasSubstr;

// conf/broker.conf as the seed's author wrote it.
constexpr char kSeedBrokerConf[] = R"(brokerClusterName = DefaultCluster
brokerName = broker-a       #Broker的名字，如果多个Broker在一个集群，每个Broker名字相同
brokerId = 0                #0表示为Mater，非0都一律表示为Slave
deleteWhen = 04             #删除消息的时间，04表示每天凌晨4点删除消息
fileReservedTime = 48       #保存的消息每48小时会更新一次
brokerRole = ASYNC_MASTER   #Master于Slave同步的机制，这里表示的异步同步
flushDiskType = ASYNC_FLUSH #刷盘方式：异步刷盘
autoCreateTopicEnable=true  #添加这一行
)";

absl::Status Apply(BrokerConfig* config, absl::string_view text,
                   std::vector<std::string>* warnings) {
  ConfigBinder binder;
  config->Bind(&binder);
  return binder.Apply(ParseProperties(text, "broker.conf"), warnings);
}

TEST(BrokerConfigTest, SeedBrokerConfMeansWhatItsAuthorMeant) {
  BrokerConfig config;
  // Start from values the file must override, so the test sees it applied.
  config.brokerName = "other";
  config.brokerId = 7;
  config.autoCreateTopicEnable = false;
  config.store.fileReservedTime = 1;
  config.store.deleteWhen = "01";
  std::vector<std::string> warnings;
  ASSERT_TRUE(Apply(&config, kSeedBrokerConf, &warnings).ok());
  EXPECT_TRUE(warnings.empty()) << warnings.front();
  EXPECT_EQ(config.brokerClusterName, "DefaultCluster");
  EXPECT_EQ(config.brokerName, "broker-a");
  EXPECT_EQ(config.brokerId, 0);
  EXPECT_EQ(config.store.deleteWhen, "04");
  EXPECT_EQ(config.store.fileReservedTime, 48);
  EXPECT_EQ(config.store.brokerRole, "ASYNC_MASTER");
  EXPECT_EQ(config.store.flushDiskType, "ASYNC_FLUSH");
  EXPECT_TRUE(config.autoCreateTopicEnable);
  EXPECT_TRUE(config.Validate().ok());
}

TEST(BrokerConfigTest, ValuesShowEveryKeyAsTheFileWouldSpellIt) {
  BrokerConfig config;
  std::vector<std::string> warnings;
  ASSERT_TRUE(Apply(&config, kSeedBrokerConf, &warnings).ok());
  config.namesrvAddr = "127.0.0.1:9876";  // as -n sets it after the file
  const std::map<std::string, std::string> values = config.Values();
  EXPECT_EQ(values.at("fileReservedTime"), "48");
  EXPECT_EQ(values.at("flushDiskType"), "ASYNC_FLUSH");
  EXPECT_EQ(values.at("namesrvAddr"), "127.0.0.1:9876");
  EXPECT_EQ(values.at("autoCreateTopicEnable"), "true");
  EXPECT_EQ(values.at("defaultTopicQueueNums"), "4");  // not in the file

  // Applied back, the values give the same config.
  BrokerConfig again;
  std::string text;
  for (const auto& [key, value] : values) {
    text += key + "=" + value + "\n";
  }
  ASSERT_TRUE(Apply(&again, text, &warnings).ok());
  EXPECT_EQ(again.Values(), values);
}

TEST(BrokerConfigTest, DefaultsFollowTheIssue) {
  BrokerConfig config;
  EXPECT_EQ(config.listenPort, 10911);
  EXPECT_EQ(config.ha_port(), 10912);
  EXPECT_EQ(config.defaultTopicQueueNums, 4);
  EXPECT_EQ(config.brokerPermission.load(), 6);
  EXPECT_EQ(config.registerBrokerIntervalMillis, 30000);
  EXPECT_FALSE(config.brokerIP1.empty());
  config.haListenPort = 20000;
  EXPECT_EQ(config.ha_port(), 20000);
}

TEST(BrokerConfigTest, SlaveTimeoutAnswersBeforeTheProducerGivesUp) {
  BrokerConfig config;
  // The producer's default sendMsgTimeout is 3000 ms: a SYNC_MASTER wait
  // for a stalled slave must end first, or producers see only a timeout.
  EXPECT_LT(config.store.slaveTimeout, 3000);
  std::vector<std::string> warnings;
  ASSERT_TRUE(Apply(&config, "slaveTimeout = 1500\n", &warnings).ok());
  EXPECT_TRUE(warnings.empty());
  EXPECT_EQ(config.store.slaveTimeout, 1500);
}

TEST(BrokerConfigTest, NonNumericBrokerIdNamesFileLineAndKey) {
  BrokerConfig config;
  std::vector<std::string> warnings;
  absl::Status status =
      Apply(&config, "brokerName = b\nbrokerId = abc  #oops\n", &warnings);
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(status.message(), HasSubstr("broker.conf:2"));
  EXPECT_THAT(status.message(), HasSubstr("brokerId"));
  EXPECT_THAT(status.message(), HasSubstr("abc"));
}

TEST(BrokerConfigTest, NegativeBrokerIdIsRefused) {
  BrokerConfig config;
  std::vector<std::string> warnings;
  absl::Status status = Apply(&config, "brokerId = -1\n", &warnings);
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(status.message(), HasSubstr("broker.conf:1"));
  EXPECT_THAT(status.message(), HasSubstr("brokerId"));
}

TEST(BrokerConfigTest, UnknownFlushDiskTypeNamesFileLineAndKey) {
  BrokerConfig config;
  std::vector<std::string> warnings;
  absl::Status status =
      Apply(&config, "brokerId = 0\n\nflushDiskType = SOMETIMES\n", &warnings);
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(status.message(), HasSubstr("broker.conf:3"));
  EXPECT_THAT(status.message(), HasSubstr("flushDiskType"));
  EXPECT_THAT(status.message(), HasSubstr("SOMETIMES"));
}

TEST(BrokerConfigTest, UnknownKeyWarnsWithClosestKey) {
  BrokerConfig config;
  std::vector<std::string> warnings;
  ASSERT_TRUE(
      Apply(&config, "autoCreateTopicEnabled = false\n", &warnings).ok());
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_THAT(warnings[0], HasSubstr("broker.conf:1"));
  EXPECT_THAT(warnings[0], HasSubstr("autoCreateTopicEnable'"));
  EXPECT_TRUE(config.autoCreateTopicEnable);
}

TEST(BrokerConfigTest, RocketMqRegisterPeriodKeyIsAccepted) {
  BrokerConfig config;
  std::vector<std::string> warnings;
  ASSERT_TRUE(
      Apply(&config, "registerNameServerPeriod = 10000\n", &warnings).ok());
  EXPECT_TRUE(warnings.empty());
  EXPECT_EQ(config.registerBrokerIntervalMillis, 10000);
}

TEST(BrokerConfigTest, ValidateRefusesUnusableValues) {
  BrokerConfig config;
  config.store.storePathRootDir = "/tmp/x";
  config.defaultTopicQueueNums = 0;
  EXPECT_THAT(config.Validate().message(), HasSubstr("defaultTopicQueueNums"));
}

TEST(BrokerConfigTest, ValidateRefusesStoreValuesTheStoreCannotRunWith) {
  struct Case {
    const char* line;
    const char* key;
  };
  const Case cases[] = {
      {"maxHashSlotNum = 0", "maxHashSlotNum"},
      {"maxIndexNum = -1", "maxIndexNum"},
      {"mappedFileSizeCommitLog = -5", "mappedFileSizeCommitLog"},
      {"mappedFileSizeConsumeQueue = 10", "mappedFileSizeConsumeQueue"},
      {"maxMessageSize = 0", "maxMessageSize"},
      {"flushIntervalCommitLog = 0", "flushIntervalCommitLog"},
      {"flushIntervalConsumeQueue = -1", "flushIntervalConsumeQueue"},
      {"syncFlushTimeout = 0", "syncFlushTimeout"},
      {"slaveTimeout = -1", "slaveTimeout"},
      {"cleanResourceInterval = 0", "cleanResourceInterval"},
      {"deleteFileBatchMax = 0", "deleteFileBatchMax"},
      {"fileReservedTime = -1", "fileReservedTime"},
      {"diskMaxUsedSpaceRatio = 150", "diskMaxUsedSpaceRatio"},
      {"diskMaxUsedSpaceRatio = 0", "diskMaxUsedSpaceRatio"},
      {"diskSpaceWarningLevelRatio = 90", "diskSpaceWarningLevelRatio"},
      {"diskSpaceCleanForciblyRatio = 0", "diskSpaceCleanForciblyRatio"},
      {"deleteWhen = 25", "deleteWhen"},
      {"deleteWhen = 04;x", "deleteWhen"},
  };
  for (const Case& c : cases) {
    BrokerConfig config;
    config.store.storePathRootDir = "/tmp/x";
    std::vector<std::string> warnings;
    ASSERT_TRUE(Apply(&config, absl::StrCat(c.line, "\n"), &warnings).ok())
        << c.line;
    absl::Status status = config.Validate();
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << c.line;
    EXPECT_THAT(status.message(), HasSubstr(c.key)) << c.line;
  }
  // The edges that are meant: keep nothing past deleteWhen, several hours.
  BrokerConfig config;
  config.store.storePathRootDir = "/tmp/x";
  std::vector<std::string> warnings;
  ASSERT_TRUE(Apply(&config,
                    "fileReservedTime = 0\ndeleteWhen = 04;16\n"
                    "diskMaxUsedSpaceRatio = 100\n"
                    "diskSpaceWarningLevelRatio = 1\n",
                    &warnings)
                  .ok());
  EXPECT_TRUE(config.Validate().ok()) << config.Validate();
}

TEST(BrokerConfigTest, SplitRegistrationSizeIsRocketMqsAndPositive) {
  BrokerConfig config;
  config.store.storePathRootDir = "/tmp/x";
  EXPECT_EQ(config.splitRegistrationSize, 800);
  std::vector<std::string> warnings;
  ASSERT_TRUE(Apply(&config, "splitRegistrationSize = 5\n", &warnings).ok());
  EXPECT_TRUE(warnings.empty());
  EXPECT_EQ(config.splitRegistrationSize, 5);
  EXPECT_TRUE(config.Validate().ok()) << config.Validate();
  config.splitRegistrationSize = 0;
  EXPECT_THAT(config.Validate().message(), HasSubstr("splitRegistrationSize"));
}

TEST(BrokerConfigTest, ValidateRefusesANameServerAddressThatIsNotHostPort) {
  BrokerConfig config;
  config.store.storePathRootDir = "/tmp/x";
  for (const char* bad : {"abc", "127.0.0.1", "a:1;b:x", ";"}) {
    config.namesrvAddr = bad;
    EXPECT_EQ(config.Validate().code(), absl::StatusCode::kInvalidArgument)
        << bad;
    EXPECT_THAT(config.Validate().message(), HasSubstr("host:port")) << bad;
  }
  config.namesrvAddr = "127.0.0.1:9876; ns2.example:9876";
  EXPECT_TRUE(config.Validate().ok()) << config.Validate();
  config.namesrvAddr = "";  // an embedded NameServer
  EXPECT_TRUE(config.Validate().ok()) << config.Validate();
}

TEST(BrokerConfigTest, RocketMqKeysForMissingFeaturesAreRefusedNotIgnored) {
  BrokerConfig config;
  config.store.storePathRootDir = "/data/store";
  std::vector<std::string> warnings;
  absl::Status acl = Apply(&config, "aclEnable = true\n", &warnings);
  EXPECT_EQ(acl.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(acl.message(), HasSubstr("aclEnable"));
  EXPECT_THAT(acl.message(), HasSubstr("ACL is not implemented"));
  ASSERT_TRUE(Apply(&config, "aclEnable = false\n", &warnings).ok());

  ASSERT_TRUE(
      Apply(&config, "storePathCommitLog = /other/disk/commitlog\n", &warnings)
          .ok());
  EXPECT_THAT(config.Validate().message(), HasSubstr("storePathCommitLog"));
  // The place the commit log is anyway, however it is spelt, is fine.
  ASSERT_TRUE(Apply(&config, "storePathCommitLog = /data//store/commitlog/\n",
                    &warnings)
                  .ok());
  EXPECT_TRUE(config.Validate().ok()) << config.Validate();
  EXPECT_TRUE(warnings.empty());
}

TEST(BrokerConfigTest, IdleTimeKeyHasRocketMqDefaultAndBinds) {
  BrokerConfig config;
  config.store.storePathRootDir = "/tmp/x";
  EXPECT_EQ(config.serverChannelMaxIdleTimeSeconds, 120);
  std::vector<std::string> warnings;
  ASSERT_TRUE(
      Apply(&config, "serverChannelMaxIdleTimeSeconds = 30\n", &warnings).ok());
  EXPECT_TRUE(warnings.empty());
  EXPECT_EQ(config.serverChannelMaxIdleTimeSeconds, 30);
  EXPECT_TRUE(config.Validate().ok());
  config.serverChannelMaxIdleTimeSeconds = -1;
  EXPECT_THAT(config.Validate().message(),
              HasSubstr("serverChannelMaxIdleTimeSeconds"));
}

TEST(BrokerConfigTest, TransactionKeysHaveRocketMqDefaultsAndBind) {
  BrokerConfig config;
  EXPECT_EQ(config.transactionTimeOut, 6000);
  EXPECT_EQ(config.transactionCheckInterval, 60000);
  EXPECT_EQ(config.transactionCheckMax, 15);
  std::vector<std::string> warnings;
  ASSERT_TRUE(Apply(&config,
                    "transactionTimeOut = 500\n"
                    "transactionCheckInterval = 1000\n"
                    "transactionCheckMax = 3\n",
                    &warnings)
                  .ok());
  EXPECT_TRUE(warnings.empty());
  EXPECT_EQ(config.transactionTimeOut, 500);
  EXPECT_EQ(config.transactionCheckInterval, 1000);
  EXPECT_EQ(config.transactionCheckMax, 3);
  EXPECT_TRUE(config.Validate().ok());
  config.transactionCheckMax = 0;
  EXPECT_THAT(config.Validate().message(), HasSubstr("transactionCheckMax"));
}

}  // namespace
}  // namespace cometmq::broker
