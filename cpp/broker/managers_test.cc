#include <cstdlib>
#include <filesystem>
#include <string>

#include "absl/strings/str_cat.h"
#include "cpp/broker/config_file.h"
#include "cpp/broker/consumer_offset_manager.h"
#include "cpp/broker/delay_levels.h"
#include "cpp/broker/schedule_service.h"
#include "cpp/broker/subscription_group_manager.h"
#include "cpp/broker/topic_config_manager.h"
#include "cpp/common/offset_reset.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cometmq::broker {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

std::string TempPath(const std::string& name) {
  const char* base = std::getenv("TEST_TMPDIR");
  std::string dir =
      absl::StrCat(base != nullptr ? base : "/tmp", "/managers_test/", name);
  std::filesystem::remove_all(dir);
  return absl::StrCat(dir, "/config/", name, ".json");
}

proto::TopicConfig Topic(const std::string& name, int read, int write,
                         int perm) {
  proto::TopicConfig t;
  t.set_topic_name(name);
  t.set_read_queue_nums(read);
  t.set_write_queue_nums(write);
  t.set_perm(perm);
  return t;
}

TEST(TopicNameTest, Validation) {
  EXPECT_TRUE(ValidateTopicName("Topic_A-1%x|y").ok());
  EXPECT_FALSE(ValidateTopicName("").ok());
  EXPECT_FALSE(ValidateTopicName("has space").ok());
  EXPECT_FALSE(ValidateTopicName("a@b").ok());
  EXPECT_TRUE(ValidateTopicName(std::string(127, 'a')).ok());
  EXPECT_FALSE(ValidateTopicName(std::string(128, 'a')).ok());
}

TEST(TopicConfigManagerTest, SystemTopicExistsAfterLoad) {
  TopicConfigManager topics(TempPath("system"), 4);
  ASSERT_TRUE(topics.Load().ok());
  std::optional<proto::TopicConfig> schedule = topics.Find(kScheduleTopic);
  ASSERT_TRUE(schedule.has_value());
  EXPECT_EQ(schedule->read_queue_nums(), 18);
  EXPECT_EQ(schedule->write_queue_nums(), 18);
}

TEST(TopicConfigManagerTest, CreateUpdateDeleteSurviveReload) {
  const std::string path = TempPath("topics");
  int changes = 0;
  {
    TopicConfigManager topics(path, 4);
    ASSERT_TRUE(topics.Load().ok());
    topics.SetChangeListener([&] { ++changes; });
    absl::StatusOr<proto::TopicConfig> created = topics.CreateOnSend("A", 0);
    ASSERT_TRUE(created.ok());
    EXPECT_EQ(created->write_queue_nums(), 4);
    EXPECT_EQ(created->perm(), 6);
    // A producer asking for fewer queues gets fewer; more is capped.
    EXPECT_EQ(topics.CreateOnSend("B", 2)->write_queue_nums(), 2);
    EXPECT_EQ(topics.CreateOnSend("C", 16)->write_queue_nums(), 4);
    // Existing topics are returned unchanged, without a change event.
    EXPECT_EQ(topics.CreateOnSend("B", 3)->write_queue_nums(), 2);
    ASSERT_TRUE(topics.Update(Topic("D", 8, 6, 4)).ok());
    ASSERT_TRUE(topics.Delete("C").ok());
    EXPECT_TRUE(absl::IsNotFound(topics.Delete("C")));
    EXPECT_FALSE(topics.CreateOnSend("bad topic", 0).ok());
    EXPECT_FALSE(topics.Update(Topic("E", 0, 1, 6)).ok());
    EXPECT_EQ(changes, 5);
    EXPECT_EQ(topics.data_version(), 5);
  }
  TopicConfigManager reloaded(path, 4);
  ASSERT_TRUE(reloaded.Load().ok());
  std::vector<std::string> names;
  for (const proto::TopicConfig& t : reloaded.All()) {
    names.push_back(t.topic_name());
  }
  EXPECT_THAT(names, ElementsAre("A", "B", "D", "SCHEDULE_TOPIC_XXXX"));
  std::optional<proto::TopicConfig> d = reloaded.Find("D");
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->read_queue_nums(), 8);
  EXPECT_EQ(d->write_queue_nums(), 6);
  EXPECT_EQ(d->perm(), 4);
  std::optional<TopicConfigManager::WriteInfo> write =
      reloaded.FindForWrite("D");
  ASSERT_TRUE(write.has_value());
  EXPECT_EQ(write->write_queue_nums, 6);
  EXPECT_EQ(write->perm, 4);
  EXPECT_FALSE(reloaded.FindForWrite("C").has_value());
}

TEST(TopicConfigManagerTest, CorruptFileIsAnError) {
  const std::string path = TempPath("corrupt");
  ASSERT_TRUE(WriteFileAtomically(path, "A=4,4\n").ok());
  TopicConfigManager topics(path, 4);
  absl::Status s = topics.Load();
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr(":1"));
}

// An empty topics file, or one cut inside its last line, was loaded as
// whatever it still held: the broker then rewrote it with the system topic
// alone and registered that, so the NameServer dropped its routes and its
// slaves deleted the queues of every topic "gone from the master".
TEST(TopicConfigManagerTest, TruncatedFileIsAnError) {
  const std::string path = TempPath("truncated_topics");
  {
    TopicConfigManager topics(path, 4);
    ASSERT_TRUE(topics.Load().ok());
    ASSERT_TRUE(topics.CreateOnSend("Orders", 8).ok());
  }
  absl::StatusOr<std::optional<std::string>> whole = ReadFileIfExists(path);
  ASSERT_TRUE(whole.ok() && whole->has_value());
  const std::string text = **whole;
  for (size_t size : {size_t{0}, text.size() - 1}) {
    ASSERT_TRUE(WriteFileAtomically(path, text.substr(0, size)).ok());
    TopicConfigManager cut(path, 4);
    absl::Status loaded = cut.Load();
    EXPECT_EQ(loaded.code(), absl::StatusCode::kDataLoss) << size;
    EXPECT_THAT(loaded.message(), HasSubstr("truncated"));
    EXPECT_THAT(loaded.message(), HasSubstr(path));
    // Refused, not rewritten.
    absl::StatusOr<std::optional<std::string>> after = ReadFileIfExists(path);
    ASSERT_TRUE(after.ok() && after->has_value());
    EXPECT_EQ(**after, text.substr(0, size));
  }
}

TEST(SubscriptionGroupManagerTest, AutoCreateAndReload) {
  const std::string path = TempPath("groups");
  {
    SubscriptionGroupManager groups(path, /*auto_create=*/true);
    ASSERT_TRUE(groups.Load().ok());
    ASSERT_TRUE(groups.FindOrCreate("G1").has_value());
    SubscriptionGroup g2;
    g2.name = "G2";
    g2.consume_enable = false;
    g2.retry_max_times = 3;
    groups.Update(g2);
    ASSERT_TRUE(groups.Persist().ok());
  }
  SubscriptionGroupManager reloaded(path, /*auto_create=*/false);
  ASSERT_TRUE(reloaded.Load().ok());
  EXPECT_THAT(reloaded.Names(), ElementsAre("G1", "G2"));
  std::optional<SubscriptionGroup> g2 = reloaded.Find("G2");
  ASSERT_TRUE(g2.has_value());
  EXPECT_FALSE(g2->consume_enable);
  EXPECT_EQ(g2->retry_max_times, 3);
  // Auto-create off: unknown groups stay unknown.
  EXPECT_FALSE(reloaded.FindOrCreate("G3").has_value());
}

TEST(SubscriptionGroupManagerTest, ToolsGroupExistsWithoutAutoCreate) {
  // mqadmin queryMsgByOffset pulls as TOOLS_CONSUMER, as RocketMQ's does;
  // RocketMQ's broker has that group whatever autoCreateSubscriptionGroup
  // says.
  SubscriptionGroupManager groups(TempPath("tools-groups"),
                                  /*auto_create=*/false);
  ASSERT_TRUE(groups.Load().ok());
  std::optional<SubscriptionGroup> tools =
      groups.FindOrCreate("TOOLS_CONSUMER");
  ASSERT_TRUE(tools.has_value());
  EXPECT_TRUE(tools->consume_enable);
  EXPECT_FALSE(groups.FindOrCreate("OTHER").has_value());
}

TEST(SubscriptionGroupManagerTest, DeleteSurvivesReload) {
  const std::string path = TempPath("deleted_groups");
  {
    SubscriptionGroupManager groups(path, /*auto_create=*/true);
    ASSERT_TRUE(groups.Load().ok());
    ASSERT_TRUE(groups.FindOrCreate("G1").has_value());
    ASSERT_TRUE(groups.FindOrCreate("G2").has_value());
    ASSERT_TRUE(groups.Persist().ok());
    EXPECT_TRUE(groups.Delete("G1"));
    EXPECT_FALSE(groups.Delete("G1"));
    EXPECT_FALSE(groups.Delete("NoSuchGroup"));
    EXPECT_FALSE(groups.Find("G1").has_value());
    ASSERT_TRUE(groups.Persist().ok());
  }
  SubscriptionGroupManager reloaded(path, /*auto_create=*/false);
  ASSERT_TRUE(reloaded.Load().ok());
  EXPECT_THAT(reloaded.Names(), ElementsAre("G2"));
}

TEST(ConsumerOffsetManagerTest, RemoveGroupForgetsOnlyThatGroup) {
  const std::string path = TempPath("removed_group_offsets");
  {
    ConsumerOffsetManager offsets(path);
    ASSERT_TRUE(offsets.Load().ok());
    offsets.Commit("G", "T", 0, 10);
    offsets.Commit("G", "%RETRY%G", 0, 2);
    offsets.Commit("GG", "T", 0, 4);  // a group whose name starts with G
    offsets.Commit("H", "G", 0, 1);   // a topic named like the group
    ASSERT_TRUE(offsets.Persist().ok());
    EXPECT_EQ(offsets.RemoveGroup("G"), 2);
    EXPECT_EQ(offsets.RemoveGroup("G"), 0);
    ASSERT_TRUE(offsets.Persist().ok());
  }
  ConsumerOffsetManager reloaded(path);
  ASSERT_TRUE(reloaded.Load().ok());
  EXPECT_THAT(reloaded.TopicsOf("G"), IsEmpty());
  EXPECT_EQ(reloaded.Query("GG", "T", 0), 4);
  EXPECT_EQ(reloaded.Query("H", "G", 0), 1);
}

TEST(ResetOffsetForTest, ForceSetsTheTargetEitherWay) {
  EXPECT_EQ(ResetOffsetFor(/*target=*/3, /*committed=*/10, /*force=*/true), 3);
  EXPECT_EQ(ResetOffsetFor(/*target=*/30, /*committed=*/10, /*force=*/true),
            30);
}

TEST(ResetOffsetForTest, WithoutForceAQueueOnlyMovesBack) {
  EXPECT_EQ(ResetOffsetFor(3, 10, /*force=*/false), 3);
  // Not forward past the committed offset, as RocketMQ's Broker2Client.
  EXPECT_EQ(ResetOffsetFor(30, 10, /*force=*/false), 10);
  EXPECT_EQ(ResetOffsetFor(10, 10, /*force=*/false), 10);
}

TEST(ResetOffsetForTest, AQueueNeverCommittedTakesTheTarget) {
  EXPECT_EQ(ResetOffsetFor(30, std::nullopt, /*force=*/false), 30);
  EXPECT_EQ(ResetOffsetFor(-1, std::nullopt, /*force=*/true), 0);
  EXPECT_EQ(ResetOffsetFor(-1, 5, /*force=*/false), 0);
}

TEST(SubscriptionGroupManagerTest, SlaveTakesTheMastersGroupsInPlaceOfItsOwn) {
  SubscriptionGroupManager master(TempPath("master_groups"),
                                  /*auto_create=*/false);
  SubscriptionGroup made;
  made.name = "made";
  made.consume_enable = false;
  made.retry_max_times = 5;
  made.retry_queue_nums = 2;
  master.Update(made);

  const std::string path = TempPath("slave_groups");
  {
    SubscriptionGroupManager slave(path, /*auto_create=*/true);
    ASSERT_TRUE(slave.FindOrCreate("only-on-slave").has_value());
    ASSERT_TRUE(slave.Replace(master.Encode()).ok());
    EXPECT_THAT(slave.Names(), ElementsAre("made"));
    EXPECT_TRUE(slave.Find("made") == made);
    // A malformed table changes nothing.
    absl::Status bad = slave.Replace("made=1,x,2\n");
    EXPECT_FALSE(bad.ok());
    EXPECT_THAT(bad.message(), HasSubstr("master's groups"));
    EXPECT_THAT(slave.Names(), ElementsAre("made"));
    ASSERT_TRUE(slave.Persist().ok());
  }
  SubscriptionGroupManager reloaded(path, /*auto_create=*/false);
  ASSERT_TRUE(reloaded.Load().ok());
  EXPECT_TRUE(reloaded.Find("made") == made);
}

TEST(ScheduleServiceTest, SlaveWritesTheMastersDelayProgress) {
  DelayLevels levels = DelayLevels::Default();
  ScheduleService master(levels, TempPath("master_delay"), absl::Seconds(1));
  ASSERT_TRUE(master.Replace(R"({"offsetTable":{"1":12,"3":7}})").ok());
  EXPECT_EQ(master.Offset(1), 12);
  EXPECT_EQ(master.Offset(3), 7);

  const std::string path = TempPath("slave_delay");
  {
    ScheduleService slave(levels, path, absl::Seconds(1));
    ASSERT_TRUE(slave.Load().ok());
    ASSERT_TRUE(slave.Replace(master.Encode()).ok());
    EXPECT_EQ(slave.Offset(1), 12);
    // A malformed table changes nothing.
    absl::Status bad = slave.Replace(R"({"offsetTable":{"1":99,"2":-1}})");
    EXPECT_FALSE(bad.ok());
    EXPECT_THAT(bad.message(), HasSubstr("master's delay offsets"));
    EXPECT_EQ(slave.Offset(1), 12);
  }
  // Written at once: a slave restarted as the master starts from there.
  ScheduleService promoted(levels, path, absl::Seconds(1));
  ASSERT_TRUE(promoted.Load().ok());
  EXPECT_EQ(promoted.Offset(1), 12);
  EXPECT_EQ(promoted.Offset(2), 0);
  EXPECT_EQ(promoted.Offset(3), 7);
}

TEST(ConsumerOffsetManagerTest, CommitQueryAndReload) {
  const std::string path = TempPath("offsets");
  {
    ConsumerOffsetManager offsets(path);
    ASSERT_TRUE(offsets.Load().ok());
    EXPECT_FALSE(offsets.Query("G", "T", 0).has_value());
    offsets.Commit("G", "T", 0, 10);
    offsets.Commit("G", "T", 3, 7);
    offsets.Commit("G", "T", 0, 12);
    offsets.Commit("G", "U", 1, 5);
    offsets.Commit("H", "T", 0, 1);
    EXPECT_EQ(offsets.Query("G", "T", 0), 12);
    ASSERT_TRUE(offsets.Persist().ok());
    // Not persisted: lost on reload, as a crash would lose it.
    offsets.Commit("G", "T", 0, 99);
  }
  ConsumerOffsetManager reloaded(path);
  ASSERT_TRUE(reloaded.Load().ok());
  EXPECT_EQ(reloaded.Query("G", "T", 0), 12);
  EXPECT_EQ(reloaded.Query("G", "T", 3), 7);
  EXPECT_EQ(reloaded.Query("G", "U", 1), 5);
  EXPECT_FALSE(reloaded.Query("G", "T", 1).has_value());
  EXPECT_THAT(reloaded.TopicsOf("G"), ElementsAre("T", "U"));
  reloaded.RemoveTopic("T");
  EXPECT_FALSE(reloaded.Query("G", "T", 0).has_value());
  EXPECT_FALSE(reloaded.Query("H", "T", 0).has_value());
  EXPECT_EQ(reloaded.Query("G", "U", 1), 5);
  ASSERT_TRUE(reloaded.Persist().ok());
  ConsumerOffsetManager again(path);
  ASSERT_TRUE(again.Load().ok());
  EXPECT_THAT(again.TopicsOf("G"), ElementsAre("U"));
}

// A state file cut short (empty, or ending inside a line) is refused with a
// clear error instead of loading what is left, which would silently send
// the lost groups back to their consume_from; a whole file still loads.
TEST(ConsumerOffsetManagerTest, AddedQueuesStartForGroupsOfTheTopicOnly) {
  ConsumerOffsetManager offsets(TempPath("added_queues"));
  offsets.Commit("G", "T", 0, 40);
  offsets.Commit("G", "T", 2, 9);  // kept from before the topic shrank
  offsets.Commit("H", "T", 1, 3);
  offsets.Commit("K", "U", 0, 1);
  EXPECT_THAT(offsets.StartAddedQueues("T", {{2, 5}, {3, 0}}),
              ElementsAre("G", "H"));
  EXPECT_EQ(offsets.Query("G", "T", 2), 9);
  EXPECT_EQ(offsets.Query("G", "T", 3), 0);
  EXPECT_EQ(offsets.Query("H", "T", 2), 5);
  EXPECT_EQ(offsets.Query("H", "T", 3), 0);
  // A group of another topic, or one that comes later, is left to its
  // consume-from point.
  EXPECT_FALSE(offsets.Query("K", "T", 3).has_value());
  EXPECT_FALSE(offsets.Query("K", "U", 1).has_value());
  // Nothing new to start the second time.
  EXPECT_THAT(offsets.StartAddedQueues("T", {{2, 5}, {3, 0}}), IsEmpty());
}

TEST(ConsumerOffsetManagerTest, TruncatedFileIsAnError) {
  const std::string path = TempPath("truncated_offsets");
  {
    ConsumerOffsetManager offsets(path);
    offsets.Commit("G", "T", 0, 1234);
    offsets.Commit("H", "T", 0, 5);
    ASSERT_TRUE(offsets.Persist().ok());
  }
  absl::StatusOr<std::optional<std::string>> whole = ReadFileIfExists(path);
  ASSERT_TRUE(whole.ok() && whole->has_value());
  const std::string text = **whole;
  ASSERT_TRUE(ConsumerOffsetManager(path).Load().ok());
  for (size_t size : {size_t{0}, text.size() - 1, text.size() - 3}) {
    ASSERT_TRUE(WriteFileAtomically(path, text.substr(0, size)).ok());
    ConsumerOffsetManager cut(path);
    absl::Status loaded = cut.Load();
    EXPECT_EQ(loaded.code(), absl::StatusCode::kDataLoss) << size;
    EXPECT_THAT(loaded.message(), HasSubstr("truncated"));
    EXPECT_THAT(loaded.message(), HasSubstr(path));
  }
}

TEST(SubscriptionGroupManagerTest, TruncatedFileIsAnError) {
  const std::string path = TempPath("truncated_groups");
  {
    SubscriptionGroupManager groups(path, /*auto_create=*/true);
    ASSERT_TRUE(groups.FindOrCreate("G1").has_value());
    ASSERT_TRUE(groups.Persist().ok());
  }
  absl::StatusOr<std::optional<std::string>> whole = ReadFileIfExists(path);
  ASSERT_TRUE(whole.ok() && whole->has_value());
  const std::string text = **whole;
  for (size_t size : {size_t{0}, text.size() - 1}) {
    ASSERT_TRUE(WriteFileAtomically(path, text.substr(0, size)).ok());
    SubscriptionGroupManager cut(path, /*auto_create=*/true);
    absl::Status loaded = cut.Load();
    EXPECT_EQ(loaded.code(), absl::StatusCode::kDataLoss) << size;
    EXPECT_THAT(loaded.message(), HasSubstr("truncated"));
  }
}

// The files' exact bytes: stores written by earlier versions must load,
// and theirs by later ones.
TEST(ManagersFileFormatTest, PersistWritesTheKnownFormat) {
  const std::string offsets_path = TempPath("format_offsets");
  ConsumerOffsetManager offsets(offsets_path);
  offsets.Commit("G", "T", 1, 7);
  offsets.Commit("G", "T", 0, 1234);
  offsets.Commit("A", "%RETRY%A", 0, 0);
  ASSERT_TRUE(offsets.Persist().ok());
  EXPECT_EQ(**ReadFileIfExists(offsets_path),
            "# CometMQ consumer offsets: group@topic=queueId:offset,...\n"
            "A@%RETRY%A=0:0\n"
            "G@T=0:1234,1:7\n");

  const std::string groups_path = TempPath("format_groups");
  SubscriptionGroupManager groups(groups_path, /*auto_create=*/true);
  ASSERT_TRUE(groups.FindOrCreate("G2").has_value());
  groups.Update(SubscriptionGroup{"G1", false, 3, 2});
  ASSERT_TRUE(groups.Persist().ok());
  EXPECT_EQ(**ReadFileIfExists(groups_path),
            "# CometMQ consumer groups: group=consumeEnable,retryMaxTimes,"
            "retryQueueNums\n"
            "G1=0,3,2\n"
            "G2=1,16,1\n");

  const std::string delay_path = TempPath("format_delay");
  ScheduleService schedule(DelayLevels::Default(), delay_path,
                           absl::Seconds(1));
  ASSERT_TRUE(schedule.Replace(R"({"offsetTable":{"1":12,"3":7}})").ok());
  // Every level of the default 18, those never walked at 0.
  std::string delays = R"({"offsetTable":{"1":12,"2":0,"3":7)";
  for (int level = 4; level <= 18; ++level) {
    absl::StrAppend(&delays, ",\"", level, "\":0");
  }
  EXPECT_EQ(**ReadFileIfExists(delay_path), delays + "}}\n");
}

// ---- Paging: a slave copies a table over the frame limit page by page ----

// 16-character keys "<prefix>NNNN": 1,000 of them fill several 4 KiB pages.
std::string Key(const std::string& prefix, int i) {
  return absl::StrCat(prefix, absl::Dec(i, absl::kZeroPad4),
                      std::string(16 - prefix.size() - 4, 'x'));
}

TEST(TopicConfigManagerTest, PagesCoverTheTableOnceInOrder) {
  TopicConfigManager topics(TempPath("paged_topics"), 4);
  ASSERT_TRUE(topics.Load().ok());
  std::vector<proto::TopicConfig> configs;
  for (int i = 0; i < 1000; ++i) configs.push_back(Topic(Key("T", i), 1, 1, 6));
  ASSERT_EQ(*topics.UpdateMany(configs), 1000);

  std::vector<std::string> seen;
  std::string after;
  int pages = 0;
  PageEnd end;
  do {
    std::vector<proto::TopicConfig> page =
        topics.Page(after, kMinPageBytes, &end);
    ASSERT_FALSE(page.empty());
    size_t bytes = 0;
    for (const proto::TopicConfig& t : page) {
      seen.push_back(t.topic_name());
      bytes += t.ByteSizeLong();
    }
    EXPECT_LT(bytes, kMinPageBytes + 100);  // the limit, give or take one
    EXPECT_EQ(end.last, page.back().topic_name());
    after = end.last;
    ++pages;
  } while (end.more);
  EXPECT_GT(pages, 3);
  std::vector<std::string> all;
  for (const proto::TopicConfig& t : topics.All()) {
    all.push_back(t.topic_name());
  }
  EXPECT_EQ(seen, all);
  // Past the last key: an empty last page.
  EXPECT_TRUE(topics.Page(all.back(), kMinPageBytes, &end).empty());
  EXPECT_FALSE(end.more);
}

TEST(TopicConfigManagerTest, UpdateManyWritesOnceAndSkipsUnchanged) {
  const std::string path = TempPath("update_many");
  int changes = 0;
  {
    TopicConfigManager topics(path, 4);
    ASSERT_TRUE(topics.Load().ok());
    topics.SetChangeListener([&] { ++changes; });
    const int64_t version = topics.data_version();
    ASSERT_EQ(*topics.UpdateMany({Topic("A", 1, 1, 6), Topic("B", 2, 2, 6)}),
              2);
    EXPECT_EQ(changes, 1);
    EXPECT_EQ(topics.data_version(), version + 1);
    // Unchanged: no write, no notice, no new version.
    ASSERT_EQ(*topics.UpdateMany({Topic("A", 1, 1, 6)}), 0);
    EXPECT_EQ(changes, 1);
    EXPECT_EQ(topics.data_version(), version + 1);
    // One invalid config: nothing changes.
    EXPECT_FALSE(
        topics.UpdateMany({Topic("A", 3, 3, 6), Topic("C", 0, 1, 6)}).ok());
    EXPECT_EQ(topics.Find("A")->read_queue_nums(), 1);
    EXPECT_FALSE(topics.Find("C").has_value());
    ASSERT_EQ(*topics.UpdateMany({Topic("A", 3, 3, 6)}), 1);
  }
  TopicConfigManager reloaded(path, 4);
  ASSERT_TRUE(reloaded.Load().ok());
  EXPECT_EQ(reloaded.Find("A")->read_queue_nums(), 3);
  EXPECT_EQ(reloaded.Find("B")->read_queue_nums(), 2);
}

TEST(TopicConfigManagerTest, DeleteManyWritesOnce) {
  const std::string path = TempPath("delete_many");
  int changes = 0;
  {
    TopicConfigManager topics(path, 4);
    ASSERT_TRUE(topics.Load().ok());
    ASSERT_EQ(*topics.UpdateMany({Topic("A", 1, 1, 6), Topic("B", 1, 1, 6),
                                  Topic("C", 1, 1, 6)}),
              3);
    topics.SetChangeListener([&] { ++changes; });
    const int64_t version = topics.data_version();
    ASSERT_EQ(*topics.DeleteMany({"A", "C", "Missing"}), 2);
    EXPECT_EQ(changes, 1);
    EXPECT_EQ(topics.data_version(), version + 1);
    ASSERT_EQ(*topics.DeleteMany({"A", "Missing"}), 0);
    EXPECT_EQ(changes, 1);
  }
  TopicConfigManager reloaded(path, 4);
  ASSERT_TRUE(reloaded.Load().ok());
  EXPECT_FALSE(reloaded.Find("A").has_value());
  EXPECT_TRUE(reloaded.Find("B").has_value());
  EXPECT_FALSE(reloaded.Find("C").has_value());
}

// Copies `master`'s table into `slave` page by page as SlaveSync does,
// stopping after `max_pages` pages; returns how many it copied.
template <typename Manager>
int CopyPages(const Manager& master, Manager* slave, int max_pages = 1 << 30) {
  std::string after;
  PageEnd end;
  int pages = 0;
  do {
    if (pages == max_pages) break;
    const std::string text = master.EncodePage(after, kMinPageBytes, &end);
    KeyRange range{after, std::nullopt};
    if (end.more) range.last = end.last;
    EXPECT_TRUE(slave->ReplaceRange(range, text).ok());
    after = end.last;
    ++pages;
  } while (end.more);
  return pages;
}

TEST(ConsumerOffsetManagerTest, PagedCopyEqualsTheMastersTable) {
  ConsumerOffsetManager master(TempPath("paged_master_offsets"));
  ConsumerOffsetManager slave(TempPath("paged_slave_offsets"));
  for (int i = 0; i < 1000; ++i) {
    master.Commit("G", Key("T", i), 0, i);
    master.Commit("G", Key("T", i), 1, i + 1);
  }
  // The slave's own: stale values, keys the master no longer has (in the
  // middle of the key space and past its last key).
  slave.Commit("G", Key("T", 5), 0, 999999);
  slave.Commit("G", Key("S", 7), 0, 1);
  slave.Commit("G", absl::StrCat(Key("T", 500), "y"), 0, 1);
  slave.Commit("Z", "Last", 0, 1);

  EXPECT_GT(CopyPages(master, &slave), 3);
  EXPECT_EQ(slave.Encode(), master.Encode());
}

TEST(ConsumerOffsetManagerTest, CopyCutShortChangesOnlyThePagesItHad) {
  ConsumerOffsetManager master(TempPath("cut_master_offsets"));
  ConsumerOffsetManager slave(TempPath("cut_slave_offsets"));
  for (int i = 0; i < 1000; ++i) master.Commit("G", Key("T", i), 0, i + 1);
  for (int i = 0; i < 1000; ++i) slave.Commit("G", Key("T", i), 0, 0);
  slave.Commit("Z", "Last", 0, 7);

  ASSERT_EQ(CopyPages(master, &slave, /*max_pages=*/1), 1);
  // The first page's keys are the master's; every later one is kept.
  EXPECT_EQ(slave.Query("G", Key("T", 0), 0), 1);
  EXPECT_EQ(slave.Query("G", Key("T", 999), 0), 0);
  EXPECT_EQ(slave.Query("Z", "Last", 0), 7);
}

TEST(SubscriptionGroupManagerTest, PagedCopyEqualsTheMastersTable) {
  SubscriptionGroupManager master(TempPath("paged_master_groups"),
                                  /*auto_create=*/true);
  SubscriptionGroupManager slave(TempPath("paged_slave_groups"),
                                 /*auto_create=*/true);
  for (int i = 0; i < 1000; ++i) {
    SubscriptionGroup group;
    group.name = Key("G", i);
    group.retry_max_times = i % 17;
    master.Update(group);
  }
  ASSERT_TRUE(slave.FindOrCreate("AOnlyOnSlave").has_value());
  ASSERT_TRUE(slave.FindOrCreate(absl::StrCat(Key("G", 3), "y")).has_value());
  ASSERT_TRUE(slave.FindOrCreate("ZOnlyOnSlave").has_value());

  EXPECT_GT(CopyPages(master, &slave), 3);
  EXPECT_EQ(slave.Encode(), master.Encode());
}

}  // namespace
}  // namespace cometmq::broker
