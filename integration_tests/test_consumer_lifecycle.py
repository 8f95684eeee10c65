"""Consumer start/shutdown edge cases through real processes."""

import threading
import time

import cometmq

from helpers import Collector, push_consumer, wait_until

COUNT = 20


def _shutdown_threads():
    return [t for t in threading.enumerate()
            if t.name == "cometmq-consumer-shutdown"]


def test_shutdown_from_the_listener_stops_and_commits(cluster):
    """A listener that shuts its own consumer down: the call returns at once
    (it used to wait drop_wait for itself, raise 'Resource deadlock avoided'
    and could crash the process), the consumer stops, commits what it
    consumed, and the group's next consumer goes on from there."""
    cluster.start_namesrv()
    cluster.start_broker()
    with cometmq.Admin(cluster.namesrv_addr) as admin:
        admin.create_topic("TopicLife", read_queues=1, write_queues=1)
    with cometmq.Producer("PGLife", cluster.namesrv_addr) as producer:
        for i in range(COUNT):
            producer.send("TopicLife", f"m{i}".encode())

    first = []
    outcome = {}
    called = threading.Event()
    holder = {}

    def listener(msg):
        first.append(int(msg.body[1:]))
        if len(first) == 5:
            # May run before start() returned: shutdown waits for it.
            while "consumer" not in holder:
                time.sleep(0.01)
            began = time.monotonic()
            try:
                holder["consumer"].shutdown()
            except BaseException as e:  # pylint: disable=broad-except
                outcome["error"] = e
            outcome["took"] = time.monotonic() - began
            called.set()
        return True

    consumer = cometmq.PushConsumer("CGLife", cluster.namesrv_addr,
                                    consume_from="FIRST_OFFSET",
                                    consume_threads=1)
    consumer.subscribe("TopicLife")
    consumer.register_listener(listener)
    holder["consumer"] = consumer
    consumer.start()
    assert called.wait(30)
    assert "error" not in outcome, outcome
    assert outcome["took"] < 5
    wait_until(lambda: not _shutdown_threads(), 30, "the consumer to stop")
    # The one consume thread had the whole pull in hand: no listener call
    # started after the one that called shutdown().
    stopped_at = len(first)
    assert stopped_at == 5, first

    second = Collector()
    c2 = push_consumer(cluster, "CGLife", "TopicLife", second,
                       instance_name="life-2")
    try:
        wait_until(lambda: set(first) | {int(b[1:]) for b in second.bodies()}
                   == set(range(COUNT)), 30, "every message")
        # The first consumer's progress was committed at its shutdown.
        assert min(int(b[1:]) for b in second.bodies()) >= 5
    finally:
        c2.shutdown()
    assert len(first) == stopped_at  # nothing delivered after the stop
