"""mqadmin cloneGroupOffset (RocketMQ's cloneGroupOffset) through real
processes: a consumer group takes another group's committed offsets on a
topic, on every master, and its running consumers continue from them."""

import json

import cometmq

from helpers import (Collector, consumer_progress, create_topic, mqadmin,
                     push_consumer, send_numbered, wait_until)


def lag(ns, group, topic):
    """The group's total lag on the topic (consumerProgress)."""
    return consumer_progress(ns, group, topic)[0]


def clone(ns, src, dest, topic, *extra, check=0):
    result = mqadmin("cloneGroupOffset", "-n", ns, "-s", src, "-d", dest,
                     "-t", topic, *extra, "--json", check=check)
    return json.loads(result.stdout) if check == 0 else result


def consume_all(cluster, group, topic, count, **options):
    """Runs a push consumer of `group` until it committed every one of the
    topic's `count` messages, then shuts it down."""
    got = Collector()
    c = push_consumer(cluster, group, topic, got, **options)
    try:
        wait_until(lambda: lag(cluster.namesrv_addr, group, topic) == 0
                   and got.count() >= count, what=f"{group} at the end")
    finally:
        c.shutdown()
    return got


def test_an_offline_group_takes_the_source_groups_offsets(cluster):
    cluster.start_namesrv()
    cluster.start_broker()
    ns = cluster.namesrv_addr
    create_topic(ns, "CloneT", 3)
    with cometmq.Producer(group="pg-clone", namesrv=ns) as producer:
        send_numbered(producer, "CloneT", b"old-", 30)
        consume_all(cluster, "cg-src", "CloneT", 30)
        _, src = consumer_progress(ns, "cg-src", "CloneT")
        assert sum(src.values()) == 30

        out = clone(ns, "cg-src", "cg-dest", "CloneT")
        assert out["brokers"] == [{"brokerName": "broker-a", "cloned": True,
                                   "clientsNotified": 0}], out
        assert consumer_progress(ns, "cg-dest", "CloneT") == (0, src)

        # From its first offset it would read all 30; with the clone it
        # starts where cg-src stopped.
        send_numbered(producer, "CloneT", b"new-", 9)
        got = Collector()
        c = push_consumer(cluster, "cg-dest", "CloneT", got,
                          consume_from="FIRST_OFFSET")
        try:
            wait_until(lambda: got.count() >= 9, what="the new messages")
            wait_until(lambda: lag(ns, "cg-dest", "CloneT") == 0,
                       what="cg-dest committed them")
        finally:
            c.shutdown()
    assert sorted(got.bodies()) == sorted(b"new-%d" % i for i in range(9))


def test_a_running_group_continues_from_the_cloned_offsets(cluster):
    cluster.start_namesrv()
    cluster.start_broker()
    ns = cluster.namesrv_addr
    create_topic(ns, "CloneRunT", 2)
    with cometmq.Producer(group="pg-clone-run", namesrv=ns) as producer:
        send_numbered(producer, "CloneRunT", b"first-", 20)
        consume_all(cluster, "cg-behind", "CloneRunT", 20)
        _, behind = consumer_progress(ns, "cg-behind", "CloneRunT")
        send_numbered(producer, "CloneRunT", b"second-", 10)

        got = Collector()
        c = push_consumer(cluster, "cg-running", "CloneRunT", got)
        try:
            wait_until(lambda: got.count() >= 30, what="all 30 messages")
            wait_until(lambda: lag(ns, "cg-running", "CloneRunT") == 0,
                       what="cg-running at the end")
            out = clone(ns, "cg-behind", "cg-running", "CloneRunT")
            assert out["brokers"][0]["cloned"] is True, out
            assert out["brokers"][0]["clientsNotified"] == 1, out
            # Rewound to where cg-behind stopped: the 10 later messages
            # again, and nothing else, then back at the end.
            wait_until(lambda: got.count() >= 40, what="the second ten again")
            wait_until(lambda: lag(ns, "cg-running", "CloneRunT") == 0,
                       what="cg-running at the end again")
        finally:
            c.shutdown()
    bodies = got.bodies()
    assert len(bodies) == 40, bodies
    for i in range(20):
        assert bodies.count(b"first-%d" % i) == 1
    for i in range(10):
        assert bodies.count(b"second-%d" % i) == 2
    assert sum(behind.values()) == 20


def test_an_online_source_not_subscribing_is_cloned_only_offline(cluster):
    cluster.start_namesrv()
    cluster.start_broker()
    ns = cluster.namesrv_addr
    create_topic(ns, "CloneSubT", 2)
    create_topic(ns, "OtherT", 1)
    with cometmq.Producer(group="pg-clone-sub", namesrv=ns) as producer:
        send_numbered(producer, "CloneSubT", b"m-", 8)
    consume_all(cluster, "cg-moved", "CloneSubT", 8)
    # The source group now runs, subscribed to another topic only.
    other = push_consumer(cluster, "cg-moved", "OtherT", Collector())
    admin = cometmq.Admin(ns)
    try:
        wait_until(lambda: "OtherT" in admin.consumer_connection(
            "cg-moved")["subscriptions"], what="cg-moved online on OtherT")
        out = clone(ns, "cg-moved", "cg-copy", "CloneSubT")
        assert out["brokers"][0]["cloned"] is False, out
        out = clone(ns, "cg-moved", "cg-copy", "CloneSubT", "-o", "true")
        assert out["brokers"][0]["cloned"] is True, out
        assert admin.clone_group_offset("cg-moved", "cg-copy-py", "CloneSubT",
                                        offline=True) == [
            {"broker_name": "broker-a", "cloned": True,
             "clients_notified": 0}]
        for group in ("cg-copy", "cg-copy-py"):
            _, copied = consumer_progress(ns, group, "CloneSubT")
            assert sum(copied.values()) == 8
    finally:
        other.shutdown()
        admin.shutdown()


def test_clear_errors(cluster):
    cluster.start_namesrv()
    cluster.start_broker()
    ns = cluster.namesrv_addr
    # Bad usage exits 2, a failed request 1.
    result = clone(ns, "cg-a", "cg-a", "CloneT", check=2)
    assert "same group" in result.stderr
    result = clone(ns, "cg-a", "cg-b", "T", "-o", "maybe", check=2)
    assert "true or false" in result.stderr
    result = clone(ns, "cg-a", "cg-b", "NoSuchTopic", check=1)
    assert "NoSuchTopic" in result.stderr
    result = mqadmin("cloneGroupOffset", "-n", ns, "-s", "cg-a", "-t", "T",
                     check=2)
    assert "usage: mqadmin cloneGroupOffset" in result.stderr
