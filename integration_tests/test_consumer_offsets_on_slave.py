"""A consumer that starts while its master is down reads its group's offset
from the slave. A slave that has not copied the group's offsets yet (they
are synced every slaveSyncIntervalMillis) answers "not found"; that must
not make a group that did commit start where a new group would
(LAST_OFFSET: the end of the queue), skipping everything in between."""

import signal

import cometmq

from helpers import Collector, wait_until
from test_replication import FAST_NAMESRV, create_topic, start_group
from test_replication import wait_caught_up


def test_restart_while_master_down_and_slave_offsets_stale_skips_nothing(
        cluster):
    cluster.start_namesrv(**FAST_NAMESRV)
    # The slave copies offsets only at its start: never the group's.
    master, slave = start_group(cluster, role="SYNC_MASTER",
                                slaveSyncIntervalMillis=600000)
    with cometmq.Admin(cluster.namesrv_addr) as admin:
        create_topic(admin, "StaleTopic", queues=2)
        with cometmq.Producer("stale-pg", cluster.namesrv_addr) as p:
            for i in range(40):
                p.send("StaleTopic", f"a-{i}".encode())
            first = Collector()
            c = cometmq.PushConsumer("stale-cg", cluster.namesrv_addr,
                                     consume_from="FIRST_OFFSET")
            c.subscribe("StaleTopic")
            c.register_listener(first)
            c.start()
            wait_until(lambda: len(set(first.bodies())) >= 40, 30,
                       "the first 40 messages")
            c.shutdown()  # commits 40 to the master
            wait_until(lambda: sum(q["consumer_offset"] for q in
                                   admin.consumer_progress("stale-cg")) == 40,
                       30, "the master to hold the committed offsets")
            for i in range(20):
                p.send("StaleTopic", f"b-{i}".encode())
        wait_caught_up(admin, master, slave)
        master.kill(signal.SIGKILL)

    second = Collector()
    c = cometmq.PushConsumer("stale-cg", cluster.namesrv_addr,
                             consume_from="LAST_OFFSET")
    c.subscribe("StaleTopic")
    c.register_listener(second)
    c.start()
    try:
        wait_until(lambda: {f"b-{i}".encode() for i in range(20)} <=
                   set(second.bodies()), 45,
                   "the 20 messages sent after the commit, from the slave")
    finally:
        c.shutdown()
