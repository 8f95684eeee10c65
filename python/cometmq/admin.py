"""Administration: topics, routes, clusters, stats, message queries."""

import re
import time

from cometmq import _core
from cometmq._lifecycle import Lifecycle, translate
from cometmq.message import Message

_OFFSET_ID = re.compile(r"^[0-9A-Fa-f]{32}$")


class Admin(Lifecycle):
    """Admin operations against the NameServers and brokers of `namesrv`."""

    def __init__(self, namesrv):
        super().__init__()
        self._core = _core.Admin(namesrv)
        self.start()

    @translate
    def _start(self):
        self._core.start()

    def _shutdown(self):
        self._core.shutdown()

    @translate
    def create_topic(self, topic, cluster="DefaultCluster", read_queues=8,
                     write_queues=8, perm=6, order=False):
        """Creates or updates `topic` on every master of `cluster`. `perm`
        is RocketMQ's PermName: 6 read and write, 4 read only (sends fail
        with NoPermissionError), 2 write only (nothing is pulled); `order`
        marks the topic ordered in its config and route."""
        self._core.create_topic(topic, cluster, read_queues, write_queues,
                                perm, bool(order))

    @translate
    def delete_topic(self, topic, cluster="DefaultCluster"):
        self._core.delete_topic(topic, cluster)

    @translate
    def topic_route(self, topic):
        return self._core.topic_route(topic)

    @translate
    def cluster_list(self):
        return self._core.cluster_list()

    @translate
    def broker_status(self, broker_addr):
        """The broker's runtime table (GET_BROKER_RUNTIME_INFO) as a dict of
        strings, e.g. brokerRole, commitLogMaxOffset, and replication state:
        haSlaveCount / haSlave<id>AckOffset / haSlave<id>LagBytes on a
        master, haConnected / haReplicatedOffset on a slave."""
        return self._core.broker_status(broker_addr)

    @translate
    def broker_config(self, broker_addr):
        """Every broker.conf key with the value the broker runs with,
        defaults included, as a dict of strings (GET_BROKER_CONFIG; what
        `mqadmin getBrokerConfig` prints)."""
        return self._core.broker_config(broker_addr)

    @translate
    def update_broker_config(self, broker_addr, key, value):
        """Sets broker.conf `key` to `value` on the running broker at
        `broker_addr` and in its config file (UPDATE_BROKER_CONFIG; `mqadmin
        updateBrokerConfig -b`). Only brokerPermission changes at run time
        (4 read-only, 6 read-write); the broker re-registers before it
        answers. An unknown key, a key fixed at start or a bad value raises
        and changes nothing."""
        self._core.update_broker_config(broker_addr, str(key), str(value))

    @translate
    def wipe_write_perm(self, broker_name):
        """Takes write permission from every queue of broker `broker_name`
        on every NameServer (`mqadmin wipeWritePerm`), so producers stop
        sending there; it holds until add_write_perm() or the broker
        registers anew. Returns {NameServer address: topics it routes for
        the broker}; raises once every NameServer was asked if any failed."""
        return self._core.write_perm_of_broker(broker_name, True)

    @translate
    def add_write_perm(self, broker_name):
        """Ends a wipe_write_perm(): the broker's queues get back the
        permissions it last registered (`mqadmin addWritePerm`). Returns and
        raises as wipe_write_perm()."""
        return self._core.write_perm_of_broker(broker_name, False)

    @translate
    def topic_stats(self, topic):
        return self._core.topic_stats(topic)

    @translate
    def consumer_progress(self, group, topic=""):
        return self._core.consumer_progress(group, topic or "")

    @translate
    def reset_offset_by_time(self, group, topic, timestamp_ms, force=True):
        """Sets consumer group `group`'s offset of every queue of `topic`
        to the first message stored at or after `timestamp_ms` (ms since
        the epoch; `mqadmin resetOffsetByTime`), while its consumers run:
        each master stores the offsets and tells the group's online
        consumers, which drop what they hold of those queues and continue
        from there (their own later commits do not undo it). A master
        where the group has no online consumer gets the offsets written
        directly. With force=False a queue only moves back, never past its
        committed offset. Returns a dict: `queues` (dicts of broker_name,
        queue_id, offset, and online: False where written directly) and
        `clients_notified`."""
        return self._core.reset_offset_by_time(group, topic,
                                               int(timestamp_ms), bool(force))

    def skip_accumulated_message(self, group, topic, force=True):
        """Skips consumer group `group`'s backlog on `topic`: every queue's
        offset goes to its end (`mqadmin skipAccumulatedMessage`), while its
        consumers run; as reset_offset_by_time otherwise."""
        return self.reset_offset_by_time(group, topic, -1, force)

    @translate
    def clone_group_offset(self, src_group, dest_group, topic, offline=False):
        """Gives consumer group `dest_group` the committed offsets of
        `src_group` on `topic`, on every master of the topic (`mqadmin
        cloneGroupOffset`); dest_group's running consumers continue from
        them. Without `offline`, a broker where src_group is online but does
        not subscribe to `topic` clones nothing. Returns a list of dicts of
        broker_name, cloned, clients_notified."""
        return self._core.clone_group_offset(src_group, dest_group, topic,
                                             bool(offline))

    @translate
    def consumer_connection(self, group, broker_addr=None):
        """The online clients of consumer group `group` and what the group
        declared (GET_CONSUMER_CONNECTION_LIST; `mqadmin consumerConnection`):
        a dict with `connections` (dicts of client_id, client_addr,
        language, version), `subscriptions` (topic -> expression),
        `expression_types` (topic -> "TAG" or "SQL92"), `consume_type`,
        `message_model` and `consume_from_where`. Asks `broker_addr`, or the
        brokers of the group's retry topic. Raises ClientError (NotFound)
        when the group has no consumer online."""
        return self._core.consumer_connection(group, broker_addr or "")

    @translate
    def producer_connection(self, group, topic):
        """The online clients of producer group `group` on the brokers of
        `topic` (GET_PRODUCER_CONNECTION_LIST; `mqadmin producerConnection`):
        a list of dicts of client_id, client_addr, language, version.
        Raises ClientError (NotFound) when the group has none online."""
        return self._core.producer_connection(group, topic)

    @translate
    def delete_subscription_group(self, group, cluster=None, broker_addr=None,
                                  remove_offsets=False):
        """Deletes subscription group `group` from every master of `cluster`
        or from the broker at `broker_addr` (exactly one of them), and with
        `remove_offsets` its committed offsets too (DELETE_SUBSCRIPTIONGROUP;
        `mqadmin deleteSubGroup`, which with -c also deletes the group's
        retry and DLQ topics: use delete_topic for those). Each broker has
        written its files when this returns. Returns one dict per broker:
        broker_addr, existed (False: it had no such group, not an error, as
        in RocketMQ), offsets_removed."""
        if bool(cluster) == bool(broker_addr):
            raise ValueError("give exactly one of cluster and broker_addr")
        return self._core.delete_subscription_group(
            group, cluster or "", broker_addr or "", bool(remove_offsets))

    @translate
    def query_message(self, topic, msg_id):
        """By offset message id, or by the producer's msg id (its unique
        id; the oldest copy when it was stored more than once)."""
        if _OFFSET_ID.match(msg_id):
            try:
                return Message.from_core(self._core.view_message(msg_id))
            except _core.ClientError:
                pass  # not an offset id after all: try it as a unique id
        # Only the UNIQ_KEY itself counts: a newer message whose key is
        # this msg id (a follow-up tracing its cause) is indexed under it too.
        found = self._core.query_by_unique_key(topic, msg_id)
        if not found:
            raise _core.ClientError(
                f"no message {msg_id} in topic {topic}", 22, "NOT_FOUND")
        return Message.from_core(found[0])

    @translate
    def query_by_unique_key(self, topic, msg_id):
        """Every stored copy of the message whose producer got `msg_id`
        (its UNIQ_KEY) in `topic`, oldest first, from every broker of the
        topic (`mqadmin queryMsgByUniqueKey`). A send retried after a
        timeout, or a dead letter re-sent, is stored again under the same
        msg id. Empty when no broker has it."""
        return [Message.from_core(m) for m in
                self._core.query_by_unique_key(topic, msg_id)]

    @translate
    def resend_dlq(self, group, max_messages=1000):
        """Sends the dead letters of `group` (%DLQ%<group>) not re-sent yet
        back to the topics they failed on, keeping body, tags, keys,
        properties and msg_id. Returns one dict per message re-sent: msg_id,
        topic, broker_name, queue_id, queue_offset. Progress is the group's
        offset of the DLQ topic, so a second call re-sends only newer ones."""
        return self._core.resend_dlq(group, int(max_messages))

    @translate
    def query_by_key(self, topic, key, begin_ms=0, end_ms=None, max_num=64):
        if end_ms is None:
            end_ms = int(time.time() * 1000) + 60000
        return [Message.from_core(m) for m in
                self._core.query_by_key(topic, key, begin_ms, end_ms, max_num)]
