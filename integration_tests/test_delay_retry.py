"""Delay levels, delayed messages across a broker crash, and retry to the
dead-letter queue, with real nameserver and broker processes."""

import re
import threading
import time

import pytest

import cometmq

from helpers import AlwaysFail, Collector, push_consumer, wait_until


class Timed(Collector):
    """A collector that also records when each message arrived."""

    def __init__(self):
        super().__init__()
        self.arrivals = {}

    def __call__(self, msg):
        with self.lock:
            self.arrivals.setdefault(msg.body, time.time())
        return super().__call__(msg)


def test_delay_levels_are_never_early_and_not_late(cluster):
    cluster.start_namesrv()
    cluster.start_broker()
    timed = Timed()
    delays = {1: 1.0, 2: 5.0}
    with cometmq.Producer(group="pg", namesrv=cluster.namesrv_addr) as p:
        p.send("Delayed", b"warm")
        with push_consumer(cluster, "gd", "Delayed", timed):
            wait_until(lambda: b"warm" in timed.bodies(), what="warm-up")
            sent = {}
            for i in range(3):
                for level in delays:
                    body = f"L{level}-{i}".encode()
                    sent[body] = (time.time(), delays[level])
                    p.send("Delayed", body, delay_level=level)
                time.sleep(0.2)  # spread send times over the tick
            wait_until(lambda: all(b in timed.arrivals for b in sent),
                       timeout_s=30, what="every delayed message")
    for body, (sent_at, delay) in sorted(sent.items()):
        lateness = timed.arrivals[body] - (sent_at + delay)
        print(f"{body.decode()}: delay {delay:.0f}s lateness {lateness:.3f}s")
        assert 0 <= lateness < 1.5, (body, lateness)
    delayed = [m for m in timed.messages if m.body != b"warm"]
    assert all(m.topic == "Delayed" and m.delay_level == 0 for m in delayed)


def test_delayed_message_survives_broker_kill(cluster):
    cluster.start_namesrv()
    broker = cluster.start_broker()
    with cometmq.Producer(group="pg", namesrv=cluster.namesrv_addr) as p:
        sent_at = time.time()
        p.send("Survive", b"after-crash", delay_level=2, keys=["k-crash"])
    broker.kill()
    broker.restart()
    collector = Collector()
    with push_consumer(cluster, "gs", "Survive", collector):
        wait_until(lambda: collector.count() >= 1, timeout_s=60,
                   what="the delayed message after the restart")
        arrived = time.time()
    assert collector.bodies() == [b"after-crash"]
    assert collector.messages[0].keys == ["k-crash"]
    assert arrived - sent_at >= 5.0


def stored_copies(cluster, topic, wanted, timeout_s=60):
    """Every message stored in `topic`, a body per stored copy, read from
    the first offset by a new group once every body in `wanted` is there
    and all the topic holds (by its topic_stats) was read."""
    bodies = []
    with cometmq.Admin(cluster.namesrv_addr) as admin, cometmq.PullConsumer(
            group=f"copies-{time.monotonic_ns()}",
            namesrv=cluster.namesrv_addr,
            consume_from="FIRST_OFFSET") as reader:
        reader.subscribe(topic)
        reader.start()

        def all_read():
            bodies.extend(m.body for m in reader.poll(200))
            stored = sum(q["max_offset"] - q["min_offset"]
                         for q in admin.topic_stats(topic))
            return set(wanted) <= set(bodies) and len(bodies) >= stored

        wait_until(all_read, timeout_s, f"{sorted(wanted)} in {topic}")
    return bodies


@pytest.mark.parametrize("flush", ["SYNC_FLUSH", "ASYNC_FLUSH"])
def test_delayed_messages_not_delivered_again_after_kill(cluster, flush):
    """A crash loop: delay-level-1 messages are sent, delivered to their
    topic, and the broker is SIGKILLed 1.5 s later, well within
    flushDelayOffsetInterval (10 s) and well after the ~100 ms in which the
    schedule service saves the progress a delivery pass made. The restarted
    broker must not deliver them again: the progress used to be saved only
    every 10 s, so each restart delivered everything since once more."""
    rounds, per_round = 3, 10
    cluster.start_namesrv()
    broker = cluster.start_broker(flushDiskType=flush)
    topic = "DelayedOnce"
    with cometmq.Admin(cluster.namesrv_addr) as admin:
        admin.create_topic(topic, read_queues=4, write_queues=4)
    sent = []
    for r in range(rounds):
        batch = [f"round{r}-{i}".encode() for i in range(per_round)]
        with cometmq.Producer(group="pg", namesrv=cluster.namesrv_addr) as p:
            for body in batch:
                p.send(topic, body, delay_level=1)
        sent += batch
        stored_copies(cluster, topic, batch)
        time.sleep(1.5)  # the crash moment, not a wait for anything
        broker.kill()
        broker.restart()
    # Level 1's queue is delivered in order: once a message sent now is
    # delivered, every earlier one that was to be delivered again was too.
    with cometmq.Producer(group="pg", namesrv=cluster.namesrv_addr) as p:
        p.send(topic, b"marker", delay_level=1)
    bodies = stored_copies(cluster, topic, sent + [b"marker"])
    copies = {b: bodies.count(b) for b in set(bodies)}
    extra = sum(n - 1 for n in copies.values())
    print(f"{flush}: {len(sent) + 1} delayed messages, {extra} extra "
          f"copies, at most {max(copies.values())} of one")
    assert extra == 0, sorted((n, b) for b, n in copies.items() if n > 1)
    assert set(copies) == set(sent) | {b"marker"}


def test_always_failing_listener_ends_in_dlq(cluster):
    cluster.start_namesrv()
    cluster.start_broker(messageDelayLevel="1s 1s 1s 1s 1s")
    always_fail = AlwaysFail(
        lambda msg: (msg.topic, msg.reconsume_times, msg.msg_id))

    with cometmq.Producer(group="pg", namesrv=cluster.namesrv_addr) as p:
        msg_id = p.send("Doomed", b"poison").msg_id
    with push_consumer(cluster, "gf", "Doomed", always_fail,
                       max_reconsume_times=2):
        dead = read_dlq(cluster, "gf", count=1)
        seen = always_fail.calls()
    # The first delivery and exactly max_reconsume_times retries, each
    # presented with the original topic and its reconsume count.
    assert seen == [("Doomed", 0, msg_id), ("Doomed", 1, msg_id),
                    ("Doomed", 2, msg_id)]
    # The dead letter keeps its body and id and names the topic it failed on.
    assert [(m.body, m.msg_id) for m in dead] == [(b"poison", msg_id)]
    assert dead[0].topic == "%DLQ%gf"
    assert dead[0].properties["RETRY_TOPIC"] == "Doomed"


def read_dlq(cluster, group, count, timeout_s=60):
    """The first `count` messages of %DLQ%<group>, read by a pull consumer
    of its own group; fails if more arrive."""
    reader = cometmq.PullConsumer(group=f"{group}-dlq-reader",
                                  namesrv=cluster.namesrv_addr)
    reader.subscribe(f"%DLQ%{group}")
    reader.start()
    dead = []
    try:
        wait_until(lambda: dead.extend(reader.poll(200)) or len(dead) >= count,
                   timeout_s=timeout_s, what=f"{count} messages in %DLQ%{group}")
        dead.extend(reader.poll(200))
    finally:
        reader.shutdown()
    assert len(dead) == count, [m.body for m in dead]
    return dead


def test_admin_resends_dead_letters_to_their_topic_once(cluster):
    cluster.start_namesrv()
    cluster.start_broker(messageDelayLevel="1s 1s 1s 1s 1s")
    failing = threading.Event()
    failing.set()
    got = []
    lock = threading.Lock()

    def fail_while_broken(msg):
        with lock:
            got.append(msg)
        return not failing.is_set()

    with cometmq.Producer(group="pg", namesrv=cluster.namesrv_addr) as p:
        sent = {p.send("Fragile", f"f{i}".encode(), tags="T",
                       keys=[f"key{i}"], properties={"trace": str(i)}).msg_id
                for i in range(3)}
    with push_consumer(cluster, "gx", "Fragile", fail_while_broken,
                       max_reconsume_times=1):
        dead = read_dlq(cluster, "gx", count=3)
        assert {m.msg_id for m in dead} == sent
        failing.clear()  # the consumer is fixed: re-drive the dead letters
        with lock:
            got.clear()
        with cometmq.Admin(namesrv=cluster.namesrv_addr) as admin:
            resent = admin.resend_dlq("gx")
            assert {r["msg_id"] for r in resent} == sent
            assert {r["topic"] for r in resent} == {"Fragile"}
            wait_until(lambda: len(got) >= 3, timeout_s=30,
                       what="the re-sent messages at the consumer")
            # Each is re-sent once: the DLQ offset moved past them.
            assert admin.resend_dlq("gx") == []
            assert admin.resend_dlq("never-failed") == []
    with lock:
        again = list(got)
    assert sorted(m.msg_id for m in again) == sorted(sent)
    for m in again:
        i = m.body.decode()[1:]
        assert m.topic == "Fragile" and m.reconsume_times == 0
        assert m.tags == "T" and m.keys == [f"key{i}"]
        assert m.properties.get("trace") == i
        assert "RETRY_TOPIC" not in m.properties


def test_resend_dlq_that_fails_midway_does_not_resend_twice(cluster):
    # A dead letter whose topic is gone stops a resend_dlq with an error;
    # the dead letters it had already re-sent in the same batch were not
    # marked, so the next resend_dlq sent them a second time.
    cluster.start_namesrv()
    cluster.start_broker(autoCreateTopicEnable="false")
    with cometmq.Admin(namesrv=cluster.namesrv_addr) as admin:
        for topic in ("Kept", "Gone"):
            admin.create_topic(topic, read_queues=1, write_queues=1)
    failed = Collector()

    def fail(msg):
        failed(msg)
        return False

    consumer = cometmq.PushConsumer(group="gm", namesrv=cluster.namesrv_addr,
                                    consume_from="FIRST_OFFSET",
                                    max_reconsume_times=0)
    consumer.subscribe("Kept", "*")
    consumer.subscribe("Gone", "*")
    consumer.register_listener(fail)
    consumer.start()
    def dead_letters(admin):
        try:
            return sum(q["max_offset"] for q in admin.topic_stats("%DLQ%gm"))
        except cometmq.MQClientError:
            return 0  # no dead-letter topic yet

    try:
        with cometmq.Producer(group="pg", namesrv=cluster.namesrv_addr) as p, \
                cometmq.Admin(namesrv=cluster.namesrv_addr) as admin:
            kept = p.send("Kept", b"kept").msg_id
            wait_until(lambda: dead_letters(admin) == 1, timeout_s=30,
                       what="the first dead letter")
            gone = p.send("Gone", b"gone").msg_id
            dead = read_dlq(cluster, "gm", count=2)
    finally:
        consumer.shutdown()
    assert [m.msg_id for m in dead] == [kept, gone]
    with cometmq.Admin(namesrv=cluster.namesrv_addr) as admin:
        admin.delete_topic("Gone")
        with pytest.raises(cometmq.MQClientError):
            admin.resend_dlq("gm")
        admin.create_topic("Gone", read_queues=1, write_queues=1)
        resent = admin.resend_dlq("gm")
    assert [r["msg_id"] for r in resent] == [gone]


def test_message_whose_send_back_fails_is_retried_until_the_broker_takes_it(
        cluster):
    """A failed message the broker cannot take back (here: paused) is handed
    to the listener again for as long as that lasts, past
    max_reconsume_times, and is never committed past: once the broker is
    back it ends consumed or in the dead-letter queue, never lost."""
    cluster.start_namesrv()
    broker = cluster.start_broker(messageDelayLevel="1s 1s 1s 1s 1s")
    calls = []
    lock = threading.Lock()
    resumed = threading.Event()

    consumed = threading.Event()

    def listener(msg):
        with lock:
            calls.append(msg.reconsume_times)
            first = len(calls) == 1
        if first:
            broker.pause()  # every send-back from now on times out
        if resumed.is_set():
            consumed.set()
            return True
        return False

    with cometmq.Producer(group="pg", namesrv=cluster.namesrv_addr) as p:
        msg_id = p.send("Flaky", b"keep-me").msg_id
    with push_consumer(cluster, "gk", "Flaky", listener,
                       max_reconsume_times=1):
        # The first delivery, one reconsume (the limit) and one past it.
        wait_until(lambda: len(calls) >= 3, timeout_s=60,
                   what="redeliveries past max_reconsume_times")
        resumed.set()
        broker.resume()
        admin = cometmq.Admin(namesrv=cluster.namesrv_addr)

        def dead_letters():
            try:
                return sum(q["max_offset"]
                           for q in admin.topic_stats("%DLQ%gk"))
            except cometmq.MQClientError:
                return 0  # no dead-letter topic yet
        # A send-back still in flight when the broker resumed may land it
        # in the dead-letter queue (it is past the limit); else the next
        # redelivery consumes it.
        wait_until(lambda: consumed.is_set() or dead_letters() > 0,
                   timeout_s=60, what="the message consumed or dead-lettered")
        dead = dead_letters()
    with lock:
        seen = list(calls)
    assert seen[:3] == [0, 1, 2]
    if dead:
        assert admin.query_message("%DLQ%gk", msg_id).body == b"keep-me"
    assert consumed.is_set() != (dead == 1)


def _two_brokers(cluster, topic, group, queues=1):
    """A NameServer and brokers a and b (1 s delay levels) by name, with
    `topic` and the group's retry topic on both. The retry topic is made
    now rather than by the consumer's first heartbeat, so the consumer's
    first route already names it on both brokers (else it waits for a
    rebalance round to pull the second one)."""
    cluster.start_namesrv()
    levels = "1s 1s 1s 1s 1s"
    brokers = {b.name.rsplit("-", 1)[0]: b for b in (
        cluster.start_broker("broker-a", messageDelayLevel=levels),
        cluster.start_broker("broker-b", messageDelayLevel=levels))}
    admin = cometmq.Admin(namesrv=cluster.namesrv_addr)
    admin.create_topic(topic, read_queues=queues, write_queues=queues)
    admin.create_topic(f"%RETRY%{group}", read_queues=1, write_queues=1)
    return brokers


def _await_both_retry_queues(consumer, group):
    wait_until(lambda: sum(q.startswith(f"%RETRY%{group}@")
                           for q in consumer.owned_queues()) == 2,
               what="the retry queues of both brokers")


def test_failed_message_goes_to_another_broker_when_its_own_is_down(cluster):
    """When the broker a failed message came from cannot take it back, the
    consumer sends a copy to its retry topic on another broker, so the
    message is retried while its own broker is still down."""
    brokers = _two_brokers(cluster, "Fallback", "gf")
    calls = []
    lock = threading.Lock()

    def listener(msg):
        with lock:
            calls.append(msg)
            first = len(calls) == 1
        if first:
            brokers[msg.broker_name].pause()  # the send-back times out
            return False
        return True

    with push_consumer(cluster, "gf", "Fallback", listener) as c:
        # Both brokers' retry queues are pulled before anything fails.
        _await_both_retry_queues(c, "gf")
        with cometmq.Producer(group="pf", namesrv=cluster.namesrv_addr) as p:
            sent = p.send("Fallback", b"move-me", tags="T1", keys=["k1"])
        try:
            wait_until(lambda: len(calls) >= 2, timeout_s=60,
                       what="the retried copy from the other broker")
            with lock:
                first, retried = calls[0], calls[1]
            assert first.broker_name == sent.broker_name
            assert retried.broker_name != sent.broker_name
            assert retried.topic == "Fallback"
            assert retried.body == b"move-me"
            assert retried.msg_id == sent.msg_id
            assert (retried.tags, retried.keys) == ("T1", ["k1"])
            assert retried.reconsume_times == 1
            assert retried.born_timestamp == first.born_timestamp
        finally:
            brokers[sent.broker_name].resume()



def test_retry_queue_is_read_from_its_start_by_a_new_consumer(cluster):
    """A group consuming from the last offset still gets the retries that
    reached its retry queue before it committed an offset there (a copy
    sent through another broker, a consumer killed before its commit): a
    retry queue without a committed offset is read from its first message."""
    cluster.start_namesrv()
    cluster.start_broker()
    with cometmq.Producer(group="pl", namesrv=cluster.namesrv_addr) as p:
        # Stands for a consumer's copy of a failed message (whose
        # RETRY_TOPIC and counts only the client itself may set).
        p.send("%RETRY%gl", b"retry-me")
    got = Collector()
    with push_consumer(cluster, "gl", "Later", got,
                       consume_from="LAST_OFFSET"):
        wait_until(lambda: got.count() >= 1, timeout_s=30,
                   what="the retried message")
    assert got.bodies() == [b"retry-me"]



def test_every_message_is_consumed_when_failures_meet_a_paused_broker(
        cluster, capfd):
    """Every message fails its first delivery, and broker-a is paused while
    its messages are failing: their send-backs time out and become copies
    on broker-b, consumed while broker-a is still paused. After broker-a is
    back, every message sent has been consumed. Once a send-back has timed
    out, broker-a is not asked again for a while: at most one timeout per
    consume thread."""
    brokers = _two_brokers(cluster, "Mixed", "gm", queues=2)
    lock = threading.Lock()
    stored_on = {}     # body -> broker of its first delivery
    consumed = set()
    moved = set()      # broker-a's messages consumed from broker-b
    holding = [0]      # broker-a first deliveries waiting for the pause
    paused = threading.Event()

    def listener(msg):
        with lock:
            if msg.body in stored_on:
                consumed.add(msg.body)
                if (stored_on[msg.body], msg.broker_name) == ("broker-a",
                                                             "broker-b"):
                    moved.add(msg.body)
                return True
            stored_on[msg.body] = msg.broker_name
            if msg.broker_name != "broker-a":
                return False
            holding[0] += 1
        paused.wait(60)  # fail it only once its broker is paused
        return False

    with push_consumer(cluster, "gm", "Mixed", listener) as c:
        _await_both_retry_queues(c, "gm")
        sent = set()
        with cometmq.Producer(group="pm", namesrv=cluster.namesrv_addr) as p:
            for i in range(100):
                p.send("Mixed", f"m{i}".encode())
                sent.add(f"m{i}".encode())
        wait_until(lambda: holding[0] >= 1, what="a broker-a failure held")
        brokers["broker-a"].pause()
        paused.set()
        try:
            wait_until(lambda: len(moved) >= 1, timeout_s=60,
                       what="a broker-a message consumed from broker-b")
        finally:
            brokers["broker-a"].resume()
        wait_until(lambda: consumed >= sent, timeout_s=120,
                   what="every message consumed")
    log = capfd.readouterr().out
    timed_out = len(re.findall(r"back to broker-a[ :(]+DEADLINE_EXCEEDED", log))
    assert 1 <= timed_out <= 4, log  # 4 consume threads
    assert "not asked again yet" in log


def test_sync_flush_delays_retries_and_commits(cluster):
    # Under SYNC_FLUSH the broker's own re-puts (delayed delivery, the
    # send-back, a committed half and its op record) wait for the group
    # commit like sends do; none of them may hang or be lost.
    cluster.start_namesrv()
    cluster.start_broker(flushDiskType="SYNC_FLUSH",
                         messageDelayLevel="1s 1s 1s 1s 1s",
                         transactionCheckInterval=300, transactionTimeOut=500)
    collector = Collector()

    def listener(msg):
        return msg.body != b"poison" and collector(msg)

    with cometmq.TransactionProducer(
            "sfx", cluster.namesrv_addr,
            lambda m: cometmq.TransactionState.COMMIT,
            heartbeat_interval_ms=300) as tx:
        states = [tx.send_in_transaction("SyncFlush", body, lambda m, a, s=s: s)
                  for body, s in ((b"commit", cometmq.TransactionState.COMMIT),
                                  (b"rollback",
                                   cometmq.TransactionState.ROLLBACK),
                                  (b"checked",
                                   cometmq.TransactionState.UNKNOWN))]
        assert all(r.status == "SEND_OK" and r.end_error == ""
                   for r in states)
        with cometmq.Producer(group="pg", namesrv=cluster.namesrv_addr) as p:
            p.send("SyncFlush", b"delayed", delay_level=2)
            p.send("SyncFlush", b"poison")
        with push_consumer(cluster, "gsf", "SyncFlush", listener,
                           max_reconsume_times=1):
            wait_until(lambda: sorted(collector.bodies()) == [
                b"checked", b"commit", b"delayed"], timeout_s=30,
                       what="the committed, checked and delayed messages")
            dead = read_dlq(cluster, "gsf", count=1)
    assert dead[0].body == b"poison"
    assert sorted(collector.bodies()) == [b"checked", b"commit", b"delayed"]


def test_max_reconsume_times_out_of_range_is_a_clear_error():
    # It used to surface as pybind11's "incompatible constructor arguments"
    # TypeError listing the whole signature.
    for bad in (2**31, -2**31 - 1, 1.5, "3", True):
        with pytest.raises(ValueError, match="max_reconsume_times"):
            cometmq.PushConsumer(group="g", namesrv="127.0.0.1:9876",
                                 max_reconsume_times=bad)
    for edge in (2**31 - 1, 0, -1):
        cometmq.PushConsumer(group="g", namesrv="127.0.0.1:9876",
                             max_reconsume_times=edge).shutdown()
