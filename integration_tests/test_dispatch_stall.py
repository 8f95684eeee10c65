"""A consume queue the broker cannot write holds messages back, never drops them.

A file stands where a topic's consume queue directory must be created, so
the broker cannot index that topic's messages, as when a full disk refuses
a new consume queue segment. Sends are still acknowledged (the messages are
in the commit log); dispatching stops at the first such message, the broker
says so in brokerStatus and its log, shuts down cleanly on SIGTERM, and
once the directory can be created every message reaches its consumers.
"""

import os

import cometmq

from helpers import Collector, push_consumer, wait_until


def dispatch_stalled(admin, broker):
    return admin.broker_status(broker.addr)["dispatchStalled"] == "true"


def consume(cluster, group, topic, count):
    got = Collector(group)
    c = push_consumer(cluster, group, topic, got)
    try:
        wait_until(lambda: got.count() >= count, what=f"{count} from {topic}")
    finally:
        c.shutdown()
    return sorted(got.bodies())


def test_unwritable_consume_queue_holds_messages_until_it_can_be_written(
        cluster):
    cluster.start_namesrv()
    broker = cluster.start_broker()
    admin = cometmq.Admin(namesrv=cluster.namesrv_addr)
    for topic in ("Stuck", "Flowing"):
        admin.create_topic(topic, cluster="DefaultCluster", read_queues=1,
                           write_queues=1)
    blocker = os.path.join(broker.store, "consumequeue", "Stuck")
    with open(blocker, "w") as f:
        f.write("not a directory")

    with cometmq.Producer(group="pg", namesrv=cluster.namesrv_addr) as p:
        assert p.send("Flowing", b"before").status == "SEND_OK"
        assert p.send("Stuck", b"stuck-0").status == "SEND_OK"
        assert p.send("Flowing", b"after").status == "SEND_OK"
        wait_until(lambda: dispatch_stalled(admin, broker),
                   what="brokerStatus to report the stall")

        # SIGTERM while stuck: a clean stop, and a restart that is stuck
        # at the same message rather than past it.
        assert broker.stop() == 0
        broker.start()
        wait_until(lambda: dispatch_stalled(admin, broker),
                   what="the stall after the restart")
        assert p.send("Stuck", b"stuck-1").status == "SEND_OK"

        os.remove(blocker)
        wait_until(lambda: not dispatch_stalled(admin, broker),
                   what="dispatching to resume")
    assert consume(cluster, "cg-stuck", "Stuck", 2) == [b"stuck-0", b"stuck-1"]
    assert consume(cluster, "cg-flowing", "Flowing", 2) == [b"after", b"before"]
    with open(os.path.join(broker.log_dir, "broker.log")) as f:
        log = f.read()
    assert "dispatch stopped at commit log offset" in log
    assert "dispatch resumed after" in log
