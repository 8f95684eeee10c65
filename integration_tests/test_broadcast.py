"""Broadcasting consumption through real mqnamesrv/mqbroker processes: every
consumer of the group gets every message, and each keeps its offsets in its
own local file, from which a restarted consumer resumes."""

import glob
import os

import cometmq

from helpers import Collector, wait_until


def broadcaster(cluster, name, collector, offset_dir):
    c = cometmq.PushConsumer(group="gb", namesrv=cluster.namesrv_addr,
                             model="BROADCASTING",
                             consume_from="FIRST_OFFSET",
                             instance_name=name, offset_dir=offset_dir)
    c.subscribe("Bcast", "*")
    c.register_listener(collector)
    c.start()
    return c


def test_every_consumer_gets_every_message_and_resumes_from_its_file(
        cluster, tmp_path):
    cluster.start_namesrv()
    cluster.start_broker()
    offset_dir = str(tmp_path / "offsets")
    with cometmq.Admin(namesrv=cluster.namesrv_addr) as admin:
        admin.create_topic("Bcast", read_queues=4, write_queues=4)
    collectors = {n: Collector(n) for n in ("b0", "b1", "b2")}
    consumers = {n: broadcaster(cluster, n, col, offset_dir)
                 for n, col in collectors.items()}
    restarted = Collector("b2-again")
    try:
        # Every member owns every queue: nobody divides the topic.
        wait_until(lambda: all(
            len([q for q in c.owned_queues() if q.startswith("Bcast@")]) == 4
            for c in consumers.values()), timeout_s=30,
            what="every consumer to own the 4 queues")
        with cometmq.Producer(group="pg", namesrv=cluster.namesrv_addr) as p:
            first = [f"m{i}".encode() for i in range(200)]
            for body in first:
                p.send("Bcast", body)
            wait_until(lambda: all(set(c.bodies()) >= set(first)
                                   for c in collectors.values()),
                       timeout_s=30, what="200 messages at each consumer")
            consumers.pop("b2").shutdown()  # commits its offsets to its file
            files = glob.glob(os.path.join(offset_dir, "*@b2", "gb",
                                           "offsets"))
            assert len(files) == 1, os.listdir(offset_dir)
            second = [f"n{i}".encode() for i in range(100)]
            for body in second:
                p.send("Bcast", body)
            consumers["b2-again"] = broadcaster(cluster, "b2", restarted,
                                                offset_dir)
            wait_until(lambda: all(set(c.bodies()) >= set(first + second)
                                   for n, c in collectors.items()
                                   if n != "b2")
                       and set(restarted.bodies()) >= set(second),
                       timeout_s=30, what="the next 100 at every consumer")
    finally:
        for c in consumers.values():
            c.shutdown()
    # Each client has its own file (the others wrote theirs at shutdown).
    assert len(glob.glob(os.path.join(offset_dir, "*", "gb", "offsets"))) == 3
    for name in ("b0", "b1"):
        assert sorted(collectors[name].bodies()) == sorted(first + second)
    assert sorted(collectors["b2"].bodies()) == sorted(first)
    # The restarted consumer continued from its file: FIRST_OFFSET would
    # have replayed the first 200.
    assert sorted(restarted.bodies()) == sorted(second)
