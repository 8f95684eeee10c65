"""The broker's consume side through real processes: pull batch limits,
consumer offsets across restarts, and what a consumer sees at the edges."""

import os
import shutil
import time

import cometmq
import pytest

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


def test_tag_filter_with_a_hash_collision_delivers_only_the_named_tags(cluster):
    # "Aa" and "BB" share a tag hash: the broker's filter lets both through
    # and the client drops "BB" by its exact tag. The offset still moves past
    # every filtered message, so the group's progress reaches the queue end.
    cluster.start_namesrv()
    cluster.start_broker()
    admin = cometmq.Admin(namesrv=cluster.namesrv_addr)
    admin.create_topic("Tagged", read_queues=1, write_queues=1)
    got = Collector()
    c = push_consumer(cluster, "cg-tags", "Tagged", got,
                      expression="Aa || TagC")
    try:
        with cometmq.Producer(group="pg", namesrv=cluster.namesrv_addr) as p:
            for tag in ["Aa", "BB", "TagC", "TagD", "Aa", "BB"]:
                assert p.send("Tagged", tag.encode(), tags=tag).status == \
                    "SEND_OK"
        wait_until(lambda: got.count() >= 3, timeout_s=20,
                   what="the three matching messages")
        wait_until(lambda: [q["consumer_offset"] for q in
                            admin.consumer_progress("cg-tags", "Tagged")]
                   == [6], timeout_s=20, what="the group's offset at 6")
    finally:
        c.shutdown()
        admin.shutdown()
    assert sorted(got.bodies()) == [b"Aa", b"Aa", b"TagC"]
    assert all(m.tags in ("Aa", "TagC") for m in got.messages)


def test_held_pulls_on_200_queues_are_woken_by_arrivals_and_at_sigterm(
        cluster):
    cluster.start_namesrv()
    broker = cluster.start_broker()
    admin = cometmq.Admin(namesrv=cluster.namesrv_addr)
    admin.create_topic("Wide", read_queues=200, write_queues=200)
    got = Collector()
    c = push_consumer(cluster, "cg-wide", "Wide", got)
    try:
        def held():
            return int(admin.broker_status(broker.addr).get(
                "heldPullRequests", "0"))
        # 200 queues of the topic, and the group's retry topic.
        wait_until(lambda: held() >= 200, timeout_s=30,
                   what="a held pull on every queue")
        with cometmq.Producer(group="pg", namesrv=cluster.namesrv_addr) as p:
            futures = [p.send_async("Wide", b"%d" % i) for i in range(400)]
            results = [f.result(timeout=30) for f in futures]
        assert {r.queue_id for r in results} == set(range(200))
        # Well within the 15 s suspension: arrivals answered the held pulls.
        wait_until(lambda: got.count() >= 400, timeout_s=10,
                   what="400 messages on 200 queues")
        wait_until(lambda: held() >= 200, timeout_s=30,
                   what="the pulls held again")
        # SIGTERM answers every held pull and the broker exits cleanly.
        assert broker.stop(timeout=20) == 0
    finally:
        c.shutdown()
        admin.shutdown()
    assert len(set(got.bodies())) == 400


def test_offsets_survive_sigterm_and_a_cut_offsets_file_stops_the_start(
        cluster):
    cluster.start_namesrv()
    broker = cluster.start_broker()
    admin = cometmq.Admin(namesrv=cluster.namesrv_addr)
    admin.create_topic("Kept", read_queues=2, write_queues=2)
    with cometmq.Producer(group="pg", namesrv=cluster.namesrv_addr) as p:
        for i in range(20):
            assert p.send("Kept", b"%d" % i).status == "SEND_OK"
    got = Collector()
    c = push_consumer(cluster, "cg-kept", "Kept", got)
    try:
        wait_until(lambda: got.count() >= 20, timeout_s=20, what="20 messages")
    finally:
        c.shutdown()

    def offsets():
        return sorted(q["consumer_offset"] for q in
                      admin.consumer_progress("cg-kept", "Kept"))
    wait_until(lambda: offsets() == [10, 10], timeout_s=20,
               what="offsets 10 and 10 on the broker")
    admin.shutdown()
    assert broker.stop() == 0  # SIGTERM persists the offsets

    path = os.path.join(broker.store, "config", "consumerOffset.json")
    with open(path, "rb") as f:
        whole = f.read()
    assert b"cg-kept@Kept=0:10,1:10\n" in whole
    # Cut short (as by a full disk while the file was copied back): the
    # broker says so and does not start, rather than forget the offsets.
    with open(path, "wb") as f:
        f.write(whole[:len(whole) - 4])
    with pytest.raises(RuntimeError, match="exited"):
        broker.start()
    with open(broker.log_path, errors="replace") as f:
        assert "consumerOffset.json is truncated" in f.read()

    with open(path, "wb") as f:
        f.write(whole)
    broker.start()
    admin = cometmq.Admin(namesrv=cluster.namesrv_addr)
    try:
        wait_until(lambda: offsets() == [10, 10], timeout_s=20,
                   what="the offsets after the restart")
    finally:
        admin.shutdown()


def _set_conf(broker, key, value):
    with open(broker.conf_path) as f:
        lines = [l for l in f if not l.startswith(f"{key} ")]
    lines.append(f"{key} = {value}\n")
    with open(broker.conf_path, "w") as f:
        f.writelines(lines)


def test_full_disk_refuses_sends_and_stored_messages_stay_readable(cluster):
    cluster.start_namesrv()
    broker = cluster.start_broker()
    admin = cometmq.Admin(namesrv=cluster.namesrv_addr)
    admin.create_topic("Full", read_queues=1, write_queues=1)
    admin.shutdown()
    with cometmq.Producer(group="pg", namesrv=cluster.namesrv_addr) as p:
        for i in range(5):
            assert p.send("Full", b"kept-%d" % i).status == "SEND_OK"
    assert broker.stop() == 0

    # "Full" by the broker's measure: the warning level just below what the
    # disk holding the store uses now.
    st = os.statvfs(broker.store)
    used = 1 - st.f_bavail / st.f_blocks
    if used < 0.1:
        pytest.skip(f"the disk is only {used:.0%} used")
    _set_conf(broker, "diskSpaceWarningLevelRatio", round(used - 0.05, 3))
    broker.start()
    with cometmq.Producer(group="pg", namesrv=cluster.namesrv_addr) as p:
        with pytest.raises(cometmq.ServiceNotAvailableError,
                           match="disk is full"):
            p.send("Full", b"refused")
    got = Collector()
    c = push_consumer(cluster, "cg-full", "Full", got)
    try:
        wait_until(lambda: got.count() >= 5, timeout_s=20,
                   what="the 5 stored messages")
    finally:
        c.shutdown()
    assert sorted(got.bodies()) == [b"kept-%d" % i for i in range(5)]
    assert broker.stop() == 0

    _set_conf(broker, "diskSpaceWarningLevelRatio", 0.995)
    broker.start()
    with cometmq.Producer(group="pg", namesrv=cluster.namesrv_addr) as p:
        assert p.send("Full", b"accepted").status == "SEND_OK"


def test_retention_at_the_delete_hour_and_consumers_continue_from_the_first_kept(
        cluster):
    # deleteWhen is this hour (and the next, should it turn meanwhile) and
    # fileReservedTime 0: every commit log segment but the newest expires.
    hour = time.localtime().tm_hour
    cluster.start_namesrv()
    broker = cluster.start_broker(
        deleteWhen=f"{hour:02d};{(hour + 1) % 24:02d}", fileReservedTime=0,
        cleanResourceInterval=200)
    admin = cometmq.Admin(namesrv=cluster.namesrv_addr)
    admin.create_topic("Aged", read_queues=1, write_queues=1)
    body = os.urandom(100 * 1024)  # random: the producer cannot compress it
    stored_at = []  # commit log offset of each message, by queue offset
    with cometmq.Producer(group="pg", namesrv=cluster.namesrv_addr) as p:
        # About 20 MiB: three 8 MiB segments.
        for i in range(200):
            r = p.send("Aged", b"%05d" % i + body)
            assert r.status == "SEND_OK" and r.queue_offset == i
            stored_at.append(int(r.offset_msg_id[16:], 16))

    def queue():
        return admin.topic_stats("Aged")[0]

    # Retention deletes what has expired each round; a segment is deleted
    # only once a newer one exists, so the first segment may go while the
    # sends still fill the second, and the second a round later. Wait for
    # the end state, where the queue starts at the newest segment's first
    # message: a minimum seen in between would move again under the
    # consumer below.
    log_dir = os.path.join(broker.store, "commitlog")

    def first_in_newest_segment():
        segments = os.listdir(log_dir)
        if len(segments) != 1:
            return None
        start = int(segments[0])
        return next(i for i, at in enumerate(stored_at) if at >= start)
    wait_until(lambda: first_in_newest_segment() is not None and
               queue()["min_offset"] == first_in_newest_segment(),
               what="retention to delete every segment but the newest")
    first_kept = queue()["min_offset"]
    assert first_kept > 0
    assert queue()["max_offset"] == 200
    with open(broker.log_path, errors="replace") as f:
        assert "retention deleted" in f.read()

    # A new group starts from the first kept message.
    got = Collector()
    c = push_consumer(cluster, "cg-aged", "Aged", got)
    try:
        wait_until(lambda: got.count() >= 200 - first_kept,
                   what="every kept message")
    finally:
        c.shutdown()
    offsets = sorted(m.queue_offset for m in got.messages)
    assert offsets[0] >= first_kept and offsets[-1] == 199
    assert set(range(queue()["min_offset"], 200)) <= set(offsets)

    # A consumer at an offset in the deleted data is moved to the first
    # kept message.
    pull = cometmq.PullConsumer(group="cg-seek", namesrv=cluster.namesrv_addr)
    pull.subscribe("Aged")
    pull.start()
    try:
        polled = []
        wait_until(lambda: polled.extend(pull.poll(200)) or polled,
                   timeout_s=20, what="a polled message")
        pull.seek("Aged", "broker-a", 0, 0)
        again = []
        wait_until(lambda: again.extend(pull.poll(200)) or again,
                   timeout_s=20, what="a message after the seek to 0")
        assert again[0].queue_offset == queue()["min_offset"]
    finally:
        pull.shutdown()
        admin.shutdown()
