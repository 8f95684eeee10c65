"""Resetting a consumer group's offsets while its consumers run:
mqadmin resetOffsetByTime and skipAccumulatedMessage (RocketMQ's
resetOffsetByTimestamp). The brokers store the new offsets and tell the
group's online clients, which drop what they hold of those queues and pull
from there; a group with no online consumer is written directly."""

import json
import threading
import time

import cometmq
import pytest

from helpers import (consumer_progress, create_topic, mqadmin, push_consumer,
                     send_numbered, wait_until)


def lag(ns, group, topic):
    """The group's total lag on the topic (consumerProgress)."""
    return consumer_progress(ns, group, topic)[0]


class Gate:
    """A listener recording every delivery in order; while closed, every
    call on a message whose body starts with `hold` blocks until open()."""

    def __init__(self, hold=b"old-"):
        self.hold = hold
        self.lock = threading.Lock()
        self.opened = threading.Event()
        self.bodies = []
        self.blocked = 0

    def __call__(self, msg):
        with self.lock:
            self.bodies.append(msg.body)
            hold = msg.body.startswith(self.hold)
            if hold and not self.opened.is_set():
                self.blocked += 1
        if hold:
            self.opened.wait(60)
        return True

    def open(self):
        self.opened.set()

    def received(self):
        with self.lock:
            return list(self.bodies)

    def blocked_calls(self):
        with self.lock:
            return self.blocked


def reset_json(*args):
    """Runs mqadmin with `args` ("-n", NAMESRV, SUBCOMMAND, ...) and --json;
    returns the parsed output and the run."""
    args = (args[2], *args[:2], *args[3:])
    result = mqadmin(*args, "--json", check=0)
    return json.loads(result.stdout), result


@pytest.mark.parametrize("command", [
    ["skipAccumulatedMessage"],
    # A reset to now is a skip too; mqadmin had it before the online path.
    ["resetOffsetByTime", "-s", "now"],
], ids=["skipAccumulatedMessage", "resetOffsetByTime-now"])
def test_skip_moves_a_running_group_past_its_backlog(cluster, command):
    cluster.start_namesrv()
    cluster.start_broker()
    ns = cluster.namesrv_addr
    topic, group = "SkipT", "cg-skip"
    create_topic(ns, topic, 4)
    producer = cometmq.Producer(group="pg-skip", namesrv=ns).start()
    send_numbered(producer, topic, b"old-", 200)
    gate = Gate()
    consumers = [push_consumer(cluster, group, topic, gate,
                               consume_threads=2, instance_name=f"skip{i}")
                 for i in range(2)]
    try:
        # Both consumers run, every consume thread is held on an old
        # message and the rest of the backlog waits in their queues.
        wait_until(lambda: all(
            any(q.startswith(topic) for q in c.owned_queues())
            for c in consumers), what="both consumers owning queues")
        wait_until(lambda: gate.blocked_calls() == 4,
                   what="every consume thread busy")
        diff, _ = consumer_progress(ns, group, topic)
        assert diff > 150

        out, _ = reset_json("-n", ns, *command, "-g", group, "-t", topic)
        skipped = {(q["brokerName"], q["queueId"]): q["offset"]
                   for q in out["queues"]}
        assert sum(skipped.values()) == 200
        # The broker stored it before answering; a pull of the consumers'
        # that crossed the skip may have carried an older commit, which
        # their own commit of the skip offsets then overwrites.
        wait_until(lambda: consumer_progress(ns, group, topic) == (0, skipped),
                   what="lag 0 at the skip offsets")
        # A list, not a set: a rebalance before the skip may already have
        # delivered a held message twice, once by each consumer.
        started = gate.received()

        gate.open()
        send_numbered(producer, topic, b"new-", 20)
        wait_until(lambda: sum(b.startswith(b"new-")
                               for b in gate.received()) == 20,
                   what="the messages sent after the skip")
        # Of the backlog only the calls running at the skip finished.
        old = [b for b in gate.received() if b.startswith(b"old-")]
        assert sorted(old) == sorted(started), (
            f"{len(old) - len(started)} old messages delivered after the skip")
        assert sorted(b for b in gate.received() if b.startswith(b"new-")) \
            == sorted(b"new-%d" % i for i in range(20))
        # Their commits move on from the skip, never back before it.
        wait_until(lambda: lag(ns, group, topic) == 0,
                   what="the new messages committed")
        _, committed = consumer_progress(ns, group, topic)
        assert sum(committed.values()) == 220
        assert all(committed[q] >= skipped[q] for q in skipped), committed
        assert out["path"] == "online" and out["clientsNotified"] == 2, out
    finally:
        gate.open()
        for c in consumers:
            c.shutdown()
        producer.shutdown()


def test_reset_to_an_earlier_time_makes_a_running_consumer_consume_again(
        cluster):
    cluster.start_namesrv()
    cluster.start_broker()
    ns = cluster.namesrv_addr
    topic, group = "RewindT", "cg-rewind"
    create_topic(ns, topic, 2)
    producer = cometmq.Producer(group="pg-rewind", namesrv=ns).start()
    send_numbered(producer, topic, b"before-", 5)
    # Store times are whole milliseconds: the reset time is past the
    # messages above and before the ones below.
    boundary = int(time.time() * 1000) + 2
    wait_until(lambda: time.time() * 1000 >= boundary + 2,
               what="the clock to pass the boundary")
    send_numbered(producer, topic, b"after-", 10)
    gate = Gate(hold=b"never")
    consumer = push_consumer(cluster, group, topic, gate)
    try:
        wait_until(lambda: len(gate.received()) == 15, what="first delivery")
        wait_until(lambda: lag(ns, group, topic) == 0,
                   what="everything committed")
        out, result = reset_json("-n", ns, "resetOffsetByTime", "-g", group,
                                 "-t", topic, "-s", str(boundary))
        assert out["path"] == "online", result.stdout
        assert sum(q["offset"] for q in out["queues"]) == 5
        assert out["clientsNotified"] == 1, out
        # The running consumer gets the messages after the time again, and
        # only those.
        wait_until(lambda: all(gate.received().count(b"after-%d" % i) == 2
                               for i in range(10)),
                   what="the messages after the reset time again")
        wait_until(lambda: lag(ns, group, topic) == 0,
                   what="everything committed again")
        received = gate.received()
        assert len(received) == 25, received
        for i in range(5):
            assert received.count(b"before-%d" % i) == 1, received
    finally:
        consumer.shutdown()
        producer.shutdown()


def test_a_lite_pull_consumer_obeys_a_reset(cluster):
    cluster.start_namesrv()
    cluster.start_broker()
    ns = cluster.namesrv_addr
    topic, group = "PullResetT", "cg-pull-reset"
    create_topic(ns, topic, 2)
    producer = cometmq.Producer(group="pg-pull-reset", namesrv=ns).start()
    send_numbered(producer, topic, b"first-", 10)
    c = cometmq.PullConsumer(group=group, namesrv=ns)
    try:
        c.subscribe(topic)
        c.start()
        got = []

        def poll_until(count):
            def enough():
                got.extend(m.body for m in c.poll(200))
                return len(got) >= count
            wait_until(enough, timeout_s=30, what=f"{count} messages")

        poll_until(10)
        c.commit()
        assert lag(ns, group, topic) == 0
        # Back to the beginning: the polled messages come again.
        text = mqadmin("resetOffsetByTime", "-n", ns, "-g", group, "-t",
                       topic, "-s", "0", check=0).stdout
        assert "told the group's online consumers (1 notified)" in text
        assert "stop them before resetting" not in text
        # Stored before the answer, but a pull of the consumer's crossing
        # the reset (one re-sent as its 15 s hold ended) may carry the old
        # offset over it; the consumer then commits the reset again.
        wait_until(lambda: lag(ns, group, topic) == 10,
                   what="lag 10 after the reset")
        poll_until(20)
        assert sorted(got[10:]) == sorted(got[:10])
        c.commit()
        wait_until(lambda: lag(ns, group, topic) == 0,
                   what="the commit")
        # A backlog polled by nobody yet (already buffered in the client)
        # is skipped.
        send_numbered(producer, topic, b"backlog-", 10)
        # Through the Python Admin this time.
        skipped = cometmq.Admin(namesrv=ns).skip_accumulated_message(
            group, topic)
        assert [q["online"] for q in skipped["queues"]] == [True, True]
        assert sum(q["offset"] for q in skipped["queues"]) == 20
        assert skipped["clients_notified"] == 1
        send_numbered(producer, topic, b"new-", 5)
        poll_until(25)
        assert sorted(got[20:]) == sorted(b"new-%d" % i for i in range(5))
        c.commit()
        assert lag(ns, group, topic) == 0
    finally:
        c.shutdown()
        producer.shutdown()


def test_a_group_with_no_online_consumer_is_reset_directly(cluster):
    cluster.start_namesrv()
    cluster.start_broker()
    ns = cluster.namesrv_addr
    topic, group = "OfflineT", "cg-offline"
    create_topic(ns, topic, 2)
    producer = cometmq.Producer(group="pg-offline", namesrv=ns).start()
    send_numbered(producer, topic, b"m-", 10)
    c = cometmq.PullConsumer(group=group, namesrv=ns)
    c.subscribe(topic)
    c.start()
    got = []

    def enough():
        got.extend(c.poll(200))
        return len(got) >= 4
    wait_until(enough, what="some messages")
    c.commit()
    c.shutdown()

    out, result = reset_json("-n", ns, "resetOffsetByTime", "-g", group,
                             "-t", topic, "-s", "0")
    assert out["path"] == "direct", result.stdout
    assert [q["online"] for q in out["queues"]] == [False, False]
    assert lag(ns, group, topic) == 10
    text = mqadmin("skipAccumulatedMessage", "-n", ns, "-g", group, "-t",
                   topic, check=0).stdout
    assert "no online consumer" in text
    assert lag(ns, group, topic) == 0
    # Without force a queue only moves back: a skip moves nothing, a reset
    # to the beginning moves every queue.
    out, _ = reset_json("-n", ns, "resetOffsetByTime", "-g", group, "-t",
                        topic, "-s", "0", "-f", "false")
    assert lag(ns, group, topic) == 10
    out, _ = reset_json("-n", ns, "skipAccumulatedMessage", "-g", group, "-t",
                        topic, "-f", "false")
    assert lag(ns, group, topic) == 10
    producer.shutdown()


def test_a_broadcasting_group_is_reset_in_its_clients(cluster, tmp_path):
    # Its offsets live in each client (a local file): the broker stores
    # nothing for it and tells every online client, which takes the offsets
    # as its own and consumes from there.
    cluster.start_namesrv()
    cluster.start_broker()
    ns = cluster.namesrv_addr
    topic, group = "BcResetT", "cg-bc-reset"
    create_topic(ns, topic, 2)
    producer = cometmq.Producer(group="pg-bc-reset", namesrv=ns).start()
    send_numbered(producer, topic, b"m-", 6)
    gates = [Gate(hold=b"never") for _ in range(2)]
    consumers = [push_consumer(cluster, group, topic, gate,
                               model="BROADCASTING", instance_name=f"bc{i}",
                               offset_dir=str(tmp_path))
                 for i, gate in enumerate(gates)]
    try:
        for gate in gates:
            wait_until(lambda: len(gate.received()) == 6, what="delivery")
        out, _ = reset_json("-n", ns, "resetOffsetByTime", "-g", group, "-t",
                            topic, "-s", "0")
        assert out["path"] == "online" and out["clientsNotified"] == 2, out
        assert [q["offset"] for q in out["queues"]] == [0, 0]
        for gate in gates:
            wait_until(lambda: sorted(gate.received()) == sorted(
                [b"m-%d" % i for i in range(6)] * 2), what="redelivery")
        # Nothing is stored on the broker for the group (a queue it has no
        # offset for shows 0).
        out, _ = reset_json("-n", ns, "skipAccumulatedMessage", "-g", group,
                            "-t", topic)
        assert [q["offset"] for q in out["queues"]] == [3, 3]
        assert set(consumer_progress(ns, group, topic)[1].values()) == {0}
        send_numbered(producer, topic, b"n-", 2)
        for gate in gates:
            wait_until(lambda: b"n-0" in gate.received()
                       and b"n-1" in gate.received(),
                       what="the messages after the skip")
            assert len(gate.received()) == 14
    finally:
        for c in consumers:
            c.shutdown()
        producer.shutdown()
