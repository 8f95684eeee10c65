"""Mixed load and checks for the crash tests of test_crash_chaos.py.

Load sends, from several threads, plain messages, bodies over 4 KiB (the
client compresses them), batches, delay-level messages and committed
transactional messages, each body starting with a key unique to it, and
records every send the broker acknowledged. The checks then read the topic
back and say what was lost, duplicated or out of place.

Every random choice comes from one seed, printed by the tests, so a failing
run's kill schedule and message mix can be replayed (thread timing aside).
"""

import random
import threading
import time

import cometmq

from helpers import wait_until

KINDS = ("plain", "plain", "big", "batch", "delay", "tx")
# Kinds whose messages must be stored exactly once: a SEND_OK send with no
# client retry is one request, stored once. Delayed and transactional
# messages may be delivered again after a crash (delay progress and
# transaction ends are persisted after the real message is stored), as in
# RocketMQ.
EXACTLY_ONCE = ("plain", "big", "batch")


def key_of(body):
    """The key a Load put at the start of `body`."""
    return body.split(b"|", 1)[0].decode()


class Acked:
    """One acknowledged message: its kind, body and where the send said it
    was stored (queue id and offset of the topic for the exactly-once
    kinds; of the schedule or half topic otherwise)."""

    __slots__ = ("kind", "body", "msg_id", "offset_msg_id", "broker_name",
                 "queue_id", "queue_offset")

    def __init__(self, kind, body, result, index=0):
        self.kind = kind
        self.body = body
        self.msg_id = result.msg_id.split(",")[index]
        self.offset_msg_id = result.offset_msg_id.split(",")[index]
        self.broker_name = result.broker_name
        self.queue_id = result.queue_id
        self.queue_offset = result.queue_offset + index


def commit_always(msg, arg=None):
    return cometmq.TransactionState.COMMIT


class Load:
    """Producer threads sending a seeded mix of kinds to `topic` until
    stopped; `acked` maps each acknowledged message's key to its Acked."""

    def __init__(self, namesrv, topic, seed, threads=3, kinds=KINDS):
        self.namesrv = namesrv
        self.topic = topic
        self.seed = seed
        self.kinds = kinds
        self.lock = threading.Lock()
        self.acked = {}
        self.failures = 0
        self.other = {}  # stored with another status than SEND_OK: count
        self.stop = threading.Event()
        self.ended_late = 0  # committed halves the broker did not record
        self.producers = []
        self.threads = [threading.Thread(target=self._run, args=(t,),
                                         daemon=True)
                        for t in range(threads)]

    def start(self):
        for t in range(len(self.threads)):
            producer = cometmq.Producer(group=f"chaos-pg{t}",
                                        namesrv=self.namesrv,
                                        send_timeout_ms=3000, retry_times=0)
            # Stays up after the sends stop, to answer the broker's checks
            # of halves whose commit a crash cut off.
            tx = cometmq.TransactionProducer(
                "chaos-tx", self.namesrv, commit_always, send_timeout_ms=3000,
                retry_times=0, heartbeat_interval_ms=500)
            producer.start()
            tx.start()
            self.producers.append((producer, tx))
        for t in self.threads:
            t.start()
        return self

    def finish(self):
        """Stops sending; the producers stay up until close()."""
        self.stop.set()
        for t in self.threads:
            t.join(60)
            assert not t.is_alive(), "a producer thread did not stop"

    def close(self):
        self.finish()
        for producer, tx in self.producers:
            tx.shutdown()
            producer.shutdown()

    def count(self):
        with self.lock:
            return len(self.acked)

    def _record(self, kind, bodies, result, ok=True):
        if result.status != "SEND_OK" or not ok:
            with self.lock:
                self.other[result.status] = self.other.get(result.status,
                                                           0) + 1
            return
        with self.lock:
            for i, body in enumerate(bodies):
                key = key_of(body)
                assert key not in self.acked, f"key {key} sent twice"
                self.acked[key] = Acked(kind, body, result, i)

    def _run(self, t):
        rng = random.Random(f"{self.seed}-{t}")
        producer, tx = self.producers[t]
        seq = 0
        while not self.stop.is_set():
            kind = rng.choice(self.kinds)
            count = rng.randint(2, 4) if kind == "batch" else 1
            bodies = []
            for _ in range(count):
                head = f"{t}-{seq}|{kind}|".encode()
                seq += 1
                if kind == "big":
                    # Random bytes barely compress: the stored record
                    # stays large and fills segments quickly.
                    pad = rng.randbytes(rng.randint(4200, 9000))
                else:
                    pad = b"." * rng.randint(0, 300)
                bodies.append(head + pad)
            try:
                if kind == "batch":
                    r = producer.send_batch(self.topic, bodies)
                    self._record(kind, bodies, r)
                elif kind == "tx":
                    r = tx.send_in_transaction(self.topic, bodies[0],
                                               commit_always)
                    committed = (r.local_state ==
                                 cometmq.TransactionState.COMMIT)
                    self._record(kind, bodies, r, committed)
                    if committed and r.end_error:
                        with self.lock:
                            self.ended_late += 1
                else:
                    r = producer.send(
                        self.topic, bodies[0],
                        delay_level=1 if kind == "delay" else 0)
                    self._record(kind, bodies, r)
            except cometmq.MQClientError:
                with self.lock:
                    self.failures += 1
                # The broker is down: do not spin while it restarts.
                self.stop.wait(0.05)


class KeyCollector:
    """A push consumer listener recording every key delivered to it."""

    def __init__(self):
        self.lock = threading.Lock()
        self.keys = set()

    def __call__(self, msg):
        with self.lock:
            self.keys.add(key_of(msg.body))
        return True

    def missing(self, keys):
        with self.lock:
            return [k for k in keys if k not in self.keys]


def read_topic(namesrv, topic, acked, admin=None, timeout_s=90,
               settle_s=20):
    """Every message of `topic`, by (broker, queue, offset), through a new
    group from the first offset, until every acknowledged key was read and
    a poll found nothing more. With `admin`, also until every offset the
    queues hold by their topic_stats (unchanged since the previous poll)
    was read, or `settle_s` passed (check_topic then names the offsets not
    served). Returns (seen, {(broker, queue): (min, max)} or None). Asserts
    no offset is served with two bodies."""
    want = set(acked)
    seen = {}
    keys = set()
    state = {"stats": None, "all_keys_at": None}

    def complete(stats):
        return all((b, q, o) in seen for (b, q), (lo, hi) in stats.items()
                   for o in range(lo, hi))

    with cometmq.PullConsumer(group=f"chaos-verify-{time.monotonic_ns()}",
                              namesrv=namesrv,
                              consume_from="FIRST_OFFSET") as c:
        c.subscribe(topic)
        c.start()

        def caught_up():
            polled = c.poll(500)
            for m in polled:
                where = (m.broker_name, m.queue_id, m.queue_offset)
                assert seen.setdefault(where, m.body) == m.body, (
                    f"two bodies at {where}")
                keys.add(key_of(m.body))
            if polled or not want <= keys:
                return False
            if admin is None:
                return True
            now = time.monotonic()
            if state["all_keys_at"] is None:
                state["all_keys_at"] = now
            stats = {(q["broker_name"], q["queue_id"]):
                     (q["min_offset"], q["max_offset"])
                     for q in admin.topic_stats(topic)}
            stable = stats == state["stats"]
            state["stats"] = stats
            return stable and (complete(stats) or
                               now - state["all_keys_at"] > settle_s)

        try:
            wait_until(caught_up, timeout_s, "every acknowledged key")
        except AssertionError:
            missing = sorted(want - keys)
            raise AssertionError(
                f"{len(missing)} of {len(want)} acknowledged messages not "
                f"read back, e.g. {[describe(acked[k]) for k in missing[:5]]}"
            ) from None
    return seen, state["stats"]


def describe(a):
    return (f"{key_of(a.body)} {a.kind} at {a.broker_name}/{a.queue_id}/"
            f"{a.queue_offset} msg_id {a.msg_id}")


def check_topic(acked, seen, stats):
    """What read_topic saw against what was acknowledged and what the
    broker says its queues hold (`stats`, from read_topic); returns a list
    of problems (empty when all is well)."""
    problems = []
    # Every exactly-once message at the offset its send reported.
    for key, a in acked.items():
        if a.kind not in EXACTLY_ONCE:
            continue
        body = seen.get((a.broker_name, a.queue_id, a.queue_offset))
        if body != a.body:
            problems.append(f"{describe(a)}: the offset holds "
                            f"{key_of(body) if body else None}")
    # No key at two offsets, for the kinds stored exactly once.
    where_of = {}
    for where, body in seen.items():
        key = key_of(body)
        if body.split(b"|")[1].decode() not in EXACTLY_ONCE:
            continue
        if key in where_of:
            problems.append(f"{key} at {where_of[key]} and {where}")
        where_of[key] = where
    # The queues hold every offset from their minimum to their maximum.
    for (name, qid), (lo, hi) in sorted(stats.items()):
        if not 0 <= lo <= hi:
            problems.append(f"queue {name}/{qid}: min {lo} max {hi}")
        offsets = sorted(o for b, i, o in seen if (b, i) == (name, qid))
        expected = list(range(lo, hi))
        if offsets != expected:
            holes = sorted(set(expected) - set(offsets))
            extra = sorted(set(offsets) - set(expected))
            problems.append(f"queue {name}/{qid} [{lo}, {hi}): {len(holes)} "
                            f"offsets not served (e.g. {holes[:5]}), "
                            f"{len(extra)} outside (e.g. {extra[:5]})")
    return problems


def copies_by_kind(seen):
    """kind -> (keys stored, extra copies stored, most copies of one key)
    among what was read."""
    copies = {}
    for body in seen.values():
        copies[body] = copies.get(body, 0) + 1
    by_kind = {}
    for body, n in copies.items():
        kind = body.split(b"|")[1].decode()
        keys, extra, most = by_kind.get(kind, (0, 0, 0))
        by_kind[kind] = (keys + 1, extra + n - 1, max(most, n))
    return by_kind


def check_lookups(admin, topic, acked, rng, samples=20):
    """queryMsgById by offset msg id and by msg id for a sample of the
    exactly-once messages; returns the problems found."""
    problems = []
    plain = sorted(k for k, a in acked.items() if a.kind in EXACTLY_ONCE)
    for key in rng.sample(plain, min(samples, len(plain))):
        a = acked[key]
        for ident in (a.offset_msg_id, a.msg_id):
            try:
                m = admin.query_message(topic, ident)
            except cometmq.MQClientError as e:
                problems.append(f"query {ident} of {describe(a)}: {e}")
                continue
            if m.body != a.body:
                problems.append(f"query {ident} of {describe(a)} gave "
                                f"{key_of(m.body)}")
    return problems
