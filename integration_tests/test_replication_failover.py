"""Replication beyond the stream of records: what a slave copies from its
master besides the commit log (consumer groups, delay progress, deleted
topics), a slave that stalls under SYNC_MASTER, and a topic deleted and
created again on the master, also over a slave queue trimmed by retention.
Kept apart from test_replication.py so each file stays short."""

import os
import signal
import time

import cometmq
import pytest

from helpers import wait_until
from test_mqadmin import mqadmin
from test_replication import (FAST_BROKER, FAST_NAMESRV, create_topic, lost,
                              promote_slave, read_everything, send_acked,
                              start_group, status, wait_caught_up)


def failed_syncs(node):
    """How many times the node logged a failed slave sync round."""
    count = 0
    for name in os.listdir(node.log_dir):
        with open(os.path.join(node.log_dir, name), errors="replace") as f:
            count += f.read().count("slave sync: ")
    return count


def wait_synced(admin, slave):
    """Until the slave finished a metadata sync that began after now."""
    rounds = int(status(admin, slave)["slaveSyncRounds"])
    wait_until(lambda: int(status(admin, slave)["slaveSyncRounds"]) >=
               rounds + 2, 30, "a slave sync")


def test_consumer_group_created_on_the_master_reads_from_the_slave(cluster):
    """Without auto-created groups, a group made on the master with
    updateSubGroup must be known to the slave once the master is down."""
    cluster.start_namesrv(**FAST_NAMESRV)
    master, slave = start_group(cluster, role="ASYNC_MASTER",
                                autoCreateSubscriptionGroup="false")
    admin = cometmq.Admin(cluster.namesrv_addr)
    admin.start()
    try:
        create_topic(admin, "GroupTopic")
        mqadmin("updateSubGroup", "-n", cluster.namesrv_addr, "-c",
                "DefaultCluster", "-g", "made-cg", check=0)
        with cometmq.Producer(group="sg-pg",
                              namesrv=cluster.namesrv_addr) as p:
            for i in range(100):
                assert p.send("GroupTopic",
                              f"m-{i}".encode()).status == "SEND_OK"
        wait_caught_up(admin, master, slave)
        wait_synced(admin, slave)
        master.kill(signal.SIGKILL)
    finally:
        admin.shutdown()
    seen = set()
    with cometmq.PullConsumer(group="made-cg", namesrv=cluster.namesrv_addr,
                              consume_from="FIRST_OFFSET") as c:
        c.subscribe("GroupTopic")
        c.start()
        deadline = time.monotonic() + 30
        while len(seen) < 100 and time.monotonic() < deadline:
            seen.update(m.body for m in c.poll(500))
    assert seen == {f"m-{i}".encode() for i in range(100)}


def test_a_promoted_slave_does_not_deliver_delayed_messages_again(cluster):
    """Delay progress reaches the slave, so a slave restarted as the master
    does not re-put delayed messages its master already delivered."""
    cluster.start_namesrv(**FAST_NAMESRV)
    master, slave = start_group(cluster, role="SYNC_MASTER")
    admin = cometmq.Admin(cluster.namesrv_addr)
    admin.start()
    try:
        create_topic(admin, "DelayTopic")
        wait_caught_up(admin, master, slave)  # the slave is connected
        with cometmq.Producer(group="dl-pg",
                              namesrv=cluster.namesrv_addr) as p:
            for i in range(20):
                assert p.send("DelayTopic", f"d-{i}".encode(),
                              delay_level=1).status == "SEND_OK"
            wait_until(lambda: status(admin, master)["delayedDelivered"] ==
                       "20", 30, "the master to deliver the delayed messages")
        wait_caught_up(admin, master, slave)
        wait_synced(admin, slave)
        promoted = promote_slave(cluster, admin, master, slave)
        with cometmq.Producer(group="dl-pg2",
                              namesrv=cluster.namesrv_addr) as p:
            assert p.send("DelayTopic", b"new", delay_level=1).status == \
                "SEND_OK"
        # A level's queue is delivered in order: the new message comes
        # after any old one delivered again.
        wait_until(lambda: status(admin, promoted)["delayedDelivered"] != "0",
                   30, "the promoted master to deliver the new message")
        assert status(admin, promoted)["delayedDelivered"] == "1"
    finally:
        admin.shutdown()


def test_sync_master_answers_flush_slave_timeout_while_its_slave_is_paused(
        cluster):
    """A stalled slave gives SYNC_MASTER producers a status within their
    default send timeout, not a timeout of their own; once it resumes it
    takes everything and sends are SEND_OK again."""
    cluster.start_namesrv(**FAST_NAMESRV)
    master, slave = start_group(cluster, role="SYNC_MASTER")
    admin = cometmq.Admin(cluster.namesrv_addr)
    admin.start()
    acked = []
    try:
        create_topic(admin, "StallTopic")
        wait_caught_up(admin, master, slave)
        with cometmq.Producer(group="st-pg", namesrv=cluster.namesrv_addr,
                              retry_times=0) as p:
            send_acked(p, "StallTopic", "before", 10, acked)
            slave.pause()
            try:
                for i in range(3):
                    r = p.send("StallTopic", f"stalled-{i}".encode())
                    assert r.status == "FLUSH_SLAVE_TIMEOUT"
                    acked.append((r, f"stalled-{i}".encode()))
            finally:
                slave.resume()
            wait_caught_up(admin, master, slave)
            send_acked(p, "StallTopic", "after", 10, acked)
    finally:
        admin.shutdown()
    master.kill(signal.SIGKILL)
    seen = read_everything(cluster, "StallTopic", acked)
    assert lost(acked, seen) == []


def test_a_topic_created_again_on_the_master_is_served_anew_by_the_slave(
        cluster):
    """The slave learns of a deleted and re-created topic only from the new
    records, whose queue offsets start again at 0: once the master is down
    it must serve those, not the deleted topic's messages."""
    cluster.start_namesrv(**FAST_NAMESRV)
    master, slave = start_group(cluster, role="SYNC_MASTER")
    admin = cometmq.Admin(cluster.namesrv_addr)
    admin.start()
    acked = []
    try:
        create_topic(admin, "AgainTopic", queues=1)
        wait_caught_up(admin, master, slave)
        with cometmq.Producer(group="ag-pg",
                              namesrv=cluster.namesrv_addr) as p:
            send_acked(p, "AgainTopic", "old", 10, [])
            wait_caught_up(admin, master, slave)
            mqadmin("deleteTopic", "-n", cluster.namesrv_addr, "-c",
                    "DefaultCluster", "-t", "AgainTopic", check=0)
            create_topic(admin, "AgainTopic", queues=1)
            send_acked(p, "AgainTopic", "new", 10, acked)
        wait_caught_up(admin, master, slave)
    finally:
        admin.shutdown()
    master.kill(signal.SIGKILL)
    seen = read_everything(cluster, "AgainTopic", acked)
    assert lost(acked, seen) == []


def test_a_topic_deleted_on_the_master_is_deleted_on_the_slave(cluster):
    """The slave mirrors its master's topic table: a topic deleted on the
    master goes on the slave too, consume queues included, so the slave
    restarted as the master neither routes the topic nor keeps its queues.
    A master that stops answering deletes nothing."""
    cluster.start_namesrv(**FAST_NAMESRV)
    master, slave = start_group(cluster, role="SYNC_MASTER")
    admin = cometmq.Admin(cluster.namesrv_addr)
    admin.start()
    queues = os.path.join(slave.store, "consumequeue")
    kept = []
    try:
        create_topic(admin, "GoneTopic", queues=1)
        create_topic(admin, "KeptTopic", queues=1)
        wait_caught_up(admin, master, slave)
        with cometmq.Producer(group="gt-pg",
                              namesrv=cluster.namesrv_addr) as p:
            send_acked(p, "GoneTopic", "gone", 10, [])
            send_acked(p, "KeptTopic", "kept", 10, kept)
        wait_caught_up(admin, master, slave)
        wait_until(lambda: os.path.isdir(os.path.join(queues, "GoneTopic")),
                   30, "the slave's queue of GoneTopic")
        mqadmin("deleteTopic", "-n", cluster.namesrv_addr, "-c",
                "DefaultCluster", "-t", "GoneTopic", check=0)
        wait_until(lambda: not os.path.exists(os.path.join(queues,
                                                           "GoneTopic")),
                   30, "the slave to delete GoneTopic's queues")
        failed = failed_syncs(slave)
        master.kill(signal.SIGKILL)
        wait_until(lambda: failed_syncs(slave) > failed, 30,
                   "a slave sync that fails")
        assert os.path.isdir(os.path.join(queues, "KeptTopic"))
        promoted = promote_slave(cluster, admin, master, slave)
        assert promoted.running
        with pytest.raises(cometmq.TopicNotExistError):
            admin.topic_route("GoneTopic")
    finally:
        admin.shutdown()
    seen = read_everything(cluster, "KeptTopic", kept)
    assert lost(kept, seen) == []


def test_a_topic_created_again_over_a_trimmed_slave_queue(cluster):
    """Retention on the slave removed the first files of the deleted
    topic's queue, where the re-created topic's first offsets fall: the
    slave must still serve the new messages, and none of the old ones."""
    cluster.start_namesrv(**FAST_NAMESRV)
    small = {"mappedFileSizeCommitLog": 64 * 1024,
             "mappedFileSizeConsumeQueue": 20 * 50}
    hour = time.localtime().tm_hour
    master, _ = start_group(cluster, role="SYNC_MASTER", slave=False,
                            **small)
    # A slave that deletes every commit log segment but the newest.
    slave = cluster.start_broker(
        name="broker-a", broker_id=1, brokerRole="SLAVE", fileReservedTime=0,
        deleteWhen=f"{hour:02d};{(hour + 1) % 24:02d}",
        cleanResourceInterval=200, **dict(FAST_BROKER, **small))
    admin = cometmq.Admin(cluster.namesrv_addr)
    admin.start()
    first_file = os.path.join(slave.store, "consumequeue", "TrimTopic", "0",
                              "0" * 20)
    acked = []
    try:
        create_topic(admin, "TrimTopic", queues=1)
        wait_caught_up(admin, master, slave)
        with cometmq.Producer(group="tt-pg",
                              namesrv=cluster.namesrv_addr) as p:
            send_acked(p, "TrimTopic", "old", 200, [], padding=b"." * 1000)
            wait_caught_up(admin, master, slave)
            wait_until(lambda: not os.path.exists(first_file), 30,
                       "retention to trim the slave's queue")
            # The slave is down while the topic is deleted and created
            # again, so it learns of it only from the new records.
            assert slave.stop() == 0
            mqadmin("deleteTopic", "-n", cluster.namesrv_addr, "-c",
                    "DefaultCluster", "-t", "TrimTopic", check=0)
            create_topic(admin, "TrimTopic", queues=1)
            slave = cluster.start_broker(
                name="broker-a", broker_id=1, brokerRole="SLAVE",
                storePathRootDir=slave.store, **dict(FAST_BROKER, **small))
            wait_caught_up(admin, master, slave)
            send_acked(p, "TrimTopic", "new", 10, acked)
        wait_caught_up(admin, master, slave)
    finally:
        admin.shutdown()
    master.kill(signal.SIGKILL)
    seen = read_everything(cluster, "TrimTopic", acked, timeout_s=20)
    assert lost(acked, seen) == []
    assert sorted(seen.values()) == sorted(body for _, body in acked)
