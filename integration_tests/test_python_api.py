"""The cometmq Python API beyond plain produce/consume: failing listeners,
pull consumers, admin, shutdown behaviour."""

import subprocess
import sys
import textwrap
import threading
import time

import cometmq
import pytest

from helpers import Collector, wait_until


# Failed messages come back through the broker's retry topic at delay level
# 3 + reconsume times; short levels keep these tests quick.
FAST_RETRY_LEVELS = " ".join(["1s"] * 18)


def test_listener_that_raises_is_retried(cluster):
    cluster.start_namesrv()
    cluster.start_broker(messageDelayLevel=FAST_RETRY_LEVELS)
    calls = []
    lock = threading.Lock()

    def flaky(msg):
        with lock:
            calls.append(msg.body)
            if len(calls) < 3:
                raise RuntimeError("not yet")
        return True

    with cometmq.Producer(group="pg", namesrv=cluster.namesrv_addr) as p:
        p.send("Flaky", b"again")
    c = cometmq.PushConsumer(group="gr", namesrv=cluster.namesrv_addr,
                             consume_from="FIRST_OFFSET")
    c.subscribe("Flaky", "*")
    c.register_listener(flaky)
    c.start()
    try:
        wait_until(lambda: len(calls) >= 3, what="two retries and a success")
    finally:
        c.shutdown()
    assert calls[:3] == [b"again"] * 3


def test_returning_false_means_consume_later(cluster):
    cluster.start_namesrv()
    cluster.start_broker(messageDelayLevel=FAST_RETRY_LEVELS)
    seen = []

    def later_once(msg):
        seen.append(msg.body)
        return len(seen) > 1

    with cometmq.Producer(group="pg", namesrv=cluster.namesrv_addr) as p:
        p.send("Later", b"x")
    with cometmq.PushConsumer(group="gl", namesrv=cluster.namesrv_addr,
                              consume_from="FIRST_OFFSET") as c:
        c.subscribe("Later", "*")
        c.register_listener(later_once)
        c.start()
        wait_until(lambda: len(seen) >= 2, what="redelivery")


def test_tag_filtering(cluster):
    cluster.start_namesrv()
    cluster.start_broker()
    got = Collector()
    with cometmq.Producer(group="pg", namesrv=cluster.namesrv_addr) as p:
        for i, tag in enumerate(["TagA", "TagB", "TagC"] * 10):
            p.send("Tags", f"{tag}-{i}".encode(), tags=tag)
    with cometmq.PushConsumer(group="gt", namesrv=cluster.namesrv_addr,
                              consume_from="FIRST_OFFSET") as c:
        c.subscribe("Tags", "TagA || TagC")
        c.register_listener(got)
        c.start()
        wait_until(lambda: got.count() >= 20, what="20 TagA/TagC messages")
        time.sleep(0.5)  # let any wrongly delivered TagB message show up
    assert {m.tags for m in got.messages} == {"TagA", "TagC"}
    assert got.count() == 20


def test_pull_consumer_poll_commit_and_resume(cluster):
    cluster.start_namesrv()
    cluster.start_broker()
    with cometmq.Producer(group="pg", namesrv=cluster.namesrv_addr) as p:
        for i in range(50):
            p.send("Pulled", f"p{i}".encode())
    seen = []
    with cometmq.PullConsumer(group="lg", namesrv=cluster.namesrv_addr,
                              consume_from="FIRST_OFFSET") as pc:
        pc.subscribe("Pulled", "*")
        pc.start()
        deadline = time.monotonic() + 60
        while len(seen) < 30 and time.monotonic() < deadline:
            seen += [m.body for m in pc.poll(timeout_ms=1000)]
        pc.commit()
    assert len(seen) >= 30
    rest = []
    with cometmq.PullConsumer(group="lg", namesrv=cluster.namesrv_addr,
                              consume_from="FIRST_OFFSET") as pc:
        pc.subscribe("Pulled", "*")
        pc.start()
        deadline = time.monotonic() + 60
        while len(set(seen + rest)) < 50 and time.monotonic() < deadline:
            rest += [m.body for m in pc.poll(timeout_ms=1000)]
    assert set(seen + rest) == {f"p{i}".encode() for i in range(50)}
    # Resumed from the commit: not everything came back a second time.
    assert len(rest) < 50


def test_pull_consumer_seek_reads_a_queue_again(cluster):
    cluster.start_namesrv()
    cluster.start_broker()
    with cometmq.Producer(group="pg", namesrv=cluster.namesrv_addr) as p:
        sent = [p.send("Sought", f"s{i}".encode()) for i in range(20)]
    broker, queue_id = sent[0].broker_name, sent[0].queue_id
    in_queue = sorted((r.queue_offset, f"s{i}".encode())
                      for i, r in enumerate(sent)
                      if (r.broker_name, r.queue_id) == (broker, queue_id))
    with cometmq.PullConsumer(group="sg", namesrv=cluster.namesrv_addr,
                              consume_from="FIRST_OFFSET") as pc:
        pc.subscribe("Sought", "*")
        pc.start()
        seen = []
        deadline = time.monotonic() + 60
        while len(seen) < 20 and time.monotonic() < deadline:
            seen += pc.poll(timeout_ms=1000)
        assert sorted(m.body for m in seen) == \
            sorted(f"s{i}".encode() for i in range(20))
        # Back to the queue's second message: it and the ones after it come
        # again, and nothing of the other queues.
        pc.seek("Sought", broker, queue_id, in_queue[1][0])
        again = []
        deadline = time.monotonic() + 60
        while len(again) < len(in_queue) - 1 and time.monotonic() < deadline:
            again += pc.poll(timeout_ms=1000)
        assert [(m.queue_offset, m.body) for m in again] == in_queue[1:]
        with pytest.raises(cometmq.MQClientError, match="offsets start at 0"):
            pc.seek("Sought", broker, queue_id, -1)


def test_admin_operations(cluster):
    cluster.start_namesrv()
    cluster.start_broker()
    admin = cometmq.Admin(namesrv=cluster.namesrv_addr)
    admin.create_topic("AdminT", cluster="DefaultCluster", read_queues=3,
                       write_queues=3)
    route = admin.topic_route("AdminT")
    assert route["queue_datas"][0]["write_queue_nums"] == 3
    assert route["queue_datas"][0]["perm"] == 6
    assert route["queue_datas"][0]["order"] is False
    admin.create_topic("ReadOnlyAdminT", read_queues=1, write_queues=1,
                       perm=4, order=True)
    route = admin.topic_route("ReadOnlyAdminT")
    assert route["queue_datas"][0]["perm"] == 4
    assert route["queue_datas"][0]["order"] is True
    with cometmq.Producer(group="ro-pg", namesrv=cluster.namesrv_addr) as p:
        with pytest.raises(cometmq.NoPermissionError,
                           match="sending message is forbidden"):
            p.send("ReadOnlyAdminT", b"refused")
    with pytest.raises(cometmq.MQClientError, match="perm 9"):
        admin.create_topic("BadPermT", perm=9)
    assert "DefaultCluster" in admin.cluster_list()["clusters"]
    with cometmq.Producer(group="pg", namesrv=cluster.namesrv_addr) as p:
        r = p.send("AdminT", b"findme", keys=["order-42"])
    # The message becomes visible in the queue index just after the send.
    wait_until(lambda: sum(q["max_offset"] for q in
                           admin.topic_stats("AdminT")) == 1,
               what="the message in the topic stats")
    by_offset_id = admin.query_message("AdminT", r.offset_msg_id)
    assert by_offset_id.body == b"findme"
    by_uniq_id = admin.query_message("AdminT", r.msg_id)
    assert by_uniq_id.body == b"findme"
    by_key = admin.query_by_key("AdminT", "order-42")
    assert [m.body for m in by_key] == [b"findme"]
    with cometmq.PushConsumer(group="ga", namesrv=cluster.namesrv_addr,
                              consume_from="FIRST_OFFSET") as c:
        got = Collector()
        c.subscribe("AdminT", "*")
        c.register_listener(got)
        c.start()
        wait_until(lambda: got.count() == 1, what="the message")
        wait_until(lambda: sum(q["lag"] for q in
                               admin.consumer_progress("ga", "AdminT")) == 0,
                   what="lag 0 after the offset commit")
    admin.delete_topic("AdminT", cluster="DefaultCluster")
    with pytest.raises(cometmq.TopicNotExistError):
        admin.topic_route("AdminT")
    admin.shutdown()


def test_shutdown_with_messages_in_flight_loses_nothing_acknowledged(cluster):
    cluster.start_namesrv()
    cluster.start_broker()
    p = cometmq.Producer(group="pg", namesrv=cluster.namesrv_addr).start()
    futures = [p.send_async("InFlight", f"f{i}".encode()) for i in range(2000)]
    p.shutdown()  # waits for sends already started
    acked = set()
    for i, f in enumerate(futures):
        try:
            if f.result(timeout=30).status == "SEND_OK":
                acked.add(f"f{i}".encode())
        except cometmq.MQClientError:
            pass
    assert acked, "nothing was acknowledged"
    got = Collector()
    with cometmq.PushConsumer(group="gf", namesrv=cluster.namesrv_addr,
                              consume_from="FIRST_OFFSET") as c:
        c.subscribe("InFlight", "*")
        c.register_listener(got)
        c.start()
        wait_until(lambda: set(got.bodies()) >= acked, what="acknowledged sends")


def test_interpreter_exit_without_shutdown_is_clean(cluster):
    cluster.start_namesrv()
    cluster.start_broker()
    script = textwrap.dedent(f"""
        import cometmq
        c = cometmq.PushConsumer(group="gx", namesrv="{cluster.namesrv_addr}")
        c.subscribe("Exit", "*")
        c.register_listener(lambda m: True)
        c.start()
        p = cometmq.Producer(group="px", namesrv="{cluster.namesrv_addr}")
        p.start()
        p.send("Exit", b"bye")
        print("done", flush=True)
    """)
    result = subprocess.run([sys.executable, "-c", script],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "done" in result.stdout
