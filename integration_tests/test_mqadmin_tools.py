"""mqadmin's everyday tools, as a RocketMQ 4.9 operator uses them against
real mqnamesrv/mqbroker processes: sendMessage, consumeMessage,
updateTopicPerm and topicClusterList."""

import json
import time

import cometmq

from helpers import mqadmin, wait_until

CLUSTER = "DefaultCluster"


def mqadmin_json(*args):
    """Runs `mqadmin ARGS --json`, which must succeed; returns the document."""
    return json.loads(mqadmin(*args, "--json", check=0).stdout)


def two_broker_topic(cluster, topic, queues=2):
    """broker-a and broker-b, and `topic` with `queues` queues on each."""
    cluster.start_namesrv()
    brokers = [cluster.start_broker("broker-a"),
               cluster.start_broker("broker-b")]
    ns = cluster.namesrv_addr
    mqadmin("updateTopic", "-n", ns, "-c", CLUSTER, "-t", topic, "-r",
            str(queues), "-w", str(queues), check=0)
    wait_until(lambda: len(mqadmin_json("topicRoute", "-n", ns, "-t",
                                        topic)["brokerDatas"]) == 2,
               what=f"{topic} on both brokers")
    return ns, brokers


def consumed(ns, *args):
    """The messages `consumeMessage -t ... ARGS` prints, as JSON objects."""
    return mqadmin_json("consumeMessage", "-n", ns, *args)["messages"]


def test_send_message_then_consume_message(cluster):
    ns, _ = two_broker_topic(cluster, "Tools")
    sent = mqadmin_json("sendMessage", "-n", ns, "-t", "Tools", "-p", "hello",
                        "-k", "k1 k2", "-c", "TagA")
    assert sent["sendStatus"] == "SEND_OK"
    assert sent["brokerName"] in ("broker-a", "broker-b")
    to_queue = mqadmin_json("sendMessage", "-n", ns, "-t", "Tools", "-p",
                            "to-b-1", "-b", "broker-b", "-i", "1")
    assert (to_queue["brokerName"], to_queue["queueId"]) == ("broker-b", 1)
    # The table a person reads.
    table = mqadmin("sendMessage", "-n", ns, "-t", "Tools", "-p", "third",
                    "-b", "broker-b", "-i", "1", check=0).stdout
    assert "#Send Result" in table and "SEND_OK" in table
    with cometmq.Producer(group="tools-pg", namesrv=ns) as p:
        more = [p.send("Tools", f"m{i}".encode()) for i in range(10)]

    everything = consumed(ns, "-t", "Tools")
    assert sorted(m["body"] for m in everything) == sorted(
        ["hello", "to-b-1", "third"] + [f"m{i}" for i in range(10)])
    [first] = [m for m in everything if m["body"] == "hello"]
    assert first["msgId"] == sent["msgId"]
    assert first["tags"] == "TagA" and first["keys"] == ["k1", "k2"]
    # Each message once, in queue order per queue.
    places = [(m["brokerName"], m["queueId"], m["queueOffset"])
              for m in everything]
    assert places == sorted(set(places))

    assert len(consumed(ns, "-t", "Tools", "-c", "3")) == 3
    on_b1 = consumed(ns, "-t", "Tools", "-b", "broker-b", "-i", "1")
    hello_on_b1 = (sent["brokerName"], sent["queueId"]) == ("broker-b", 1)
    expected_b1 = ["hello"] * hello_on_b1 + ["to-b-1", "third"] + [
        f"m{i}" for i, r in enumerate(more)
        if (r.broker_name, r.queue_id) == ("broker-b", 1)]
    assert [m["body"] for m in on_b1] == expected_b1
    from_1 = consumed(ns, "-t", "Tools", "-b", "broker-b", "-i", "1", "-o",
                      "1")
    assert [m["body"] for m in from_1] == expected_b1[1:]
    # Nothing was committed: reading again gives the same messages.
    assert consumed(ns, "-t", "Tools") == everything


def test_consume_message_between_times(cluster):
    ns, _ = two_broker_topic(cluster, "Timed")
    with cometmq.Producer(group="timed-pg", namesrv=ns) as p:
        for i in range(6):
            p.send("Timed", f"early-{i}".encode())
        early = consumed(ns, "-t", "Timed")
        last_early = max(m["storeTimestamp"] for m in early)
        # Later messages are stored in a later millisecond than any early one.
        wait_until(lambda: time.time() * 1000 > last_early + 1,
                   what="the clock past the early messages")
        for i in range(6):
            p.send("Timed", f"late-{i}".encode())
    late = consumed(ns, "-t", "Timed", "-s", str(last_early + 1))
    assert sorted(m["body"] for m in late) == [f"late-{i}" for i in range(6)]
    until = consumed(ns, "-t", "Timed", "-e", str(last_early))
    assert sorted(m["body"] for m in until) == [f"early-{i}" for i in range(6)]


def test_tool_errors_are_clear(cluster):
    ns, brokers = two_broker_topic(cluster, "Errors")
    run = mqadmin("sendMessage", "-n", ns, "-t", "Errors", "-p", "x", "-b",
                  "broker-a", check=2)
    assert "-b BROKERNAME and -i QUEUEID go together" in run.stderr
    run = mqadmin("consumeMessage", "-n", ns, "-t", "Errors", "-o", "3",
                  check=2)
    assert "-o OFFSET needs -b BROKERNAME and -i QUEUEID" in run.stderr
    run = mqadmin("consumeMessage", "-n", ns, "-t", "Errors", "-b",
                  "broker-z", check=1)
    assert "topic [Errors] has no queue on broker [broker-z]" in run.stderr
    run = mqadmin("consumeMessage", "-n", ns, "-t", "NoSuchTopic", check=1)
    assert "NoSuchTopic" in run.stderr
    run = mqadmin("updateTopicPerm", "-n", ns, "-t", "Errors", "-p", "5",
                  "-b", brokers[0].addr, check=2)
    assert "-p" in run.stderr


def route_perms(ns, topic):
    """{brokerName: (perm, readQueueNums, writeQueueNums)} of `topic`."""
    route = mqadmin_json("topicRoute", "-n", ns, "-t", topic)
    return {q["brokerName"]: (q["perm"], q["readQueueNums"],
                              q["writeQueueNums"])
            for q in route["queueDatas"]}


def test_update_topic_perm_keeps_queues(cluster):
    ns, brokers = two_broker_topic(cluster, "Perm", queues=3)
    slave = cluster.start_broker("broker-a", broker_id=1, brokerRole="SLAVE")
    doc = mqadmin_json("updateTopicPerm", "-n", ns, "-t", "Perm", "-p", "4",
                       "-b", brokers[0].addr)
    assert [(b["brokerName"], b["oldPerm"], b["newPerm"], b["changed"])
            for b in doc["brokers"]] == [("broker-a", 6, 4, True)]
    wait_until(lambda: route_perms(ns, "Perm") == {
        "broker-a": (4, 3, 3), "broker-b": (6, 3, 3)},
        what="broker-a read only, queues kept")
    run = mqadmin("sendMessage", "-n", ns, "-t", "Perm", "-p", "x", "-b",
                  "broker-a", "-i", "0", check=1)
    assert "NO_PERMISSION" in run.stderr or "permission" in run.stderr
    with cometmq.Producer(group="perm-pg", namesrv=ns) as p:
        assert {p.send("Perm", b"y").broker_name for _ in range(8)} == {
            "broker-b"}

    wait_until(lambda: slave.addr in json.dumps(mqadmin_json(
        "topicRoute", "-n", ns, "-t", "Perm")["brokerDatas"]),
        what="the slave in the route")
    run = mqadmin("updateTopicPerm", "-n", ns, "-t", "Perm", "-p", "6", "-b",
                  slave.addr, check=2)
    assert "is a slave" in run.stderr
    text = mqadmin("updateTopicPerm", "-n", ns, "-t", "Perm", "-p", "6", "-c",
                   CLUSTER, check=0).stdout
    assert "perm from R to RW on " + brokers[0].addr in text
    assert "already has perm RW; unchanged" in text
    wait_until(lambda: route_perms(ns, "Perm") == {
        "broker-a": (6, 3, 3), "broker-b": (6, 3, 3)},
        what="both read and write again")


def test_topic_cluster_list(cluster):
    cluster.start_namesrv()
    cluster.start_broker("broker-a", cluster="ClusterA")
    cluster.start_broker("broker-b", cluster="ClusterB")
    ns = cluster.namesrv_addr
    mqadmin("updateTopic", "-n", ns, "-c", "ClusterA", "-t", "Both", check=0)
    mqadmin("updateTopic", "-n", ns, "-c", "ClusterB", "-t", "Both", check=0)
    mqadmin("updateTopic", "-n", ns, "-c", "ClusterB", "-t", "OnlyB",
            check=0)
    wait_until(lambda: mqadmin_json("topicClusterList", "-n", ns, "-t",
                                    "Both")["clusters"] == ["ClusterA",
                                                            "ClusterB"],
               what="Both in both clusters")
    assert mqadmin_json("topicClusterList", "-n", ns, "-t",
                        "OnlyB")["clusters"] == ["ClusterB"]
    table = mqadmin("topicClusterList", "-n", ns, "-t", "Both",
                    check=0).stdout
    assert "#Cluster Name" in table and "ClusterA" in table
    mqadmin("topicClusterList", "-n", ns, "-t", "Nowhere", check=1)
