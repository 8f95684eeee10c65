"""mqadmin consumerConnection, producerConnection and deleteSubGroup against
real mqnamesrv/mqbroker processes and real clients, in table and --json
form (RocketMQ's GET_CONSUMER_CONNECTION_LIST, GET_PRODUCER_CONNECTION_LIST
and DELETE_SUBSCRIPTIONGROUP)."""

import json
import os

import cometmq

from helpers import Collector, mqadmin, push_consumer, wait_until

CLUSTER = "DefaultCluster"


def mqadmin_json(*args):
    """Runs `mqadmin ARGS --json`, which must succeed; returns the document."""
    return json.loads(mqadmin(*args, "--json", check=0).stdout)


def start(cluster):
    cluster.start_namesrv()
    broker = cluster.start_broker()
    return cluster.namesrv_addr, broker


def groups_file(broker):
    with open(os.path.join(broker.store, "config",
                           "subscriptionGroup.json")) as f:
        return f.read()


def group_names(broker):
    """The groups the broker has persisted: what it loads after a restart
    (and what GET_ALL_SUBSCRIPTIONGROUP_CONFIG answers with)."""
    return {line.split("=")[0] for line in groups_file(broker).split()
            if "=" in line and not line.startswith("#")}


def test_consumer_and_producer_connections(cluster):
    ns, broker = start(cluster)
    mqadmin("updateTopic", "-n", ns, "-c", CLUSTER, "-t", "ConnT", "-r", "2",
            "-w", "2", check=0)
    collector = Collector()
    consumer = push_consumer(cluster, "conn-cg", "ConnT", collector,
                             expression="TagA || TagB")
    producer = cometmq.Producer(group="conn-pg", namesrv=ns)
    producer.start()
    try:
        producer.send("ConnT", b"hello", tags="TagA")
        wait_until(lambda: collector.count() == 1, 30, "the message consumed")

        # The producer heartbeats the topic's brokers once it has the
        # route, not only every 30 s.
        wait_until(lambda: mqadmin("producerConnection", "-n", ns, "-g",
                                   "conn-pg", "-t", "ConnT").returncode == 0,
                   10, "the producer online")
        doc = mqadmin_json("producerConnection", "-n", ns, "-g", "conn-pg",
                           "-t", "ConnT")
        assert doc["group"] == "conn-pg" and doc["topic"] == "ConnT"
        assert len(doc["connections"]) == 1, doc
        conn = doc["connections"][0]
        assert conn["clientId"]
        assert conn["clientAddr"].startswith("127.0.0.1:")
        assert conn["language"] == "CPP"
        assert conn["version"] == cometmq.__version__
        table = mqadmin("producerConnection", "-n", ns, "-g", "conn-pg",
                        "-t", "ConnT", check=0).stdout.splitlines()
        assert table[0].split() == ["#ClientId", "#ClientAddr", "#Language",
                                    "#Version"]
        assert table[1].split() == [conn["clientId"], conn["clientAddr"],
                                    "CPP", cometmq.__version__]

        doc = mqadmin_json("consumerConnection", "-n", ns, "-g", "conn-cg")
        assert doc["group"] == "conn-cg"
        assert len(doc["connections"]) == 1, doc
        member = doc["connections"][0]
        assert member["clientAddr"].startswith("127.0.0.1:")
        assert (member["language"], member["version"]) == (
            "CPP", cometmq.__version__)
        assert doc["consumeType"] == "CONSUME_PASSIVELY"
        assert doc["messageModel"] == "CLUSTERING"
        assert doc["consumeFromWhere"] == "CONSUME_FROM_FIRST_OFFSET"
        # A clustering push consumer also subscribes its retry topic.
        assert doc["subscriptions"] == [
            {"topic": "%RETRY%conn-cg", "subExpression": "*",
             "expressionType": "TAG"},
            {"topic": "ConnT", "subExpression": "TagA || TagB",
             "expressionType": "TAG"}]
        # Asked of one broker (-b), the same answer.
        assert mqadmin_json("consumerConnection", "-n", ns, "-g", "conn-cg",
                            "-b", broker.addr) == doc
        out = mqadmin("consumerConnection", "-n", ns, "-g", "conn-cg",
                      check=0).stdout
        assert member["clientId"] in out and member["clientAddr"] in out
        assert "Below is subscription:" in out
        assert "TagA || TagB" in out
        assert "ConsumeType: CONSUME_PASSIVELY" in out.splitlines()
        assert "MessageModel: CLUSTERING" in out.splitlines()
        assert "ConsumeFromWhere: CONSUME_FROM_FIRST_OFFSET" in out.splitlines()

        # The Python API answers the same.
        admin = cometmq.Admin(ns)
        try:
            info = admin.consumer_connection("conn-cg")
            assert info["subscriptions"]["ConnT"] == "TagA || TagB"
            assert info["expression_types"]["ConnT"] == "TAG"
            assert [c["client_id"] for c in info["connections"]] == [
                member["clientId"]]
            producers = admin.producer_connection("conn-pg", "ConnT")
            assert [p["client_addr"] for p in producers] == [
                conn["clientAddr"]]
        finally:
            admin.shutdown()
    finally:
        producer.shutdown()
        consumer.shutdown()

    # Both shut down (and unregistered): nobody online.
    result = mqadmin("consumerConnection", "-n", ns, "-g", "conn-cg", check=1)
    assert "consumer group [conn-cg] has no consumer online" in result.stderr
    assert result.stdout == ""
    result = mqadmin("consumerConnection", "-n", ns, "-g", "conn-cg", "-b",
                     broker.addr, check=1)
    assert "has no consumer online" in result.stderr
    result = mqadmin("producerConnection", "-n", ns, "-g", "conn-pg", "-t",
                     "ConnT", check=1)
    assert "producer group [conn-pg] has no producer online" in result.stderr
    # A group nobody ever used reads the same; so does a topic without route.
    result = mqadmin("consumerConnection", "-n", ns, "-g", "NoSuchGroup",
                     check=1)
    assert "consumer group [NoSuchGroup] has no consumer online" in (
        result.stderr)
    result = mqadmin("producerConnection", "-n", ns, "-g", "conn-pg", "-t",
                     "NoSuchTopic", check=1)
    assert "topic [NoSuchTopic] does not exist" in result.stderr


def test_delete_sub_group_with_offsets_survives_restart(cluster):
    ns, broker = start(cluster)
    mqadmin("updateTopic", "-n", ns, "-c", CLUSTER, "-t", "DelT", "-r", "2",
            "-w", "2", check=0)
    for group in ("del-cg", "kept-cg"):
        mqadmin("updateSubGroup", "-n", ns, "-c", CLUSTER, "-g", group,
                check=0)
    assert {"del-cg", "kept-cg"} <= group_names(broker)

    # Both groups consume, so both have committed offsets.
    with cometmq.Producer(group="del-pg", namesrv=ns) as p:
        for i in range(4):
            p.send("DelT", f"m{i}".encode())
    for group in ("del-cg", "kept-cg"):
        collector = Collector()
        consumer = push_consumer(cluster, group, "DelT", collector)
        try:
            wait_until(lambda: collector.count() == 4, 30, f"{group} consumed")
            wait_until(lambda: mqadmin_json(
                "consumerProgress", "-n", ns, "-g", group)["diffTotal"] == 0,
                30, f"{group}'s offsets committed")
        finally:
            consumer.shutdown()

    doc = mqadmin_json("deleteSubGroup", "-n", ns, "-c", CLUSTER, "-g",
                       "del-cg", "-r", "true")
    assert doc["groupName"] == "del-cg" and doc["removeOffset"] is True
    assert doc["brokers"] == [{"brokerAddr": broker.addr, "existed": True,
                               "offsetsRemoved": 2}], doc  # DelT, %RETRY%
    # -c also deletes the group's retry topic (it has no DLQ topic).
    assert doc["deletedTopics"] == ["%RETRY%del-cg"], doc
    assert doc["topicErrors"] == {}
    # Persisted before the answer.
    assert "del-cg" not in group_names(broker)
    assert "kept-cg" in group_names(broker)
    with open(os.path.join(broker.store, "config",
                           "consumerOffset.json")) as f:
        offsets = f.read()
    assert "del-cg@" not in offsets and "kept-cg@DelT" in offsets

    # No committed offsets left: consumerProgress finds nothing for the group.
    result = mqadmin("consumerProgress", "-n", ns, "-g", "del-cg", check=1)
    assert "has no committed offsets" in result.stderr
    progress = mqadmin_json("consumerProgress", "-n", ns, "-g", "del-cg",
                            "-t", "DelT")
    assert all(q["consumerOffset"] == 0 for q in progress["queues"])
    assert mqadmin_json("consumerProgress", "-n", ns, "-g",
                        "kept-cg")["diffTotal"] == 0

    # SIGKILL: nothing the shutdown would write; the deletion was on disk.
    broker.kill()
    broker.start()
    wait_until(lambda: mqadmin("consumerProgress", "-n", ns, "-g", "kept-cg",
                               "-t", "DelT").returncode == 0,
               20, "the restarted broker's route")
    assert "del-cg" not in group_names(broker)
    result = mqadmin("consumerProgress", "-n", ns, "-g", "del-cg", check=1)
    assert "has no committed offsets" in result.stderr
    assert mqadmin_json("consumerProgress", "-n", ns, "-g",
                        "kept-cg")["diffTotal"] == 0


def test_delete_sub_group_from_one_broker_and_unknown_group(cluster):
    ns, broker = start(cluster)
    mqadmin("updateSubGroup", "-n", ns, "-b", broker.addr, "-g", "one-cg",
            check=0)
    assert "one-cg=1,16,1" in groups_file(broker).split()
    out = mqadmin("deleteSubGroup", "-n", ns, "-b", broker.addr, "-g",
                  "one-cg", check=0).stdout
    assert out == (f"delete subscription group [one-cg] from broker "
                   f"[{broker.addr}] success.\n")
    assert "one-cg" not in group_names(broker)

    # As RocketMQ: a group the broker does not have is not an error; the
    # output says so.
    out = mqadmin("deleteSubGroup", "-n", ns, "-b", broker.addr, "-g",
                  "one-cg", check=0).stdout
    assert "success." in out
    assert f"broker [{broker.addr}] had no subscription group [one-cg]" in out
    admin = cometmq.Admin(ns)
    try:
        assert admin.delete_subscription_group(
            "one-cg", broker_addr=broker.addr) == [
                {"broker_addr": broker.addr, "existed": False,
                 "offsets_removed": 0}]
    finally:
        admin.shutdown()

    # Bad usage: exit 2 with the command's help.
    result = mqadmin("deleteSubGroup", "-n", ns, "-g", "one-cg", check=2)
    assert "exactly one of -c CLUSTER and -b BROKERADDR" in result.stderr
    result = mqadmin("deleteSubGroup", "-n", ns, "-b", broker.addr, "-g",
                     "one-cg", "-r", "maybe", check=2)
    assert "-r must be true or false" in result.stderr
    result = mqadmin("deleteSubGroup", "-n", ns, "-c", "NoSuchCluster", "-g",
                     "one-cg", check=1)
    assert "NoSuchCluster" in result.stderr


def test_connections_skip_a_broker_that_does_not_answer(cluster):
    cluster.start_namesrv()
    ns = cluster.namesrv_addr
    broker_a = cluster.start_broker("broker-a")
    broker_b = cluster.start_broker("broker-b")
    mqadmin("updateTopic", "-n", ns, "-c", CLUSTER, "-t", "TwoT", "-r", "2",
            "-w", "2", check=0)
    collector = Collector()
    consumer = push_consumer(cluster, "two-cg", "TwoT", collector)
    producer = cometmq.Producer(group="two-pg", namesrv=ns)
    producer.start()
    try:
        producer.send("TwoT", b"x")
        both = {broker_a.addr, broker_b.addr}

        def retry_route_on_both():
            route = json.loads(mqadmin("topicRoute", "-n", ns, "-t",
                                       "%RETRY%two-cg", "--json").stdout
                               or "{}")
            return {b["brokerAddrs"]["0"]
                    for b in route.get("brokerDatas", [])} == both

        wait_until(retry_route_on_both, 30, "the retry topic on both brokers")
        wait_until(lambda: mqadmin("producerConnection", "-n", ns, "-g",
                                   "two-pg", "-t", "TwoT").returncode == 0,
                   10, "the producer online")
        # broker-b stops answering (its connections stay open).
        broker_b.pause()
        try:
            doc = mqadmin_json("consumerConnection", "-n", ns, "-g", "two-cg")
            assert len(doc["connections"]) == 1, doc
            doc = mqadmin_json("producerConnection", "-n", ns, "-g", "two-pg",
                               "-t", "TwoT")
            assert len(doc["connections"]) == 1, doc
            # Asked of broker-b alone, the error names it.
            result = mqadmin("consumerConnection", "-n", ns, "-g", "two-cg",
                             "-b", broker_b.addr, check=1)
            assert broker_b.addr in result.stderr
        finally:
            broker_b.resume()
    finally:
        producer.shutdown()
        consumer.shutdown()
