"""More of what code ported from RocketMQ clients needs from cometmq:
unsubscribe, batches of whole messages, orderly sends' sharding keys,
RocketMQ's ConsumeFromWhere names and consumeTimestamp, string keys."""

import datetime
import threading
import time

import pytest

import cometmq

from helpers import Collector, push_consumer, wait_until


class ByTopic:
    """A listener that records each delivery's body under its topic."""

    def __init__(self):
        self.lock = threading.Lock()
        self.got = {}

    def __call__(self, msg):
        with self.lock:
            self.got.setdefault(msg.topic, []).append(msg.body)
        return True

    def bodies(self, topic):
        with self.lock:
            return sorted(self.got.get(topic, []))


def _committed(admin, group, topic):
    return sum(q["consumer_offset"]
               for q in admin.consumer_progress(group, topic))


def _stored(admin, group, topic):
    return sum(q["broker_offset"]
               for q in admin.consumer_progress(group, topic))


def test_unsubscribe_stops_one_topic_keeps_its_offset_and_the_others(
        cluster):
    """RocketMQ's DefaultMQPushConsumer.unsubscribe(topic) had no
    counterpart: a ported consumer could only shut down altogether."""
    cluster.start_namesrv()
    cluster.start_broker()
    ns = cluster.namesrv_addr
    with cometmq.Producer("PGUnsub", ns) as p:
        for i in range(3):
            p.send("TopicUnsubA", b"a-before-%d" % i)
            p.send("TopicUnsubB", b"b-before-%d" % i)
        got = ByTopic()
        c = cometmq.PushConsumer("CGUnsub", ns, consume_from="FIRST_OFFSET")
        c.subscribe("TopicUnsubA")
        c.subscribe("TopicUnsubB")
        c.register_listener(got)
        c.start()
        admin = cometmq.Admin(ns)
        admin.start()
        try:
            wait_until(lambda: len(got.bodies("TopicUnsubA")) == 3
                       and len(got.bodies("TopicUnsubB")) == 3,
                       timeout_s=30, what="the first messages of both topics")
            c.unsubscribe("TopicUnsubA")
            # Given up at once, its consumed offset committed on the way.
            assert not [q for q in c.owned_queues()
                        if q.startswith("TopicUnsubA@")]
            assert [q for q in c.owned_queues()
                    if q.startswith("TopicUnsubB@")]
            assert _committed(admin, "CGUnsub", "TopicUnsubA") == 3
            c.unsubscribe("TopicUnsubA")       # again: nothing to do
            c.unsubscribe("TopicNeverSubscribed")
            with pytest.raises(cometmq.MQClientError, match="retry topic"):
                c.unsubscribe("%RETRY%CGUnsub")
            for i in range(3):
                p.send("TopicUnsubA", b"a-after-%d" % i)
            for i in range(3):
                p.send("TopicUnsubB", b"b-after-%d" % i)
            wait_until(lambda: len(got.bodies("TopicUnsubB")) == 6,
                       timeout_s=30, what="the later messages of TopicUnsubB")
            assert got.bodies("TopicUnsubA") == [
                b"a-before-%d" % i for i in range(3)]
            assert _stored(admin, "CGUnsub", "TopicUnsubA") == 6
            assert _committed(admin, "CGUnsub", "TopicUnsubA") == 3
        finally:
            c.shutdown()
        assert _committed(admin, "CGUnsub", "TopicUnsubA") == 3
        # The group resumes the topic where the unsubscribed consumer
        # stopped: nothing was committed past an undelivered message.
        later = Collector()
        c2 = push_consumer(cluster, "CGUnsub", "TopicUnsubA", later)
        try:
            wait_until(lambda: later.count() >= 3, timeout_s=30,
                       what="the messages sent after the unsubscribe")
        finally:
            c2.shutdown()
        assert sorted(later.bodies()) == [b"a-after-%d" % i for i in range(3)]
        admin.shutdown()


def test_unsubscribe_before_start_only_removes_the_subscription(cluster):
    cluster.start_namesrv()
    cluster.start_broker()
    ns = cluster.namesrv_addr
    with cometmq.Producer("PGUnsubEarly", ns) as p:
        p.send("TopicEarlyA", b"a")
        p.send("TopicEarlyB", b"b")
        p.send("TopicEarlyC", b"c")
    got = ByTopic()
    c = cometmq.PushConsumer("CGUnsubEarly", ns, consume_from="FIRST_OFFSET")
    for topic in ("TopicEarlyA", "TopicEarlyB", "TopicEarlyC"):
        c.subscribe(topic)
    c.unsubscribe("TopicEarlyB")
    c.register_listener(got)
    c.start()
    try:
        # B's queue is never owned, so its message cannot come later.
        wait_until(lambda: got.bodies("TopicEarlyA") == [b"a"]
                   and got.bodies("TopicEarlyC") == [b"c"], timeout_s=30,
                   what="the messages of the topics still subscribed")
        assert not [q for q in c.owned_queues()
                    if q.startswith("TopicEarlyB@")]
    finally:
        c.shutdown()
    assert got.bodies("TopicEarlyB") == []


def test_a_batch_of_messages_keeps_each_ones_tags_keys_and_properties(
        cluster):
    """send_batch took bodies only, all with one tag: RocketMQ batches are
    messages with their own tags, keys and properties."""
    cluster.start_namesrv()
    cluster.start_broker()
    ns = cluster.namesrv_addr
    batch = [
        cometmq.Message(body=b"m1", tags="TagA", keys=["k1", "k1b"],
                        properties={"color": "red"}),
        cometmq.Message(topic="TopicBatch2", body=b"m2", keys="k2"),
        {"body": b"d1", "tags": "TagB", "keys": ["k3"],
         "properties": {"color": "blue", "size": "L"}},
        {"body": bytearray(b"d2")},
        b"plain",
    ]
    with cometmq.Producer("PGBatch2", ns) as p:
        result = p.send_batch("TopicBatch2", batch, tags="TagDefault")
        assert result.status == "SEND_OK"
        assert len(result.msg_id.split(",")) == 5
        # As send(): system property names, other topics and delays are
        # refused, for the whole batch.
        for bad, refused in (
                ({"body": b"x", "properties": {"KEYS": "k"}}, "KEYS"),
                ({"body": b"x", "properties": {"UNIQ_KEY": "u"}}, "UNIQ_KEY"),
                (cometmq.Message(topic="TopicOther", body=b"x"), "one topic"),
                (cometmq.Message(body=b"x", delay_level=2), "delayed")):
            with pytest.raises(cometmq.MessageIllegalError, match=refused):
                p.send_batch("TopicBatch2", [b"ok", bad])
        with pytest.raises(TypeError, match="unknown fields.*'tag'"):
            p.send_batch("TopicBatch2", [{"body": b"x", "tag": "TagA"}])
        with pytest.raises(TypeError, match="entry 1 has no body"):
            p.send_batch("TopicBatch2", [b"ok", {"tags": "TagA"}])
        with pytest.raises(TypeError, match="entry 0's keys"):
            p.send_batch("TopicBatch2", [{"body": b"x", "keys": [7]}])
        with pytest.raises(TypeError, match="list of messages"):
            p.send_batch("TopicBatch2", b"one body")
        # The parameter's earlier name still works.
        assert p.send_batch("TopicBatch2", bodies=[b"old-style"],
                            tags="TagOld").status == "SEND_OK"
    got = Collector()
    c = push_consumer(cluster, "CGBatch2", "TopicBatch2", got)
    try:
        wait_until(lambda: got.count() >= 6, timeout_s=30,
                   what="the two batches")
    finally:
        c.shutdown()
    seen = {m.body: (m.tags, m.keys, m.properties) for m in got.messages}
    assert seen == {
        b"m1": ("TagA", ["k1", "k1b"], {"color": "red"}),
        b"m2": ("TagDefault", ["k2"], {}),
        b"d1": ("TagB", ["k3"], {"color": "blue", "size": "L"}),
        b"d2": ("TagDefault", [], {}),
        b"plain": ("TagDefault", [], {}),
        b"old-style": ("TagOld", [], {}),
    }
    assert set(result.msg_id.split(",")) <= {m.msg_id for m in got.messages}
    with cometmq.Admin(ns) as admin:
        found = admin.query_by_key("TopicBatch2", "k3")
    assert [m.body for m in found] == [b"d1"]


def test_send_orderly_refuses_a_none_sharding_key(cluster):
    """None was sent as the key "None", so every message whose key was
    missing went to one queue, silently."""
    cluster.start_namesrv()
    cluster.start_broker()
    with cometmq.Producer("PGOrderKey", cluster.namesrv_addr) as p:
        with pytest.raises(ValueError, match="sharding_key must not be None"):
            p.send_orderly("TopicOrderKey", b"m", sharding_key=None)
        # An int order id is its str(), as before; "" is a key like others.
        by_int = {p.send_orderly("TopicOrderKey", b"m", 42).queue_id
                  for _ in range(3)}
        by_str = p.send_orderly("TopicOrderKey", b"m", "42").queue_id
        assert by_int == {by_str}
        assert p.send_orderly("TopicOrderKey", b"m", "").status == "SEND_OK"


def test_rocketmq_consume_from_names_and_timestamp_format(cluster):
    """consume_from took FIRST_OFFSET, LAST_OFFSET and TIMESTAMP only;
    RocketMQ code says CONSUME_FROM_FIRST_OFFSET and gives consumeTimestamp
    as yyyyMMddHHmmss."""
    cluster.start_namesrv()
    cluster.start_broker()
    ns = cluster.namesrv_addr
    with cometmq.Producer("PGFrom", ns) as p:
        p.send("TopicFrom", b"old")
    got = Collector()
    c = push_consumer(cluster, "CGFromFirst", "TopicFrom", got,
                      consume_from="CONSUME_FROM_FIRST_OFFSET")
    try:
        wait_until(lambda: got.count() >= 1, timeout_s=30, what="the message")
    finally:
        c.shutdown()
    assert got.bodies() == [b"old"]

    for name in ("CONSUME_FROM_LAST_OFFSET", "CONSUME_FROM_TIMESTAMP",
                 "CONSUME_FROM_MAX_OFFSET"):
        cometmq.PushConsumer("CGFromNames", ns, consume_from=name)
        cometmq.PullConsumer("CGFromNames", ns, consume_from=name)
    for bad in ("CONSUME_FROM_NOWHERE", "first_offset", 3):
        with pytest.raises(ValueError, match="consume_from must be"):
            cometmq.PushConsumer("CGFromBad", ns, consume_from=bad)
    for bad in ("2024-01-01", "20241301000000", "1704067200000"):
        with pytest.raises(ValueError, match="yyyyMMddHHmmss"):
            cometmq.PushConsumer("CGFromBad", ns,
                                 consume_from="CONSUME_FROM_TIMESTAMP",
                                 consume_timestamp=bad)
    with pytest.raises(ValueError, match="not both"):
        cometmq.PullConsumer("CGFromBad", ns, consume_from="TIMESTAMP",
                             consume_timestamp_ms=1,
                             consume_timestamp="20240101000000")

    # The message above was stored a moment ago: a time an hour back
    # starts before it, one an hour ahead after it.
    def first_polled(group, when, seconds):
        """What a new group starting at `when` polls first, within
        `seconds` ([] if nothing)."""
        c = cometmq.PullConsumer(group, ns,
                                 consume_from="CONSUME_FROM_TIMESTAMP",
                                 consume_timestamp=when)
        c.subscribe("TopicFrom")
        c.start()
        try:
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                msgs = c.poll(500)
                if msgs:
                    return [m.body for m in msgs]
            return []
        finally:
            c.shutdown()

    now = datetime.datetime.now()
    hour = datetime.timedelta(hours=1)
    # The message comes as soon as the group has started; a loaded machine
    # may take seconds for that. Nothing is to come for a group starting
    # after it: a few seconds of nothing show that.
    assert first_polled("CGFromPast", (now - hour).strftime("%Y%m%d%H%M%S"),
                        60) == [b"old"]
    assert first_polled("CGFromPastDt", now - hour, 60) == [b"old"]
    assert first_polled("CGFromFuture", (now + hour).strftime("%Y%m%d%H%M%S"),
                        5) == []


def test_keys_tags_and_properties_that_are_not_strings_are_named(cluster):
    """keys=42 raised "'int' object is not iterable" and keys=[1] pybind's
    "incompatible function arguments" listing the core's signature."""
    cluster.start_namesrv()
    cluster.start_broker()
    with cometmq.Producer("PGKeyTypes", cluster.namesrv_addr) as p:
        for send in (p.send, p.send_async, p.send_oneway):
            with pytest.raises(TypeError, match="keys must be a str"):
                send("TopicKeyTypes", b"m", keys=42)
            with pytest.raises(TypeError, match="keys must be a str.*int"):
                send("TopicKeyTypes", b"m", keys=["ok", 1])
            with pytest.raises(TypeError, match="keys must be a str.*float"):
                send("TopicKeyTypes", b"m", keys=[1.5])
            with pytest.raises(TypeError, match="tags must be a str"):
                send("TopicKeyTypes", b"m", tags=5)
            with pytest.raises(TypeError, match="properties must map str"):
                send("TopicKeyTypes", b"m", properties={"n": 1})
        with pytest.raises(TypeError, match="keys must be a str"):
            p.send_orderly("TopicKeyTypes", b"m", "k", keys=7)
        # A tuple of keys, and UTF-8 bytes (as before), are fine.
        sent = p.send("TopicKeyTypes", b"m", keys=("a", b"b"), tags=b"T")
        assert sent.status == "SEND_OK"
    with cometmq.TransactionProducer("PGKeyTypesTx", cluster.namesrv_addr,
                                     lambda msg: "COMMIT") as tp:
        with pytest.raises(TypeError, match="keys must be a str"):
            tp.send_in_transaction("TopicKeyTypes", b"m",
                                   lambda msg, arg: "COMMIT", keys=[3])
