#ifndef COMETMQ_CLIENT_ADMIN_H_
#define COMETMQ_CLIENT_ADMIN_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "cpp/client/client_instance.h"
#include "cpp/client/message.h"
#include "proto/remoting.pb.h"

namespace cometmq::client {

struct QueueOffsets {
  std::string broker_name;
  int32_t queue_id = 0;
  int64_t min_offset = 0;
  int64_t max_offset = 0;
  int64_t last_update_timestamp = 0;
};

// What UPDATE_AND_CREATE_TOPIC sets (RocketMQ's TopicConfig fields). A
// topic updated without a field gets its default again, as in RocketMQ.
struct TopicSettings {
  int32_t read_queues = 8;
  int32_t write_queues = 8;
  int32_t perm = proto::PERM_READ | proto::PERM_WRITE;  // Permission bits
  bool order = false;
};

// One queue's consumer offset as set by ResetOffsetByTime.
struct QueueReset {
  std::string broker_name;
  int32_t queue_id = 0;
  int64_t offset = 0;
  // Set by the broker, which told the group's online clients
  // (INVOKE_BROKER_TO_RESET_OFFSET); false: written directly
  // (UPDATE_CONSUMER_OFFSET) because the group had no online consumer there.
  bool online = false;
};

// What ResetOffsetByTime did.
struct OffsetReset {
  std::vector<QueueReset> queues;  // by broker, then queue id
  // Online clients of the group the brokers told (summed over brokers; a
  // client of several brokers counts once per broker).
  int32_t clients_notified = 0;
};

// What CloneGroupOffset did on one master.
struct GroupOffsetClone {
  std::string broker_name;
  std::vector<std::string> topics;  // whose offsets were cloned there
  int32_t clients_notified = 0;     // online clients of the dest group told
};

struct QueueProgress {
  std::string topic;
  std::string broker_name;
  int32_t queue_id = 0;
  int64_t broker_offset = 0;
  int64_t consumer_offset = 0;
  int64_t lag = 0;  // broker_offset - consumer_offset
};

// One dead letter put back on its topic by ResendDlq.
struct ResentMessage {
  std::string msg_id;  // unchanged: the message's first id
  std::string topic;   // the topic it failed on, sent to again
  std::string broker_name;
  int32_t queue_id = 0;
  int64_t queue_offset = 0;
};

// One client of a group as a broker knows it (RocketMQ's Connection).
struct ClientConnection {
  std::string client_id;
  std::string address;   // host:port the broker sees the client at
  std::string language;  // "CPP"
  std::string version;   // the CometMQ version the client runs
};

// A consumer group's live members and what the group declared (RocketMQ's
// ConsumerConnection).
struct ConsumerConnectionInfo {
  std::vector<ClientConnection> connections;  // sorted by client id
  std::string consume_type;   // CONSUME_PASSIVELY (push), CONSUME_ACTIVELY
  std::string message_model;  // CLUSTERING or BROADCASTING
  std::string consume_from_where;
  std::map<std::string, std::string> subscriptions;  // topic -> expression
  // Topic -> the expression's type, TAG or SQL92 (RocketMQ's names).
  std::map<std::string, std::string> expression_types;
};

// What DELETE_SUBSCRIPTIONGROUP did on one broker.
struct DeletedGroup {
  std::string broker_addr;
  bool existed = false;     // the broker had the group's settings
  int offsets_removed = 0;  // group@topic offset entries removed
};

// Administration over the NameServers and brokers (mqadmin's calls). Every
// call is synchronous and reports the first broker or NameServer error with
// its status code and remark. Thread-safe.
class Admin {
 public:
  explicit Admin(ClientConfig config);
  absl::Status Start();
  void Shutdown();

  // UPDATE_AND_CREATE_TOPIC on every master of `cluster`.
  absl::Status CreateTopic(const std::string& topic, const std::string& cluster,
                           const TopicSettings& settings);
  absl::Status CreateTopic(const std::string& topic, const std::string& cluster,
                           int32_t read_queues, int32_t write_queues);
  // UPDATE_AND_CREATE_TOPIC on the one broker at `broker_addr`.
  absl::Status CreateTopicOnBroker(const std::string& topic,
                                   const std::string& broker_addr,
                                   const TopicSettings& settings);
  absl::Status CreateTopicOnBroker(const std::string& topic,
                                   const std::string& broker_addr,
                                   int32_t read_queues, int32_t write_queues);
  // Consumer groups of `topic` on every master of its route
  // (QUERY_TOPIC_CONSUME_BY_WHO): groups online and subscribed to it, and
  // groups with committed offsets for it. Sorted, without duplicates.
  absl::StatusOr<std::vector<std::string>> TopicConsumeByWho(
      const std::string& topic);
  // UPDATE_AND_CREATE_SUBSCRIPTIONGROUP on every master of `cluster`, or on
  // the broker at `broker_addr` when `cluster` is empty. Returns the
  // addresses updated.
  absl::StatusOr<std::vector<std::string>> UpdateSubscriptionGroup(
      const proto::SubscriptionGroupConfig& group, const std::string& cluster,
      const std::string& broker_addr);
  // DELETE_SUBSCRIPTIONGROUP on every master of `cluster`, or on the
  // broker at `broker_addr` when `cluster` is empty; with `remove_offsets`
  // the group's committed offsets go too. Each broker writes its files
  // before it answers. A group a broker does not know is no error (as in
  // RocketMQ): its entry says existed = false.
  absl::StatusOr<std::vector<DeletedGroup>> DeleteSubscriptionGroup(
      const std::string& group, const std::string& cluster,
      const std::string& broker_addr, bool remove_offsets);
  // The live members of consumer group `group` (GET_CONSUMER_CONNECTION_LIST)
  // as the broker at `broker_addr` knows them, or, when it is empty, as the
  // brokers of the group's retry topic %RETRY%<group> know them (every
  // broker of every cluster when that topic has no route: broadcasting and
  // pull consumers' groups have none), merged by client id; a broker that
  // does not answer is skipped while another does. NotFound
  // "consumer group [G] has no consumer online" when none has a member.
  absl::StatusOr<ConsumerConnectionInfo> ConsumerConnection(
      const std::string& group, const std::string& broker_addr = "");
  // The live members of producer group `group` on the brokers of `topic`'s
  // route (GET_PRODUCER_CONNECTION_LIST), merged by client id, skipping a
  // broker that does not answer while another does. NotFound
  // "producer group [G] has no producer online" when none has a member.
  absl::StatusOr<std::vector<ClientConnection>> ProducerConnection(
      const std::string& group, const std::string& topic);
  absl::StatusOr<proto::TopicRouteData> TopicRoute(const std::string& topic);
  // Every topic a NameServer knows (GET_ALL_TOPIC_LIST_FROM_NAMESERVER).
  absl::StatusOr<std::vector<std::string>> TopicList();
  // GET_BROKER_CONFIG of the broker at `broker_addr`: every broker.conf key
  // with the value it runs with.
  absl::StatusOr<std::map<std::string, std::string>> BrokerConfig(
      const std::string& broker_addr);
  // UPDATE_BROKER_CONFIG on the broker at `broker_addr`: sets `key` to
  // `value` while it runs and in its config file. The broker refuses (with
  // BAD_REQUEST, nothing changed) an unknown key, a key it cannot change
  // at run time and a bad value.
  absl::Status UpdateBrokerConfig(const std::string& broker_addr,
                                  const std::string& key,
                                  const std::string& value);
  // One NameServer's answer to WritePermOfBroker.
  struct NamesrvWritePerm {
    std::string namesrv_addr;
    // How many topics that NameServer routes for the broker, or why it
    // failed.
    absl::StatusOr<int32_t> topic_count;
  };
  // WIPE_WRITE_PERM_OF_BROKER (`wipe`) or ADD_WRITE_PERM_OF_BROKER for
  // broker name `broker_name` on every NameServer this admin was started
  // on, in namesrvAddr order; each is asked even when another failed.
  absl::StatusOr<std::vector<NamesrvWritePerm>> WritePermOfBroker(
      const std::string& broker_name, bool wipe);
  // GET_BROKER_RUNTIME_INFO of the broker at `broker_addr`.
  absl::StatusOr<proto::BrokerRuntimeInfo> BrokerRuntimeInfo(
      const std::string& broker_addr);
  // Sets `group`'s offset of every queue of `topic` on every master to the
  // offset of the first message stored at or after `timestamp_millis`, or
  // to the queue's max offset when it is -1 (skipAccumulatedMessage).
  // Without `force` a queue only moves back (ResetOffsetFor). As RocketMQ's
  // resetOffsetByTimestamp: each master is asked to reset
  // (INVOKE_BROKER_TO_RESET_OFFSET), which stores the offsets and tells the
  // group's online clients, who drop what they hold of those queues and
  // pull from there (their own later commits do not undo it); a master
  // where the group has no online consumer (CONSUMER_NOT_ONLINE) gets the
  // offsets written directly instead (resetOffsetByTimestampOld).
  absl::StatusOr<OffsetReset> ResetOffsetByTime(const std::string& group,
                                                const std::string& topic,
                                                int64_t timestamp_millis,
                                                bool force = true);
  // `dest_group` takes `src_group`'s committed offsets of `topic` on every
  // master of the topic's route (CLONE_GROUP_OFFSET), and dest_group's
  // running consumers go on from them. Without `offline`, a broker where
  // src_group is online but does not subscribe to the topic clones
  // nothing (as RocketMQ).
  absl::StatusOr<std::vector<GroupOffsetClone>> CloneGroupOffset(
      const std::string& src_group, const std::string& dest_group,
      const std::string& topic, bool offline);
  absl::StatusOr<proto::ClusterInfo> ClusterList();
  // Per queue of every broker of the route.
  absl::StatusOr<std::vector<QueueOffsets>> TopicStats(
      const std::string& topic);
  // Per queue of `topic`, or of every topic the group consumes when `topic`
  // is empty.
  absl::StatusOr<std::vector<QueueProgress>> ConsumerProgress(
      const std::string& group, const std::string& topic);
  // From every master of `cluster`, then from every NameServer.
  absl::Status DeleteTopic(const std::string& topic,
                           const std::string& cluster);
  // The message an offset message id names, with its broker's name when a
  // NameServer knows the broker. NotFound without asking anyone when the
  // NameServers answer and no broker of theirs is at the id's address (a
  // producer's msg id decodes to an address too: its ip and pid; a broker
  // registered by host name writes 127.0.0.1 and its port). When
  // that broker does not answer at all, its slaves are asked (they hold its
  // commit log at the same offsets).
  absl::StatusOr<MessageExt> ViewMessage(const std::string& offset_msg_id);
  // Every stored copy of the message a producer's msg id names (its
  // UNIQ_KEY; a send retried after a timeout, or a dead letter re-sent, is
  // stored again under the same id) in `topic`, from the index of each
  // broker of the topic's route (its master, else a slave), oldest first.
  // Empty when no broker has it. A broker that does not answer fails the
  // call only when no other broker has the message.
  absl::StatusOr<std::vector<MessageExt>> QueryByUniqueKey(
      const std::string& topic, const std::string& unique_key);
  // RocketMQ's viewMessage(topic, msgId): the message `msg_id` names in
  // `topic`, as an offset message id of a registered broker or else as a
  // producer's msg id (the oldest copy). NotFound when it is neither.
  absl::StatusOr<MessageExt> ViewMessageInTopic(const std::string& topic,
                                                const std::string& msg_id);
  // The message at `queue_offset` of queue `queue_id` of `topic` on broker
  // `broker_name` (its master, else a slave), pulled as RocketMQ's mqadmin
  // does, by group TOOLS_CONSUMER, committing nothing. NotFound when the
  // broker is not in the topic's route or the queue holds no message there.
  absl::StatusOr<MessageExt> MessageAtOffset(const std::string& topic,
                                             const std::string& broker_name,
                                             int32_t queue_id,
                                             int64_t queue_offset);
  // Up to `max_messages` messages of that queue from `queue_offset` on, in
  // one pull as MessageAtOffset does (the broker may return fewer); empty
  // at the queue's end. NotFound when the broker is not in the topic's
  // route or the offset is outside what the queue holds.
  absl::StatusOr<std::vector<MessageExt>> PullMessages(
      const std::string& topic, const std::string& broker_name,
      int32_t queue_id, int64_t queue_offset, int32_t max_messages);
  // The offset of the first message of that queue stored at or after
  // `timestamp_millis` (SEARCH_OFFSET_BY_TIMESTAMP; the queue's end when
  // none is), asked of the master, else a slave.
  absl::StatusOr<int64_t> SearchOffset(const std::string& topic,
                                       const std::string& broker_name,
                                       int32_t queue_id,
                                       int64_t timestamp_millis);
  // Sends the messages of %DLQ%<group> not re-sent before back to the topic
  // each failed on (the RETRY_TOPIC property the broker stored when it moved
  // them there), at most `max_messages`, with their body, tags, keys, user
  // properties and msg id; reconsume counts start again from 0. Progress is
  // `group`'s committed offset of the DLQ topic, advanced after every batch
  // re-sent, and up to the dead letter that stopped a call with its error
  // (its topic gone, say), so repeated calls re-send each dead letter once
  // (at least once if the call fails while that offset is written). Empty
  // when the group has no DLQ.
  absl::StatusOr<std::vector<ResentMessage>> ResendDlq(
      const std::string& group, int32_t max_messages = 1000);
  absl::StatusOr<std::vector<MessageExt>> QueryByKey(const std::string& topic,
                                                     const std::string& key,
                                                     int64_t begin_millis,
                                                     int64_t end_millis,
                                                     int32_t max_num = 64);

 private:
  absl::StatusOr<std::shared_ptr<ClientInstance>> Instance();
  // Master addresses (with broker names) of every broker of `cluster`.
  absl::StatusOr<std::vector<std::pair<std::string, std::string>>>
  ClusterMasters(ClientInstance* instance, const std::string& cluster);
  // Where a request for "-b BROKER or -c CLUSTER" goes: `broker_addr` when
  // `cluster` is empty, else every master of `cluster`.
  absl::StatusOr<std::vector<std::string>> BrokerOrClusterMasters(
      ClientInstance* instance, const std::string& cluster,
      const std::string& broker_addr);
  // `request` to broker `broker_name`'s master, or to a slave when the
  // route has no master or the master does not answer at the transport
  // (stopped, and still in the NameServers' routes until they expire it).
  // `address` is where the last attempt went.
  // The started instance when `broker_name` is in `topic`'s route (just
  // fetched); NotFound naming the topic's brokers otherwise.
  absl::StatusOr<std::shared_ptr<ClientInstance>> InstanceWithBroker(
      const std::string& topic, const std::string& broker_name);
  absl::StatusOr<remoting::Command> CallForRead(
      ClientInstance* instance, const std::string& broker_name,
      const remoting::Command& request, std::string* address);
  // QUERY_MESSAGE for `key` in `topic` on each broker of its route (the
  // master, else a slave): the records the index holds under the key's hash
  // that `match` keeps. A broker that fails ends the call unless
  // `tolerate_failures`: then its failure is returned only when no broker
  // had a record `match` keeps.
  absl::StatusOr<std::vector<MessageExt>> QueryIndex(
      ClientInstance* instance, const std::string& topic,
      const std::string& key, int64_t begin_millis, int64_t end_millis,
      int32_t max_num, absl::FunctionRef<bool(const MessageExt&)> match,
      bool tolerate_failures);
  // One dead letter to a queue of `topic` (round robin by `sequence`).
  absl::StatusOr<ResentMessage> Resend(ClientInstance* instance,
                                       const MessageExt& dead,
                                       const std::string& topic,
                                       int64_t sequence);
  absl::StatusOr<remoting::Command> Call(ClientInstance* instance,
                                         const std::string& addr,
                                         remoting::Command request);
  // ResetOffsetByTime's fallback for one master where the group has no
  // online consumer: each queue's offset is looked up and written
  // (UPDATE_CONSUMER_OFFSET), and appended to `resets`.
  absl::Status ResetOffsetDirectly(ClientInstance* instance,
                                   const std::string& master,
                                   const proto::QueueData& queues,
                                   const std::string& group,
                                   const std::string& topic,
                                   int64_t timestamp_millis, bool force,
                                   std::vector<QueueReset>* resets);

  const ClientConfig config_;
  absl::Mutex mu_;
  std::shared_ptr<ClientInstance> instance_ ABSL_GUARDED_BY(mu_);
};

}  // namespace cometmq::client

#endif  // COMETMQ_CLIENT_ADMIN_H_
