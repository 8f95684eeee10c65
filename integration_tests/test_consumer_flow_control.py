"""RocketMQ's consumeConcurrentlyMaxSpan and consumeTimeout of a push
consumer through real nameserver and broker processes."""

import threading
import time

import pytest

import cometmq

from helpers import push_consumer, wait_until


def holds_for(predicate, seconds, what):
    """Asserts `predicate` stays true for `seconds`: for something that must
    NOT happen (a pull), where there is no event to wait for."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert predicate(), what
        time.sleep(0.02)


def messages_got(admin, broker):
    """Messages the broker has served to pulls so far."""
    return int(admin.broker_status(broker.addr)["msgGetTotal"])


def test_max_span_stops_pulls_until_the_held_messages_are_consumed(cluster):
    # The one consume thread is stuck on the first message: the first pull
    # (32 messages) spans 31 offsets, above the limit of 10, so the queue is
    # not pulled again (pull_threshold_for_queue, 1000 messages, would let
    # all 100 in) until the held messages are consumed.
    cluster.start_namesrv()
    broker = cluster.start_broker()
    admin = cometmq.Admin(namesrv=cluster.namesrv_addr)
    admin.create_topic("Span", read_queues=1, write_queues=1)
    with cometmq.Producer(group="pg", namesrv=cluster.namesrv_addr) as p:
        for i in range(100):
            assert p.send("Span", b"%d" % i).status == "SEND_OK"
    gate = threading.Event()
    lock = threading.Lock()
    got = set()

    def listener(msg):
        gate.wait(60)
        with lock:
            got.add(msg.body)
        return True

    c = push_consumer(cluster, "cg-span", "Span", listener,
                      consume_threads=1, consume_concurrently_max_span=10)
    try:
        wait_until(lambda: messages_got(admin, broker) > 10, timeout_s=20,
                   what="the first pull")
        # At most a pull of 32 past the first one that spans more than 10.
        holds_for(lambda: messages_got(admin, broker) < 10 + 1 + 32, 1.5,
                  "no pull while the held messages span more than 10")
        gate.set()
        wait_until(lambda: len(got) == 100, timeout_s=30,
                   what="all 100 messages once the first was consumed")
        assert messages_got(admin, broker) == 100
    finally:
        gate.set()
        c.shutdown()
        admin.shutdown()


def test_a_message_past_its_consume_timeout_comes_again_from_the_retry_topic(
        cluster):
    # A listener call still running after consume_timeout_ms: the message
    # goes back to the broker (delay level 3, here 1 s) and comes again
    # through the retry topic, and the group's offset moves past it while
    # the first call still runs. That call's late success breaks nothing.
    cluster.start_namesrv()
    cluster.start_broker(messageDelayLevel="1s 1s 1s 1s 1s")
    admin = cometmq.Admin(namesrv=cluster.namesrv_addr)
    admin.create_topic("Slow", read_queues=1, write_queues=1)
    entered, release, returned = (threading.Event(), threading.Event(),
                                  threading.Event())
    lock = threading.Lock()
    got = []

    def listener(msg):
        if msg.body == b"slow" and msg.reconsume_times == 0:
            entered.set()
            release.wait(60)
            returned.set()
            return True
        with lock:
            got.append((msg.topic, msg.body, msg.reconsume_times))
        return True

    c = push_consumer(cluster, "cg-slow", "Slow", listener,
                      consume_threads=2, consume_timeout_ms=1000)

    def offsets():
        return [q["consumer_offset"]
                for q in admin.consumer_progress("cg-slow", "Slow")]
    try:
        with cometmq.Producer(group="pg", namesrv=cluster.namesrv_addr) as p:
            p.send("Slow", b"slow")
            # Sent once "slow" is in its call: pulled and consumed apart
            # from it, on the other consume thread.
            wait_until(entered.is_set, timeout_s=20, what="the slow call")
            for i in range(5):
                p.send("Slow", b"fast-%d" % i)
        wait_until(lambda: ("Slow", b"slow", 1) in got, timeout_s=30,
                   what="the slow message again, from the retry topic")
        assert not returned.is_set()  # while its first call still runs
        wait_until(lambda: offsets() == [6], timeout_s=20,
                   what="the group's offset past the slow message")
        release.set()
        wait_until(returned.is_set, timeout_s=20, what="the late success")
    finally:
        release.set()
        c.shutdown()
    try:
        assert offsets() == [6]
        assert sorted(got) == [("Slow", b"fast-%d" % i, 0) for i in range(5)] \
            + [("Slow", b"slow", 1)]
    finally:
        admin.shutdown()


def test_consume_options_are_checked():
    for bad in ({"consume_concurrently_max_span": 0},
                {"consume_timeout_ms": 0}, {"consume_timeout_ms": -5}):
        with pytest.raises(ValueError, match=list(bad)[0]):
            cometmq.PushConsumer(group="g", namesrv="127.0.0.1:9876", **bad)
