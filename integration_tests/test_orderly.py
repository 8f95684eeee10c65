"""Orderly consumption through real mqnamesrv/mqbroker processes: per-key
order across consumers leaving and joining, broker queue locks, and local
retries of a failing orderly listener ending in the dead-letter queue."""

import signal
import subprocess
import sys
import threading
import time

import cometmq

from helpers import push_consumer, wait_until

KEYS = 100
PER_KEY = 100


class OrderRecorder:
    """An orderly listener for several consumers: records every delivery of
    body b"<key>:<seq>" in one global order, and how many listener calls
    overlap on one queue (the broker locks must keep that at one)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.deliveries = {}      # key -> [seq, ...] in delivery order
        self.timeline = []        # (time, key, seq) in delivery order
        self.by_consumer = {}     # consumer name -> deliveries
        self.unique = set()
        self.running = {}         # (topic, queue_id) -> calls in progress
        self.max_running = 0

    def listener(self, name):
        def on_message(msg):
            queue = (msg.topic, msg.broker_name, msg.queue_id)
            key, seq = msg.body.decode().split(":")
            with self.lock:
                self.running[queue] = self.running.get(queue, 0) + 1
                self.max_running = max(self.max_running, self.running[queue])
                self.deliveries.setdefault(key, []).append(int(seq))
                self.timeline.append((time.time(), key, int(seq)))
                self.by_consumer[name] = self.by_consumer.get(name, 0) + 1
                self.unique.add((key, int(seq)))
            # Slow enough that queues have a backlog when consumers leave
            # and join, and that an overlapping call on a queue would show.
            time.sleep(0.001)
            with self.lock:
                self.running[queue] -= 1
            return True
        return on_message

    def unique_count(self):
        with self.lock:
            return len(self.unique)


def order_violations(seqs):
    """The ordering criterion: the first delivery of a key is its seq 0, and
    each later delivery is at most one past the delivery before it. So a
    key's messages are never consumed ahead of their predecessor; the only
    allowed step back is a replay that restarts at an already consumed seq
    and goes on contiguously from there (a redelivery at a queue handover).
    Returns the indexes where the sequence breaks the criterion."""
    bad = [] if seqs and seqs[0] == 0 else [0]
    for i in range(1, len(seqs)):
        if seqs[i] > seqs[i - 1] + 1:
            bad.append(i)
    return bad


def test_order_checker_rejects_skips_and_accepts_replays():
    assert order_violations([0, 1, 2, 3]) == []
    assert order_violations([0, 1, 2, 1, 2, 3]) == []   # replay from 1
    assert order_violations([0, 2, 1]) == [1]            # 2 before 1
    assert order_violations([1, 0]) == [0]
    assert order_violations([0, 1, 0, 2]) == [3]         # replay skipped 1


def orderly_consumer(cluster, group, topic, listener, **options):
    return push_consumer(cluster, group, topic, listener, orderly=True,
                         **options)


def owned(consumers, topic):
    return [q for c in consumers for q in c.owned_queues()
            if q.startswith(topic + "@")]


def send_round(producer, seqs):
    for seq in seqs:
        for key in range(KEYS):
            r = producer.send_orderly("Ordered", f"k{key}:{seq}".encode(),
                                      sharding_key=f"k{key}")
            assert r.status == "SEND_OK"


def test_keys_stay_in_order_while_a_consumer_leaves_and_rejoins(cluster):
    cluster.start_namesrv()
    cluster.start_broker()
    with cometmq.Admin(namesrv=cluster.namesrv_addr) as admin:
        admin.create_topic("Ordered", read_queues=8, write_queues=8)
    rec = OrderRecorder()
    consumers = {name: orderly_consumer(cluster, "go", "Ordered",
                                        rec.listener(name))
                 for name in ("c0", "c1", "c2")}
    started = time.monotonic()
    try:
        wait_until(lambda: sorted(set(owned(consumers.values(), "Ordered")))
                   == sorted(owned(consumers.values(), "Ordered"))
                   and len(owned(consumers.values(), "Ordered")) == 8
                   and all(c.owned_queues() for c in consumers.values()),
                   timeout_s=30, what="the group to split the 8 queues")
        with cometmq.Producer(group="pg", namesrv=cluster.namesrv_addr) as p:
            send_round(p, range(0, 33))
            wait_until(lambda: rec.unique_count() >= 1000, timeout_s=30,
                       what="1,000 messages consumed")
            backlog_at_leave = 3300 - rec.unique_count()
            consumers.pop("c1").shutdown()            # c1 leaves mid-stream
            send_round(p, range(33, 66))
            wait_until(lambda: rec.unique_count() >= 4000, timeout_s=30,
                       what="4,000 messages consumed")
            backlog_at_join = 6600 - rec.unique_count()
            consumers["c1-again"] = orderly_consumer(  # and joins again
                cluster, "go", "Ordered", rec.listener("c1-again"))
            wait_until(lambda: owned([consumers["c1-again"]], "Ordered"),
                       timeout_s=30, what="the rejoined consumer to own queues")
            send_round(p, range(66, PER_KEY))
        wait_until(lambda: rec.unique_count() >= KEYS * PER_KEY, timeout_s=60,
                   what="all 10,000 messages")
    finally:
        for c in consumers.values():
            c.shutdown()
    elapsed = time.monotonic() - started
    with rec.lock:
        deliveries = {k: list(v) for k, v in rec.deliveries.items()}
        by_consumer = dict(rec.by_consumer)
        max_running = rec.max_running
    total = sum(len(v) for v in deliveries.values())
    print(f"{total} deliveries ({total - KEYS * PER_KEY} duplicates) in "
          f"{elapsed:.1f}s; per consumer {by_consumer}; backlog when c1 left "
          f"{backlog_at_leave}, when it rejoined {backlog_at_join}")
    assert len(deliveries) == KEYS
    for key, seqs in deliveries.items():
        assert set(seqs) == set(range(PER_KEY)), f"{key} lost messages"
        bad = order_violations(seqs)
        assert not bad, f"{key} out of order at {bad[:5]}: {seqs[:40]}"
    # Clean handovers (the leaving consumer commits, then unlocks; the next
    # owner locks, then reads the offset) replay nothing: every key is
    # consumed exactly once, in send order.
    assert all(seqs == list(range(PER_KEY)) for seqs in deliveries.values())
    # One thread, one consumer at a time per queue.
    assert max_running == 1
    # Everyone took part, including the consumer before it left and after
    # it came back.
    assert set(by_consumer) == {"c0", "c1", "c2", "c1-again"}
    assert all(n > 0 for n in by_consumer.values())


def test_failing_orderly_message_is_retried_locally_then_dead_lettered(
        cluster):
    cluster.start_namesrv()
    cluster.start_broker()
    with cometmq.Admin(namesrv=cluster.namesrv_addr) as admin:
        admin.create_topic("OrderedFail", read_queues=1, write_queues=1)
        calls = []
        lock = threading.Lock()

        def poison_fails(msg):
            with lock:
                calls.append((msg.body, msg.reconsume_times))
            return msg.body != b"poison"

        with cometmq.Producer(group="pg", namesrv=cluster.namesrv_addr) as p:
            for body in (b"before", b"poison", b"after"):
                p.send_orderly("OrderedFail", body, sharding_key="one")
        c = orderly_consumer(cluster, "gof", "OrderedFail", poison_fails,
                             max_reconsume_times=2)
        try:
            wait_until(lambda: (b"after", 0) in calls, timeout_s=30,
                       what="the message after the poison one")
        finally:
            c.shutdown()
        # Retried in place, holding back the next message of the queue.
        assert calls == [(b"before", 0), (b"poison", 0), (b"poison", 1),
                         (b"poison", 2), (b"after", 0)]
        # It is in the DLQ, and nothing went through the retry topic.
        dlq = cometmq.PullConsumer(group="gof-dlq-reader",
                                   namesrv=cluster.namesrv_addr)
        dlq.subscribe("%DLQ%gof")
        dlq.start()
        try:
            dead = []
            wait_until(lambda: dead.extend(dlq.poll(200)) or dead,
                       timeout_s=30, what="the dead letter")
        finally:
            dlq.shutdown()
        assert [m.body for m in dead] == [b"poison"]
        assert dead[0].properties.get("RETRY_TOPIC") == "OrderedFail"
        retry = admin.topic_stats("%RETRY%gof")
        assert sum(q["max_offset"] for q in retry) == 0


CHILD_CONSUMER = """
import sys, time, cometmq
namesrv, out_path = sys.argv[1], sys.argv[2]
out = open(out_path, "w", buffering=1)

def listener(msg):
    key, seq = msg.body.decode().split(":")
    out.write(f"{time.time()!r} {key} {seq}\\n")
    time.sleep(0.001)
    return True

c = cometmq.PushConsumer(group="gk", namesrv=namesrv, consume_from="FIRST_OFFSET",
                         orderly=True, lock_interval_ms=1000)
c.subscribe("OrderedKill", "*")
c.register_listener(listener)
c.start()
print("started", flush=True)
while True:
    time.sleep(1)
"""


def child_committed(admin, consumers):
    """Whether a queue the consumers here do not own has a committed offset
    past 0, i.e. the child consumer committed."""
    mine = set(owned(consumers, "OrderedKill"))
    return any(q["consumer_offset"] > 0 for q in
               admin.consumer_progress("gk", "OrderedKill")
               if f"OrderedKill@{q['broker_name']}:{q['queue_id']}" not in mine)


def test_keys_stay_in_order_when_a_consumer_is_killed(cluster, tmp_path):
    """A consumer killed with SIGKILL neither unlocks nor commits its last
    offsets: its queues move once their broker locks expire, and the next
    owner replays from the last committed offset. The replay may repeat
    messages but never reorders a key."""
    cluster.start_namesrv()
    cluster.start_broker(rebalanceLockMaxLiveTime=4000)
    admin = cometmq.Admin(namesrv=cluster.namesrv_addr)
    admin.create_topic("OrderedKill", read_queues=8, write_queues=8)
    rec = OrderRecorder()
    out_path = str(tmp_path / "child.txt")
    log_path = tmp_path / "child.log"
    with open(log_path, "w") as log:
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD_CONSUMER, cluster.namesrv_addr,
             out_path], stdout=log, stderr=subprocess.STDOUT)
    consumers = []
    try:
        wait_until(lambda: "started\n" in log_path.read_text()
                   or child.poll() is not None, timeout_s=30,
                   what="the child consumer to start")
        assert child.poll() is None, log_path.read_text()[-2000:]
        consumers = [orderly_consumer(cluster, "gk", "OrderedKill",
                                      rec.listener(n), lock_interval_ms=1000)
                     for n in ("p0", "p1")]
        # The child takes part: it is listed and owns some queues only when
        # the two here own fewer than all 8.
        wait_until(lambda: 0 < len(owned(consumers, "OrderedKill")) < 8,
                   timeout_s=30, what="the three consumers to split the queues")

        def child_lines():
            with open(out_path) as f:
                return [line.split() for line in f if line.endswith("\n")]

        with cometmq.Producer(group="pg", namesrv=cluster.namesrv_addr) as p:
            for seq in range(PER_KEY):
                for key in range(KEYS // 2):
                    p.send_orderly("OrderedKill", f"k{key}:{seq}".encode(),
                                   sharding_key=f"k{key}")
                if seq == 30:
                    # The child commits every 5 s: once it has, what it
                    # consumes next is replayed mid-stream after the kill.
                    wait_until(lambda: child_committed(admin, consumers),
                               timeout_s=30, what="a commit by the child")
                    consumed_at_commit = len(child_lines())
                if seq == 60:
                    wait_until(lambda: len(child_lines())
                               >= consumed_at_commit + 100,
                               timeout_s=30, what="the child to consume more")
                    child.send_signal(signal.SIGKILL)
                    child.wait(timeout=30)

        def seen():
            with rec.lock:
                here = set(rec.unique)
            return here | {(k, int(s)) for _, k, s in child_lines()}
        wait_until(lambda: len(seen()) >= KEYS // 2 * PER_KEY, timeout_s=60,
                   what="all 5,000 messages")
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        for c in consumers:
            c.shutdown()
        admin.shutdown()
    with rec.lock:
        timeline = list(rec.timeline)
    timeline += [(float(t), k, int(s)) for t, k, s in child_lines()]
    timeline.sort(key=lambda e: e[0])
    deliveries = {}
    for _, key, seq in timeline:
        deliveries.setdefault(key, []).append(seq)
    total = len(timeline)
    print(f"{total} deliveries, {total - KEYS // 2 * PER_KEY} replayed after "
          f"the kill; the child consumed {len(child_lines())}")
    assert len(deliveries) == KEYS // 2
    for key, seqs in deliveries.items():
        assert set(seqs) == set(range(PER_KEY)), f"{key} lost messages"
        bad = order_violations(seqs)
        assert not bad, f"{key} out of order at {bad[:5]}: {seqs[:60]}"
    assert rec.max_running == 1
