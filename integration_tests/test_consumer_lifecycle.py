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


def _key_for_queue(producer, topic, queue_id):
    """A sharding key whose messages send_orderly puts on `queue_id`, found
    by sending (the message sent counts as one of the topic's)."""
    for i in range(64):
        if producer.send_orderly(topic, b"probe", f"k{i}").queue_id == queue_id:
            return f"k{i}"
    raise AssertionError(f"no key maps to queue {queue_id}")


def test_slow_listener_on_a_queue_given_up_does_not_stall_the_consumer(
        cluster):
    """A rebalance gives up a queue whose listener call is still running.
    The consumer waits for that call only briefly and finishes the hand-over
    later: meanwhile its other queue's progress is still committed every
    few seconds (a rebalance that waited the whole drop_wait, 30 s, held the
    timer that commits), and the new owner gets the unfinished message."""
    cluster.start_namesrv()
    cluster.start_broker()
    topic = "TopicSlowDrop"
    with cometmq.Admin(cluster.namesrv_addr) as admin:
        admin.create_topic(topic, read_queues=2, write_queues=2)
    producer = cometmq.Producer("PGSlowDrop", cluster.namesrv_addr)
    producer.start()
    keys = [_key_for_queue(producer, topic, q) for q in (0, 1)]

    entered = threading.Event()
    release = threading.Event()
    fast = Collector("a")

    def listener(msg):
        if msg.queue_id == 1 and msg.body == b"slow":
            entered.set()
            release.wait(60)
            return True
        return fast(msg)

    # Clients are allocated queues in client-id order: "a-..." gets queue 0
    # and gives queue 1 up to "b-..." when that one joins.
    a = push_consumer(cluster, "CGSlowDrop", topic, listener,
                      instance_name="a-slowdrop", consume_threads=2)
    b = None
    try:
        producer.send_orderly(topic, b"slow", keys[1])
        assert entered.wait(30), "the slow message never reached a listener"
        taken_over = Collector("b")
        b = push_consumer(cluster, "CGSlowDrop", topic, taken_over,
                          instance_name="b-slowdrop")
        wait_until(lambda: [q for q in a.owned_queues()
                            if q.startswith(topic)] == [f"{topic}@broker-a:0"],
                   30, "the first consumer to give queue 1 up")
        last = max(producer.send_orderly(topic, f"after{i}".encode(),
                                         keys[0]).queue_offset
                   for i in range(5))
        with cometmq.Admin(cluster.namesrv_addr) as admin:
            def queue0_committed():
                return any(q["queue_id"] == 0 and q["consumer_offset"] > last
                           for q in admin.consumer_progress("CGSlowDrop",
                                                            topic))
            # Commits run every 5 s. A give-up that waited drop_wait (30 s)
            # held them; pulls carry commits too, but the next one is due
            # when its long poll ends (15 s).
            wait_until(queue0_committed, 11,
                       "queue 0's progress to be committed while queue 1's "
                       "listener call still runs")
        # The new owner started where nothing was committed yet.
        wait_until(lambda: b"slow" in taken_over.bodies(), 30,
                   "the new owner to get the unfinished message")
        assert {f"after{i}".encode() for i in range(5)} <= set(fast.bodies())
    finally:
        release.set()
        a.shutdown()
        if b is not None:
            b.shutdown()
        producer.shutdown()
