"""An orderly queue given up while its listener is still busy stays locked
by its owner until that message is done, however long it takes: the next
owner must not start on the queue (and on that very message) meanwhile."""

import threading
import time

import cometmq

from helpers import push_consumer, wait_until

SLOW_S = 8


def test_queue_held_past_the_broker_lock_expiry_is_not_shared(cluster):
    cluster.start_namesrv()
    # Broker locks expire after 3 s unless renewed; consumers renew every 1 s.
    cluster.start_broker(rebalanceLockMaxLiveTime=3000)
    with cometmq.Admin(cluster.namesrv_addr) as admin:
        admin.create_topic("SlowOrdered", read_queues=1, write_queues=1)
    with cometmq.Producer("pg-slow", cluster.namesrv_addr) as p:
        for body in [b"slow"] + [f"m{i}".encode() for i in range(1, 6)]:
            p.send("SlowOrdered", body)

    lock = threading.Lock()
    events = []  # (consumer, body, start, end)
    running = [0]
    max_running = [0]
    slow_started = threading.Event()

    def listener(name):
        def consume(msg):
            start = time.monotonic()
            with lock:
                running[0] += 1
                max_running[0] = max(max_running[0], running[0])
            try:
                if name == "a" and msg.body == b"slow":
                    slow_started.set()
                    time.sleep(SLOW_S)  # a long piece of work
            finally:
                with lock:
                    running[0] -= 1
                    events.append((name, msg.body, start, time.monotonic()))
            return True
        return consume

    # Client ids sort by instance name: "aa-b" is allocated the only queue
    # once it joins, so "zz-a" must hand it over mid-message.
    a = push_consumer(cluster, "cg-slow", "SlowOrdered", listener("a"),
                      orderly=True, lock_interval_ms=1000, instance_name="zz-a")
    b = None
    try:
        assert slow_started.wait(30)
        b = push_consumer(cluster, "cg-slow", "SlowOrdered", listener("b"),
                          orderly=True, lock_interval_ms=1000,
                          instance_name="aa-b")
        wait_until(lambda: {e[1] for e in events if e[0] == "b"} >=
                   {f"m{i}".encode() for i in range(1, 6)}, 45,
                   "the new owner to consume the rest")
    finally:
        if b is not None:
            b.shutdown()
        a.shutdown()
    a_slow_end = next(e[3] for e in events if e[0] == "a" and e[1] == b"slow")
    b_events = [e for e in events if e[0] == "b"]
    assert max_running[0] == 1, events
    assert min(e[2] for e in b_events) >= a_slow_end, events
    # The handover committed the slow message: the new owner goes on after
    # it.
    assert [e[1] for e in b_events] == [f"m{i}".encode() for i in range(1, 6)]
