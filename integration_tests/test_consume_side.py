"""The broker's consume side through real processes: pull batch limits,
consumer offsets across restarts, and what a consumer sees at the edges."""

import os

import cometmq

from helpers import Collector, push_consumer, wait_until


def test_large_messages_are_pulled_in_batches_below_the_byte_limit(cluster):
    # A pull answer holds at most 256 KiB: with 100 KiB messages the third
    # would pass it, so each answer ends after two although the limit is
    # not reached. Every message must still arrive.
    cluster.start_namesrv()
    cluster.start_broker()
    admin = cometmq.Admin(namesrv=cluster.namesrv_addr)
    admin.create_topic("Large", read_queues=1, write_queues=1)
    body = os.urandom(100 * 1024)  # random: the producer cannot compress it
    with cometmq.Producer(group="pg", namesrv=cluster.namesrv_addr) as p:
        for i in range(5):
            assert p.send("Large", b"%d" % i + body).status == "SEND_OK"
    got = Collector()
    c = push_consumer(cluster, "cg-large", "Large", got)
    try:
        wait_until(lambda: got.count() >= 5, timeout_s=20,
                   what="five 100 KiB messages")
    finally:
        c.shutdown()
    assert sorted(b[:1] for b in got.bodies()) == [b"0", b"1", b"2", b"3",
                                                    b"4"]
