"""Produce and consume end to end through real mqnamesrv/mqbroker processes."""

import os
import signal
import threading
import time

import cometmq
import pytest

from helpers import Collector, push_consumer, wait_until


def test_quickstart_round_trip_keeps_every_field(cluster):
    cluster.start_namesrv()
    cluster.start_broker()
    with cometmq.Producer(group="pg", namesrv=cluster.namesrv_addr) as p:
        r = p.send("TopicTest", b"hello", tags="TagA", keys=["k1", "k2"],
                   properties={"a": "b"})
        assert r.status == "SEND_OK"
        assert len(r.offset_msg_id) == 32 and r.msg_id
        got = Collector()
        c = push_consumer(cluster, "cg", "TopicTest", got)
        try:
            wait_until(lambda: got.count() >= 1, what="the message")
        finally:
            c.shutdown()
    m = got.messages[0]
    assert m.body == b"hello"
    assert m.tags == "TagA"
    assert m.keys == ["k1", "k2"]
    assert m.properties.get("a") == "b"
    assert m.msg_id == r.msg_id
    assert m.offset_msg_id == r.offset_msg_id
    assert m.queue_id == r.queue_id and m.queue_offset == r.queue_offset


def test_ten_thousand_messages_consumed_exactly_once_by_three_consumers(cluster):
    cluster.start_namesrv()
    cluster.start_broker()
    admin = cometmq.Admin(namesrv=cluster.namesrv_addr)
    admin.create_topic("Orders", cluster="DefaultCluster", read_queues=8,
                       write_queues=8)
    collectors = [Collector(f"c{i}") for i in range(3)]
    consumers = [push_consumer(cluster, "g3", "Orders", col)
                 for col in collectors]
    try:
        # Produce only once the group has settled: every queue owned once.
        def settled():
            owned = [q for c in consumers for q in c.owned_queues()
                     if q.startswith("Orders@")]  # not the group's retry topic
            return len(owned) == 8 and len(set(owned)) == 8
        # Settled means the same disjoint split seen for a while: a member
        # that has not yet heard of the last join may still move queues.
        stable_since = [None]

        def settled_and_stable():
            if not settled():
                stable_since[0] = None
                return False
            if stable_since[0] is None:
                stable_since[0] = time.monotonic()
            return time.monotonic() - stable_since[0] >= 2.0
        wait_until(settled_and_stable, timeout_s=120,
                   what="the group to own all 8 queues")
        with cometmq.Producer(group="pg", namesrv=cluster.namesrv_addr) as p:
            futures = [p.send_async("Orders", f"m{i}".encode())
                       for i in range(10000)]
            results = [f.result(timeout=60) for f in futures]
        assert {r.status for r in results} == {"SEND_OK"}
        wait_until(lambda: sum(c.count() for c in collectors) >= 10000,
                   what="10,000 deliveries")
        # Counted before the group shuts down: members leaving hand their
        # queues over, which may redeliver (at-least-once), but nobody failed
        # while the messages flowed.
        bodies = [b for c in collectors for b in c.bodies()]
    finally:
        for c in consumers:
            c.shutdown()
    assert len(bodies) == 10000, "duplicates delivered"
    assert set(bodies) == {f"m{i}".encode() for i in range(10000)}
    assert all(c.count() > 0 for c in collectors)
    admin.shutdown()


def test_consumer_joining_and_leaving_mid_stream_loses_nothing(cluster):
    cluster.start_namesrv()
    cluster.start_broker()
    admin = cometmq.Admin(namesrv=cluster.namesrv_addr)
    admin.create_topic("Stream", read_queues=8, write_queues=8)
    got = Collector()
    first = push_consumer(cluster, "gj", "Stream", got)
    second = push_consumer(cluster, "gj", "Stream", got)
    third = None
    sent = []
    try:
        with cometmq.Producer(group="pg", namesrv=cluster.namesrv_addr) as p:
            for i in range(3000):
                p.send("Stream", f"s{i}".encode())
                sent.append(f"s{i}".encode())
                if i == 1000:
                    third = push_consumer(cluster, "gj", "Stream", got)
                if i == 2000:
                    first.shutdown()
        wait_until(lambda: set(got.bodies()) >= set(sent), timeout_s=120,
                   what="every message despite the group changing")
    finally:
        for c in (first, second, third):
            if c is not None:
                c.shutdown()
    admin.shutdown()


def test_restart_with_sigterm_keeps_messages_and_committed_offsets(cluster):
    cluster.start_namesrv()
    broker = cluster.start_broker()
    with cometmq.Producer(group="pg", namesrv=cluster.namesrv_addr) as p:
        for i in range(500):
            p.send("Durable", f"d{i}".encode())
    first = Collector()
    c = push_consumer(cluster, "gd", "Durable", first)
    wait_until(lambda: first.count() >= 500, what="first 500")
    c.shutdown()  # commits its offsets
    assert broker.stop() == 0
    broker.start()
    with cometmq.Producer(group="pg", namesrv=cluster.namesrv_addr) as p:
        for i in range(500, 600):
            p.send("Durable", f"d{i}".encode())
    second = Collector()
    c = push_consumer(cluster, "gd", "Durable", second)
    try:
        wait_until(lambda: second.count() >= 100, what="the next 100")
    finally:
        c.shutdown()
    # The group resumed from its committed offsets: nothing old again.
    assert set(second.bodies()) == {f"d{i}".encode() for i in range(500, 600)}


def test_sigkill_with_sync_flush_loses_no_acknowledged_message(cluster):
    cluster.start_namesrv()
    broker = cluster.start_broker(flushDiskType="SYNC_FLUSH")
    acked = []
    lock = threading.Lock()
    stop = threading.Event()

    def produce(t):
        with cometmq.Producer(group=f"pg{t}",
                              namesrv=cluster.namesrv_addr) as p:
            i = 0
            while not stop.is_set():
                body = f"t{t}-{i}".encode()
                i += 1
                try:
                    r = p.send("Sync", body, timeout_ms=2000)
                except cometmq.MQClientError:
                    continue
                if r.status == "SEND_OK":
                    with lock:
                        acked.append(body)

    threads = [threading.Thread(target=produce, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    wait_until(lambda: len(acked) >= 2000, what="2000 acknowledged sends")
    broker.kill(signal.SIGKILL)
    stop.set()
    for t in threads:
        t.join(30)
    with lock:
        expected = set(acked)
    broker.start()
    got = Collector()
    c = push_consumer(cluster, "gs", "Sync", got)
    try:
        wait_until(lambda: set(got.bodies()) >= expected, timeout_s=90,
                   what="every acknowledged message after SIGKILL")
    finally:
        c.shutdown()


def test_unknown_topic_with_auto_create_off_is_a_clear_error(cluster):
    cluster.start_namesrv()
    cluster.start_broker(autoCreateTopicEnable="false")
    with cometmq.Producer(group="pg", namesrv=cluster.namesrv_addr) as p:
        with pytest.raises(cometmq.TopicNotExistError) as e:
            p.send("NoSuchTopic", b"x")
    assert "NoSuchTopic" in str(e.value)


def test_clients_keep_working_when_one_of_two_namesrvs_dies(cluster):
    ns0 = cluster.start_namesrv()
    cluster.start_namesrv()
    cluster.start_broker()
    with cometmq.Producer(group="pg", namesrv=cluster.namesrv_addr) as p:
        p.send("TwoNs", b"before")
    ns0.kill()
    got = Collector()
    with cometmq.Producer(group="pg2", namesrv=cluster.namesrv_addr) as p:
        p.send("TwoNs", b"after")
        c = push_consumer(cluster, "gn", "TwoNs", got)
        try:
            wait_until(lambda: {b"before", b"after"} <= set(got.bodies()),
                       what="both messages via the surviving NameServer")
        finally:
            c.shutdown()


def test_body_sizes_binary_and_unicode(cluster):
    cluster.start_namesrv()
    cluster.start_broker(maxMessageSize=65536)
    # Random bytes do not compress, so the broker sees their real size.
    bodies = [b"x", bytes(range(256)) * 4, b"\x00" * 65536, os.urandom(65536)]
    got = Collector()
    with cometmq.Producer(group="pg", namesrv=cluster.namesrv_addr) as p:
        for b in bodies:
            p.send("Sizes", b, tags="标签", keys=["ключ"],
                   properties={"名": "値"})
        with pytest.raises(cometmq.MessageIllegalError):
            p.send("Sizes", b"")
        with pytest.raises(cometmq.MessageIllegalError) as e:
            p.send("Sizes", os.urandom(65537))
        assert "maxMessageSize" in str(e.value)
        # The client's own limit (4 MiB) is checked before anything is sent.
        with pytest.raises(cometmq.MessageIllegalError):
            p.send("Sizes", b"z" * (4 * 1024 * 1024 + 1))
        c = push_consumer(cluster, "gz", "Sizes", got)
        try:
            wait_until(lambda: got.count() >= 4, what="four bodies")
        finally:
            c.shutdown()
    assert sorted(got.bodies()) == sorted(bodies)
    assert {m.tags for m in got.messages} == {"标签"}
    assert all(m.keys == ["ключ"] and m.properties.get("名") == "値"
               for m in got.messages)


def test_new_group_from_last_offset_does_not_replay_history(cluster):
    """LAST_OFFSET means what it says for a new group, also on a young
    topic whose first message is still in memory (RocketMQ's broker answers
    offset 0 there, so its consumers replay the topic's history)."""
    cluster.start_namesrv()
    cluster.start_broker()
    got = Collector()
    with cometmq.Producer(group="hist-pg", namesrv=cluster.namesrv_addr) as p:
        for i in range(40):
            p.send("History", f"old-{i}".encode())
        # No wait for the broker to index them: the queues' max offsets
        # count every acknowledged send (test_dispatch_visibility.py).
        consumer = push_consumer(cluster, "hist-new", "History", got,
                                 consume_from="LAST_OFFSET")
        try:
            queues = {r.queue_id for r in [p.send("History", b"new-0")]}
            queues |= {p.send("History", f"new-{i}".encode()).queue_id
                       for i in range(1, 8)}

            def fresh_from_every_queue():
                with got.lock:
                    seen = {m.queue_id for m in got.messages
                            if m.body.startswith(b"new-")}
                return seen >= queues

            # New messages keep coming until every queue delivered one;
            # those sent before the consumer took its start offsets are
            # rightly skipped.
            deadline = time.monotonic() + 60
            i = 8
            while not fresh_from_every_queue():
                assert time.monotonic() < deadline, "no new message consumed"
                p.send("History", f"new-{i}".encode())
                i += 1
                wait_until(lambda: got.count() > 0 or
                           time.monotonic() > deadline, 61, "a delivery")
        finally:
            consumer.shutdown()
    # A queue is consumed in order, so any replayed old message came before
    # that queue's first new one.
    assert [b for b in got.bodies() if b.startswith(b"old-")] == []
