"""The broker's consume side through real processes: pull batch limits,
consumer offsets across restarts, and what a consumer sees at the edges."""

import os
import shutil

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


def test_consumer_past_the_end_of_an_emptied_store_gets_new_messages(cluster):
    # The messages are gone but the group's committed offsets are not (the
    # store was emptied, the config directory kept): a consumer whose offset
    # now lies past the end of a queue that starts at 0 starts over at 0, as
    # in RocketMQ, instead of skipping whatever the queue holds by then.
    cluster.start_namesrv()
    broker = cluster.start_broker()
    admin = cometmq.Admin(namesrv=cluster.namesrv_addr)
    admin.create_topic("Emptied", read_queues=1, write_queues=1)
    with cometmq.Producer(group="pg", namesrv=cluster.namesrv_addr) as p:
        for i in range(10):
            assert p.send("Emptied", b"old-%d" % i).status == "SEND_OK"
    got = Collector()
    c = push_consumer(cluster, "cg-emptied", "Emptied", got)
    try:
        wait_until(lambda: got.count() >= 10, timeout_s=20, what="10 messages")
    finally:
        c.shutdown()
    wait_until(lambda: [q["consumer_offset"] for q in admin.consumer_progress(
        "cg-emptied", "Emptied")] == [10], timeout_s=20,
        what="the group's offset 10 on the broker")
    admin.shutdown()

    assert broker.stop() == 0
    for entry in os.listdir(broker.store):
        if entry != "config":
            path = os.path.join(broker.store, entry)
            if os.path.isdir(path):
                shutil.rmtree(path)
            else:
                os.remove(path)
    broker.start()

    with cometmq.Producer(group="pg", namesrv=cluster.namesrv_addr) as p:
        for i in range(3):
            assert p.send("Emptied", b"new-%d" % i).status == "SEND_OK"
    fresh = Collector()
    c = push_consumer(cluster, "cg-emptied", "Emptied", fresh)
    try:
        wait_until(lambda: fresh.count() >= 3, timeout_s=20,
                   what="the 3 messages sent after the store was emptied")
    finally:
        c.shutdown()
    assert sorted(fresh.bodies()) == [b"new-0", b"new-1", b"new-2"]
