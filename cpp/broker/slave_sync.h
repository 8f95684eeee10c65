#ifndef COMETMQ_BROKER_SLAVE_SYNC_H_
#define COMETMQ_BROKER_SLAVE_SYNC_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "cpp/broker/consumer_offset_manager.h"
#include "cpp/broker/schedule_service.h"
#include "cpp/broker/subscription_group_manager.h"
#include "cpp/broker/topic_config_manager.h"
#include "cpp/common/table_page.h"
#include "cpp/remoting/remoting_client.h"
#include "cpp/store/message_store.h"

namespace cometmq::broker {

// A slave's copy of its master's metadata: topic configs (so the slave can
// serve pulls and register routes), consumer offsets (so a consumer that
// fails over to the slave resumes where it was), consumer groups (so it is
// let in) and the delay levels' progress (so a slave restarted as the
// master does not deliver delayed messages again; taken only once this
// slave's commit log holds the copies that progress passed, so it never
// skips one). Runs on one thread
// ("slave-sync") every `interval` while the master's address is known; a
// master that does not answer leaves the slave's tables as they are.
//
// A topic the master's table no longer has was deleted there: the slave
// deletes it too, with its consume queues and consumer offsets, as the
// master did. Only a successful answer holding the master's full table
// (which always has the schedule topic) deletes anything, and never a
// system topic or a topic whose queues hold records newer than the table
// (see MessageStore::DeleteTopicsBefore).
//
// Topic configs, consumer offsets and groups are asked for a page at a time
// (proto PageRequest), as a table of any size can outgrow one frame. Each
// page is applied as it arrives: a page's topics are created or updated; a
// page of offsets or groups replaces the slave's entries in the key range
// it covers. So a copy cut short (a failed page, a restart) leaves every
// entry either as the master had it or as it was, and deletes no topic:
// topics are deleted only once every page arrived. A topic the master
// deletes or creates between pages is caught by the next round. A master
// older than paging answers its whole table at once, applied as before.
class SlaveSync {
 public:
  SlaveSync(absl::Duration interval, std::function<std::string()> master_addr,
            TopicConfigManager* topics, ConsumerOffsetManager* offsets,
            SubscriptionGroupManager* groups, ScheduleService* schedule,
            store::MessageStore* store);
  ~SlaveSync();
  SlaveSync(const SlaveSync&) = delete;
  SlaveSync& operator=(const SlaveSync&) = delete;

  void Start();
  void Stop();
  // One round now; the error of the first request that failed.
  absl::Status SyncOnce();
  // Rounds that copied every table.
  int64_t rounds() const { return rounds_.load(); }
  // The page size asked of the master (it caps it; 0: its default). Tests.
  void set_page_bytes(uint32_t bytes) { page_bytes_ = bytes; }

 private:
  void Loop();
  // Called with each answer and the keys it covers; an error ends the copy.
  using PageHandler =
      std::function<absl::Status(const remoting::Command&, const KeyRange&)>;
  // Asks `code` of `master` page after page, until the last.
  absl::Status FetchPages(const std::string& master, int32_t code,
                          const PageHandler& apply);
  absl::Status SyncTopics(const std::string& master);
  // Creates or updates the page's topics that differ here; adds their
  // names to `on_master`.
  absl::Status ApplyTopicsPage(const proto::TopicList& page,
                               absl::flat_hash_set<std::string>* on_master);
  // Deletes the slave's topics missing from the master's table `on_master`,
  // fetched when the slave's commit log ended at `log_end`.
  absl::Status DeleteTopicsGoneFromMaster(
      const absl::flat_hash_set<std::string>& on_master, int64_t log_end);
  absl::Status SyncOffsets(const std::string& master);
  absl::Status SyncGroups(const std::string& master);
  absl::Status SyncDelayOffsets(const std::string& master);
  // Waits up to kReplicationWait for this slave's commit log to reach
  // `end`; false if it did not (or the sync is stopping).
  bool WaitForLog(int64_t end);
  static constexpr absl::Duration kReplicationWait = absl::Seconds(3);

  const absl::Duration interval_;
  const std::function<std::string()> master_addr_;
  TopicConfigManager* const topics_;
  ConsumerOffsetManager* const offsets_;
  SubscriptionGroupManager* const groups_;
  ScheduleService* const schedule_;
  store::MessageStore* const store_;
  remoting::RemotingClient client_;
  std::atomic<uint32_t> page_bytes_{0};
  std::thread thread_;
  std::atomic<int64_t> rounds_{0};
  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace cometmq::broker

#endif  // COMETMQ_BROKER_SLAVE_SYNC_H_
