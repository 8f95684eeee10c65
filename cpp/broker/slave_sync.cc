#include "cpp/broker/slave_sync.h"

#include <pthread.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "cpp/broker/transactional_message.h"
#include "spdlog/spdlog.h"

namespace cometmq::broker {
namespace {

constexpr absl::Duration kRequestTimeout = absl::Seconds(3);

absl::StatusOr<remoting::Command> Call(remoting::RemotingClient* client,
                                       const std::string& addr,
                                       remoting::Command request) {
  absl::StatusOr<remoting::Command> response =
      client->InvokeSync(addr, std::move(request), kRequestTimeout);
  if (!response.ok()) return response.status();
  if (response->header.status() != proto::SUCCESS) {
    return absl::UnavailableError(absl::StrCat("master ", addr, " answered ",
                                               response->header.status(), ": ",
                                               response->header.remark()));
  }
  return response;
}

// The Page of an answer, or nullptr when it has none (a master older than
// paging answered its whole table).
const proto::Page* PageOf(const remoting::Command& response) {
  if (response.header.has_topic_list_response() &&
      response.header.topic_list_response().has_page()) {
    return &response.header.topic_list_response().page();
  }
  if (response.header.has_page_response()) {
    return &response.header.page_response();
  }
  return nullptr;
}

}  // namespace

absl::Status SlaveSync::FetchPages(const std::string& master, int32_t code,
                                   const PageHandler& apply) {
  std::string after;
  while (true) {
    remoting::Command request = remoting::MakeRequest(code);
    request.header.mutable_page()->set_after(after);
    request.header.mutable_page()->set_max_bytes(page_bytes_);
    absl::StatusOr<remoting::Command> response =
        Call(&client_, master, std::move(request));
    if (!response.ok()) return response.status();
    const proto::Page* page = PageOf(*response);
    KeyRange range{after, std::nullopt};
    if (page != nullptr && page->more()) {
      if (page->last() <= after) {
        return absl::DataLossError(absl::StrCat(
            "master ", master, " answered request code ", code,
            " with a page that does not advance past '", after, "'"));
      }
      range.last = page->last();
    }
    if (absl::Status s = apply(*response, range); !s.ok()) return s;
    if (page == nullptr || !page->more()) return absl::OkStatus();
    after = page->last();
  }
}

SlaveSync::SlaveSync(absl::Duration interval,
                     std::function<std::string()> master_addr,
                     TopicConfigManager* topics, ConsumerOffsetManager* offsets,
                     SubscriptionGroupManager* groups,
                     ScheduleService* schedule, store::MessageStore* store)
    : interval_(interval),
      master_addr_(std::move(master_addr)),
      topics_(topics),
      offsets_(offsets),
      groups_(groups),
      schedule_(schedule),
      store_(store) {}

SlaveSync::~SlaveSync() { Stop(); }

void SlaveSync::Start() {
  thread_ = std::thread([this] { Loop(); });
}

void SlaveSync::Stop() {
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  client_.Shutdown();
  if (thread_.joinable()) thread_.join();
}

void SlaveSync::Loop() {
  pthread_setname_np(pthread_self(), "slave-sync");
  std::string last_error;
  while (true) {
    absl::Status s = SyncOnce();
    if (!s.ok() && std::string(s.message()) != last_error) {
      spdlog::warn("slave sync: {}", std::string(s.message()));
    }
    last_error = s.ok() ? "" : std::string(s.message());
    absl::MutexLock lock(&mu_);
    mu_.AwaitWithTimeout(absl::Condition(&stopping_), interval_);
    if (stopping_) return;
  }
}

absl::Status SlaveSync::SyncOnce() {
  const std::string master = master_addr_();
  if (master.empty()) {
    return absl::UnavailableError("no master registered for this broker");
  }
  absl::Status first_error;
  for (absl::Status s : {SyncTopics(master), SyncOffsets(master),
                         SyncGroups(master), SyncDelayOffsets(master)}) {
    if (first_error.ok()) first_error = s;
  }
  if (first_error.ok()) rounds_.fetch_add(1);
  return first_error;
}

absl::Status SlaveSync::SyncTopics(const std::string& master) {
  // Taken before asking: a record past it may be newer than the table.
  const int64_t log_end = store_->MaxPhysicalOffset();
  // Each page's topics are created or updated as it comes: the master has
  // them as they are, whether or not the rest of the copy arrives. Only
  // deleting needs the whole table, so only the names are kept until then.
  absl::flat_hash_set<std::string> on_master;
  absl::Status fetched =
      FetchPages(master, proto::GET_ALL_TOPIC_CONFIG,
                 [&](const remoting::Command& response, const KeyRange&) {
                   return ApplyTopicsPage(response.header.topic_list_response(),
                                          &on_master);
                 });
  if (!fetched.ok()) return fetched;
  if (!on_master.contains(kScheduleTopic)) {
    return absl::DataLossError(
        absl::StrCat("master ", master, " answered a topic table without ",
                     kScheduleTopic, " (", on_master.size(),
                     " topics): not its full table, so no topic is deleted"));
  }
  return DeleteTopicsGoneFromMaster(on_master, log_end);
}

absl::Status SlaveSync::ApplyTopicsPage(
    const proto::TopicList& page, absl::flat_hash_set<std::string>* on_master) {
  std::vector<proto::TopicConfig> changed;
  for (const proto::TopicConfig& config : page.configs()) {
    on_master->insert(config.topic_name());
    std::optional<proto::TopicConfig> local =
        topics_->Find(config.topic_name());
    if (local.has_value() &&
        local->SerializeAsString() == config.SerializeAsString()) {
      continue;
    }
    changed.push_back(config);
  }
  if (changed.empty()) return absl::OkStatus();
  // One write of the table for the page, not one per topic.
  return topics_->UpdateMany(changed).status();
}

absl::Status SlaveSync::DeleteTopicsGoneFromMaster(
    const absl::flat_hash_set<std::string>& on_master, int64_t log_end) {
  absl::flat_hash_set<std::string> gone;
  for (const proto::TopicConfig& local : topics_->All()) {
    const std::string& topic = local.topic_name();
    // The master refuses to delete these, and creates some only when used.
    if (topic == kScheduleTopic || IsTransactionTopic(topic)) continue;
    if (!on_master.contains(topic)) gone.insert(topic);
  }
  if (gone.empty()) return absl::OkStatus();
  const absl::flat_hash_set<std::string> deleted =
      store_->DeleteTopicsBefore(gone, log_end);
  for (const std::string& topic : gone) {
    if (!deleted.contains(topic)) {
      spdlog::info(
          "topic {} is gone from the master's table but has records newer "
          "than it here; it is deleted once a later table still lacks it",
          topic);
    }
  }
  if (deleted.empty()) return absl::OkStatus();
  // One write of the table for them all: the master may have deleted
  // thousands of topics since the last copy.
  const std::vector<std::string> names(deleted.begin(), deleted.end());
  if (absl::Status s = topics_->DeleteMany(names).status(); !s.ok()) return s;
  for (const std::string& topic : names) {
    offsets_->RemoveTopic(topic);
    spdlog::info("topic {} deleted: the master no longer has it", topic);
  }
  return absl::OkStatus();
}

absl::Status SlaveSync::SyncOffsets(const std::string& master) {
  return FetchPages(
      master, proto::GET_ALL_CONSUMER_OFFSET,
      [this](const remoting::Command& response, const KeyRange& range) {
        return offsets_->ReplaceRange(range, response.body);
      });
}

absl::Status SlaveSync::SyncGroups(const std::string& master) {
  return FetchPages(
      master, proto::GET_ALL_SUBSCRIPTIONGROUP_CONFIG,
      [this](const remoting::Command& response, const KeyRange& range) {
        return groups_->ReplaceRange(range, response.body);
      });
}

absl::Status SlaveSync::SyncDelayOffsets(const std::string& master) {
  absl::StatusOr<remoting::Command> response = Call(
      &client_, master, remoting::MakeRequest(proto::GET_ALL_DELAY_OFFSET));
  if (!response.ok()) return response.status();
  if (response->header.has_delay_offset_table_response() &&
      !WaitForLog(
          response->header.delay_offset_table_response().copies_end())) {
    // Kept as it was: taken at a later round, once replicated.
    return absl::UnavailableError(
        "delay progress not copied yet: this slave's commit log has not "
        "reached the master's delivered delayed messages");
  }
  return schedule_->Replace(response->body);
}

bool SlaveSync::WaitForLog(int64_t end) {
  const absl::Time deadline = absl::Now() + kReplicationWait;
  while (store_->MaxPhysicalOffset() < end) {
    absl::MutexLock lock(&mu_);
    // Replication moves the log on its own thread and signals nothing here.
    mu_.AwaitWithTimeout(absl::Condition(&stopping_), absl::Milliseconds(10));
    if (stopping_ || absl::Now() >= deadline) return false;
  }
  return true;
}

}  // namespace cometmq::broker
