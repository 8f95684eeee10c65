"""Brokers stopped again and again under mixed load, through the real binaries.

A broker with tiny commit log segments and consume queue files is stopped
at seeded random moments while threads send plain, compressed, batched,
delayed and transactional messages, and is restarted each time: mostly by
SIGKILL, sometimes SIGKILL a moment into a graceful stop or a whole graceful
stop, and after a kill sometimes killed again while it recovers. At the end
every acknowledged message must be there: the exactly-once kinds at the
queue offset their send reported and nowhere else, every queue served
without holes from its minimum to its maximum offset, lookups by msg id
answered, and a consumer group that kept committing offsets across the
crashes must have been given every message. With a SYNC_MASTER and its
slave, the slave is stopped so again and again and the master killed,
sometimes while the slave stalls; each time the slave alone must serve
everything acknowledged, and at the end its commit log must be the
master's, byte for byte, up to where it ends.

Seen in soak runs, and allowed (delivery is at least once): delayed
messages are delivered again after a crash back to the last persisted delay
progress, several times over when crashes come faster than
flushDelayOffsetInterval; with SYNC_FLUSH a committed transaction is now
and then delivered twice (never more often).

COMETMQ_CHAOS_SEED and COMETMQ_CHAOS_ROUNDS replay or lengthen a run.
"""

import os
import random
import signal
import time

import cometmq
import pytest

from chaos import (EXACTLY_ONCE, KeyCollector, Load, check_lookups,
                   check_topic, copies_by_kind, describe, read_topic)
from helpers import push_consumer, wait_until
from test_replication import FAST_BROKER, FAST_NAMESRV, wait_caught_up

TOPIC = "Chaos"
SMALL_FILES = {"mappedFileSizeCommitLog": 64 * 1024,
               "mappedFileSizeConsumeQueue": 20 * 64}
FAST = {"transactionCheckInterval": 500, "transactionTimeOut": 1000,
        "flushConsumerOffsetInterval": 500, "flushDelayOffsetInterval": 500,
        "registerBrokerIntervalMillis": 1000}


def seed_and_rounds(default_rounds):
    seed = int(os.environ.get("COMETMQ_CHAOS_SEED", "20261127"))
    rounds = int(os.environ.get("COMETMQ_CHAOS_ROUNDS", default_rounds))
    print(f"\nchaos seed {seed}, {rounds} rounds "
          f"(COMETMQ_CHAOS_SEED={seed} replays it)")
    return seed, rounds


RECOVERING = b"was not shut down cleanly; recovering"


def kill_during_recovery(node, rng):
    """Starts `node` and SIGKILLs it while it recovers from the previous
    kill: a random 0-40 ms after it logs that recovery began (the window
    until it logs that recovery ended is about that long). A store that
    was shut down cleanly after all is killed once booted."""
    with open(node.log_path, "rb") as f:
        f.seek(0, os.SEEK_END)
        seen = f.tell()
    node.start_async()
    try:
        def recovering():
            with open(node.log_path, "rb") as f:
                f.seek(seen)
                return (RECOVERING in f.read() or node.ready or
                        not node.running)
        wait_until(recovering, 30, "recovery to begin")
        time.sleep(rng.uniform(0.0, 0.04))  # a random kill moment
    finally:
        node.kill(signal.SIGKILL)


def stop_somehow(broker, rng):
    """SIGKILL mostly; else SIGKILL a moment into a graceful stop, or a
    whole graceful stop (so clean restarts are in the mix too)."""
    how = rng.choice(("kill", "kill", "kill", "kill mid-stop", "stop"))
    if how == "kill mid-stop":
        broker.send_signal(signal.SIGTERM)
        time.sleep(rng.uniform(0.0, 0.1))  # a stop takes 5-100 ms
    if how == "stop":
        assert broker.stop() == 0
    else:
        broker.kill(signal.SIGKILL)
    return how


def crash_rounds(cluster, broker, load, rng, rounds):
    """Stops `broker` `rounds` times while `load` runs, each time once a
    random number of further sends were acknowledged, and starts it again
    (after a kill, at random killing it once more while it recovers)."""
    for round_no in range(rounds):
        target = load.count() + rng.randint(30, 400)
        wait_until(lambda: load.count() >= target, 120,
                   f"{target} acknowledged messages in round {round_no}")
        how = stop_somehow(broker, rng)
        if how != "stop" and rng.random() < 0.5:
            kill_during_recovery(broker, rng)
        broker.start()


def verify(cluster, load, collector, rng):
    admin = cometmq.Admin(cluster.namesrv_addr)
    admin.start()
    try:
        seen, stats = read_topic(cluster.namesrv_addr, TOPIC, load.acked,
                                 admin)
        problems = check_topic(load.acked, seen, stats)
        problems += check_lookups(admin, TOPIC, load.acked, rng)
        # A committed offset past the queue's end would skip what comes.
        problems += [f"chaos-cg committed {q['consumer_offset']} on "
                     f"{q['queue_id']}, beyond its end {q['broker_offset']}"
                     for q in admin.consumer_progress("chaos-cg", TOPIC)
                     if q["consumer_offset"] > q["broker_offset"]]
    finally:
        admin.shutdown()
    kinds = {}
    for a in load.acked.values():
        kinds[a.kind] = kinds.get(a.kind, 0) + 1
    print(f"acknowledged {len(load.acked)} ({kinds}), {load.failures} sends "
          f"failed, {load.other} stored without SEND_OK, {load.ended_late} "
          f"commits not recorded at once; stored {len(seen)} (kind: (keys, "
          f"extra copies, most copies)) {copies_by_kind(seen)}")
    assert problems == [], "\n".join(problems[:20])
    wait_until(lambda: not collector.missing(load.acked), 60,
               "the committing group to be given every message")


@pytest.mark.parametrize("flush", ["SYNC_FLUSH", "ASYNC_FLUSH"])
def test_broker_killed_again_and_again_loses_nothing(cluster, flush):
    seed, rounds = seed_and_rounds(8)
    rng = random.Random(seed)
    cluster.start_namesrv()
    broker = cluster.start_broker(flushDiskType=flush, **SMALL_FILES, **FAST)
    with cometmq.Admin(cluster.namesrv_addr) as admin:
        admin.create_topic(TOPIC, read_queues=4, write_queues=4)
    collector = KeyCollector()
    consumer = push_consumer(cluster, "chaos-cg", TOPIC, collector)
    load = Load(cluster.namesrv_addr, TOPIC, seed).start()
    try:
        crash_rounds(cluster, broker, load, rng, rounds)
        target = load.count() + 100
        wait_until(lambda: load.count() >= target, 60, "sends after the last "
                   "restart")
    finally:
        load.finish()
    try:
        verify(cluster, load, collector, rng)
    finally:
        consumer.shutdown()
        load.close()


def commit_log_bytes(store):
    """The commit log of a stopped broker's store: segment name -> bytes."""
    path = os.path.join(store, "commitlog")
    out = {}
    for name in sorted(os.listdir(path)):
        with open(os.path.join(path, name), "rb") as f:
            out[name] = f.read()
    return out


def read_from_slave(cluster, load):
    """With the master down: every exactly-once message acknowledged so
    far, read back from the slave at its offset."""
    with load.lock:
        acked = {k: a for k, a in load.acked.items()
                 if a.kind in EXACTLY_ONCE}
    seen, _ = read_topic(cluster.namesrv_addr, TOPIC, acked)
    return [describe(a) for a in acked.values()
            if seen.get((a.broker_name, a.queue_id, a.queue_offset)) !=
            a.body]


def test_sync_master_and_slave_killed_again_and_again_lose_nothing(cluster):
    seed, rounds = seed_and_rounds(2)
    rng = random.Random(seed)
    cluster.start_namesrv(**FAST_NAMESRV)
    conf = {**SMALL_FILES, **FAST, **FAST_BROKER,
            "flushDiskType": "SYNC_FLUSH"}
    master = cluster.start_broker(broker_id=0, brokerRole="SYNC_MASTER",
                                  **conf)
    slave = cluster.start_broker(broker_id=1, brokerRole="SLAVE", **conf)
    admin = cometmq.Admin(cluster.namesrv_addr)
    admin.start()
    collector = KeyCollector()
    consumer = None
    load = None
    try:
        admin.create_topic(TOPIC, read_queues=4, write_queues=4)
        wait_caught_up(admin, master, slave)
        consumer = push_consumer(cluster, "chaos-cg", TOPIC, collector)
        # Two threads: every round reads all of it back from the slave.
        load = Load(cluster.namesrv_addr, TOPIC, seed, threads=2).start()
        for round_no in range(rounds):
            for _ in range(rng.randint(1, 3)):
                target = load.count() + rng.randint(30, 300)
                wait_until(lambda: load.count() >= target, 120,
                           f"{target} acknowledged in round {round_no}")
                if stop_somehow(slave, rng) != "stop" and rng.random() < 0.3:
                    kill_during_recovery(slave, rng)
                slave.start()
            target = load.count() + rng.randint(30, 300)
            wait_until(lambda: load.count() >= target, 120,
                       f"{target} acknowledged in round {round_no}")
            # Sometimes the slave stalls first: what the master acknowledges
            # meanwhile must still reach it (SYNC_MASTER waits for it).
            stalled = rng.random() < 0.5
            if stalled:
                slave.pause()
                time.sleep(rng.uniform(0.05, 0.5))  # a random stall length
            master.kill(signal.SIGKILL)
            if stalled:
                slave.resume()
            missing = read_from_slave(cluster, load)
            assert missing == [], (f"round {round_no}: {len(missing)} "
                                   f"missing on the slave: {missing[:5]}")
            if rng.random() < 0.3:
                kill_during_recovery(master, rng)
            master.start()
        target = load.count() + 100
        wait_until(lambda: load.count() >= target, 60,
                   "sends after the last restart")
        load.finish()
        wait_caught_up(admin, master, slave)
        verify(cluster, load, collector, rng)
    finally:
        if consumer is not None:
            consumer.shutdown()
        if load is not None:
            load.close()
        admin.shutdown()
    # After clean stops the slave's commit log is the master's, byte for
    # byte, up to where the slave ends (the master may have written a
    # redelivered delayed message or a checked transaction since).
    assert master.stop() == 0
    assert slave.stop() == 0
    check_prefix(commit_log_bytes(slave.store), commit_log_bytes(master.store))


def check_prefix(slave, master):
    """Each slave segment equals the master's up to the slave's end, past
    which the slave's last segment holds only zeros."""
    assert slave, "the slave has no commit log"
    assert set(slave) <= set(master), (
        f"segments only the slave has: {sorted(set(slave) - set(master))}")
    last = max(slave)
    for name, ours in sorted(slave.items()):
        theirs = master[name]
        if ours == theirs:
            continue
        differ = next(i for i in range(len(ours)) if ours[i] != theirs[i])
        assert name == last and not ours[differ:].strip(b"\0"), (
            f"slave segment {name} differs from the master's at byte {differ}")
