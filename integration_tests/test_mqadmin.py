"""The real mqadmin binary against real mqnamesrv/mqbroker processes: every
subcommand in table and --json form, and its errors."""

import json
import os
import re
import select
import signal
import subprocess
import time

import cometmq

from cluster import bin_dir, free_port
from helpers import (Collector, mqadmin, mqadmin_env, push_consumer,
                     wait_until)

CLUSTER = "DefaultCluster"


def mqadmin_json(*args):
    """Runs `mqadmin ARGS --json`, which must succeed; returns the document."""
    result = mqadmin(*args, "--json", check=0)
    return json.loads(result.stdout)


def start(cluster):
    cluster.start_namesrv()
    broker = cluster.start_broker()
    return cluster.namesrv_addr, broker


def test_topic_lifecycle(cluster):
    ns, broker = start(cluster)
    out = mqadmin("updateTopic", "-n", ns, "-c", CLUSTER, "-t", "AdminT",
                  "-r", "4", "-w", "4", check=0).stdout
    assert "create topic [AdminT]" in out and "success" in out

    assert "AdminT" in mqadmin("topicList", "-n", ns, check=0).stdout.split()
    assert "AdminT" in mqadmin_json("topicList", "-n", ns)["topics"]

    table = mqadmin("topicRoute", "-n", ns, "-t", "AdminT", check=0).stdout
    assert "#Broker Name" in table and broker.addr in table
    route = mqadmin_json("topicRoute", "-n", ns, "-t", "AdminT")
    assert route["topic"] == "AdminT"
    assert route["brokerDatas"][0]["brokerName"] == "broker-a"
    assert route["brokerDatas"][0]["brokerAddrs"]["0"] == broker.addr
    assert route["queueDatas"][0]["readQueueNums"] == 4
    assert route["queueDatas"][0]["writeQueueNums"] == 4

    table = mqadmin("topicStatus", "-n", ns, "-t", "AdminT", check=0).stdout
    assert table.splitlines()[0].split("  ")[0] == "#Broker Name"
    assert len(table.splitlines()) == 1 + 4
    status = mqadmin_json("topicStatus", "-n", ns, "-t", "AdminT")
    assert sorted(q["queueId"] for q in status["queues"]) == [0, 1, 2, 3]
    assert all(q["maxOffset"] == 0 for q in status["queues"])

    out = mqadmin("deleteTopic", "-n", ns, "-c", CLUSTER, "-t", "AdminT",
                  check=0).stdout
    assert "delete topic [AdminT]" in out
    assert "AdminT" not in mqadmin_json("topicList", "-n", ns)["topics"]
    result = mqadmin("topicRoute", "-n", ns, "-t", "AdminT", check=1)
    assert "topic [AdminT] does not exist" in result.stderr


def test_update_topic_on_one_broker_cluster_list_and_broker_status(cluster):
    ns, broker = start(cluster)
    doc = mqadmin_json("updateTopic", "-n", ns, "-b", broker.addr, "-t",
                       "OneBroker", "-r", "2", "-w", "2")
    assert doc == {"topic": "OneBroker", "brokerAddr": broker.addr,
                   "readQueueNums": 2, "writeQueueNums": 2, "perm": 6,
                   "order": False, "success": True}
    route = mqadmin_json("topicRoute", "-n", ns, "-t", "OneBroker")
    assert route["queueDatas"][0]["readQueueNums"] == 2

    table = mqadmin("clusterList", "-n", ns, check=0).stdout
    lines = table.splitlines()
    assert lines[0].split() == ["#Cluster", "Name", "#Broker", "Name", "#BID",
                                "#Addr"]
    assert lines[1].split() == [CLUSTER, "broker-a", "0", broker.addr]
    doc = mqadmin_json("clusterList", "-n", ns)
    assert doc["brokers"] == [{"cluster": CLUSTER, "brokerName": "broker-a",
                               "brokerId": 0, "addr": broker.addr}]

    table = mqadmin("brokerStatus", "-n", ns, "-b", broker.addr,
                    check=0).stdout
    assert table.startswith("#Key")
    doc = mqadmin_json("brokerStatus", "-n", ns, "-b", broker.addr)
    assert doc["brokerAddr"] == broker.addr
    assert doc["table"], "the broker reports runtime info"
    for key in doc["table"]:
        assert key in table


def test_cluster_list_of_one_cluster(cluster):
    cluster.start_namesrv()
    ns = cluster.namesrv_addr
    a = cluster.start_broker("broker-a")
    b = cluster.start_broker("broker-b", cluster="OtherCluster")
    wait_until(lambda: len(mqadmin_json("clusterList", "-n", ns)["brokers"])
               == 2, timeout_s=20, what="both brokers registered")
    doc = mqadmin_json("clusterList", "-n", ns, "-c", "OtherCluster")
    assert doc["brokers"] == [{"cluster": "OtherCluster",
                               "brokerName": "broker-b", "brokerId": 0,
                               "addr": b.addr}]
    table = mqadmin("clusterList", "-n", ns, "--clusterName", CLUSTER,
                    check=0).stdout.splitlines()
    assert [line.split() for line in table[1:]] == [
        [CLUSTER, "broker-a", "0", a.addr]]
    result = mqadmin("clusterList", "-n", ns, "-c", "NoSuchCluster", check=1)
    assert ("cluster [NoSuchCluster] does not exist; known: "
            f"{CLUSTER}, OtherCluster") in result.stderr
    assert result.stdout == ""


def test_get_broker_config_shows_what_each_broker_runs_with(cluster):
    cluster.start_namesrv()
    ns = cluster.namesrv_addr
    master = cluster.start_broker("broker-a", flushDiskType="SYNC_FLUSH")
    slave = cluster.start_broker("broker-a", broker_id=1, brokerRole="SLAVE")
    wait_until(lambda: len(mqadmin_json("clusterList", "-n", ns)["brokers"])
               == 2, timeout_s=20, what="master and slave registered")

    doc = mqadmin_json("getBrokerConfig", "-n", ns, "-b", master.addr)
    (entry,) = doc["brokers"]
    config = entry["config"]
    assert entry["brokerAddr"] == master.addr
    assert config["flushDiskType"] == "SYNC_FLUSH"
    assert config["brokerName"] == "broker-a"
    assert config["listenPort"] == master.addr.rsplit(":", 1)[1]
    # Defaults too, with the broker's and the store's keys in one table.
    assert config["defaultTopicQueueNums"] == "4"
    assert config["fileReservedTime"] == "72"
    with cometmq.Admin(ns) as admin:
        assert admin.broker_config(master.addr) == config

    text = mqadmin("getBrokerConfig", "-n", ns, "-c", CLUSTER,
                   check=0).stdout
    blocks = text.split("\n\n")
    assert [b.splitlines()[0] for b in blocks] == [
        f"============{master.addr}============",
        f"============{slave.addr}============"]
    assert "brokerRole" in blocks[1] and "SLAVE" in blocks[1]
    assert re.search(r"^flushDiskType\s+SYNC_FLUSH$", blocks[0], re.M)

    result = mqadmin("getBrokerConfig", "-n", ns, check=2)
    assert "exactly one of -b BROKERADDR and -c CLUSTER" in result.stderr
    result = mqadmin("getBrokerConfig", "-n", ns, "-c", "Nope", check=1)
    assert "cluster [Nope] does not exist" in result.stderr


def test_messages_offsets_and_consumer_progress(cluster):
    ns, _ = start(cluster)
    mqadmin("updateTopic", "-n", ns, "-c", CLUSTER, "-t", "AdminMsgs", "-r",
            "2", "-w", "2", check=0)
    before = int(time.time() * 1000)
    sent = []
    with cometmq.Producer(group="admin-pg", namesrv=ns) as p:
        for i in range(6):
            sent.append(p.send("AdminMsgs", f"body-{i}".encode(),
                               keys=[f"key-{i % 2}"]))

    one = sent[3]
    table = mqadmin("queryMsgById", "-n", ns, "-i", one.offset_msg_id,
                    check=0).stdout
    assert "body-3" in table and one.msg_id in table
    doc = mqadmin_json("queryMsgById", "-n", ns, "-t", "AdminMsgs", "-i",
                       one.offset_msg_id)
    assert doc["body"] == "body-3"
    assert doc["topic"] == "AdminMsgs"
    assert doc["msgId"] == one.msg_id
    assert doc["keys"] == ["key-1"]
    assert doc["queueId"] == one.queue_id
    assert doc["brokerName"] == "broker-a"
    result = mqadmin("queryMsgById", "-n", ns, "-t", "Other", "-i",
                     one.offset_msg_id, check=1)
    assert "AdminMsgs" in result.stderr

    doc = mqadmin_json("queryMsgByKey", "-n", ns, "-t", "AdminMsgs", "-k",
                       "key-0")
    assert sorted(m["body"] for m in doc["messages"]) == [
        "body-0", "body-2", "body-4"]
    table = mqadmin("queryMsgByKey", "-n", ns, "-t", "AdminMsgs", "-k",
                    "key-1", check=0).stdout
    assert len(table.splitlines()) == 1 + 3
    assert sent[1].msg_id in table
    assert mqadmin_json("queryMsgByKey", "-n", ns, "-t", "AdminMsgs", "-k",
                        "nobody")["messages"] == []

    # Reset the (consumer-less) group to before the first message: the whole
    # topic is its lag.
    # RocketMQ's date form (local time) is accepted too.
    earlier = time.strftime("%Y-%m-%d#%H:%M:%S:000",
                            time.localtime(before / 1000 - 60))
    doc = mqadmin_json("resetOffsetByTime", "-n", ns, "-g", "admin-cg", "-t",
                       "AdminMsgs", "-s", earlier)
    assert sorted(q["queueId"] for q in doc["queues"]) == [0, 1]
    assert all(q["offset"] == 0 for q in doc["queues"])
    progress = mqadmin_json("consumerProgress", "-n", ns, "-g", "admin-cg",
                            "-t", "AdminMsgs")
    assert progress["diffTotal"] == 6
    assert sum(q["brokerOffset"] for q in progress["queues"]) == 6
    table = mqadmin("consumerProgress", "-n", ns, "-g", "admin-cg", check=0)
    assert "Diff Total: 6" in table.stdout
    assert "AdminMsgs" in table.stdout

    # Reset to now: nothing left to consume.
    table = mqadmin("resetOffsetByTime", "-n", ns, "-g", "admin-cg", "-t",
                    "AdminMsgs", "-s", "now", check=0).stdout
    assert "#Offset" in table
    progress = mqadmin_json("consumerProgress", "-n", ns, "-g", "admin-cg")
    assert progress["diffTotal"] == 0
    assert {q["topic"] for q in progress["queues"]} == {"AdminMsgs"}


def test_update_sub_group(cluster):
    ns, broker = start(cluster)
    doc = mqadmin_json("updateSubGroup", "-n", ns, "-c", CLUSTER, "-g",
                       "admin-sub", "-s", "false", "-r", "3", "-q", "2")
    assert doc == {"groupName": "admin-sub", "consumeEnable": False,
                   "retryMaxTimes": 3, "retryQueueNums": 2,
                   "brokers": [broker.addr]}
    # The broker persists the group before it answers.
    path = os.path.join(broker.store, "config", "subscriptionGroup.json")
    with open(path) as f:
        assert "admin-sub=0,3,2" in f.read().split()

    out = mqadmin("updateSubGroup", "-n", ns, "-b", broker.addr, "-g",
                  "admin-sub", check=0).stdout
    assert f"create subscription group [admin-sub] to {broker.addr}" in out
    with open(path) as f:
        assert "admin-sub=1,16,1" in f.read().split()


def test_namesrv_from_environment(cluster):
    ns, broker = start(cluster)
    result = mqadmin("clusterList", "--json", env={"NAMESRV_ADDR": ns},
                     check=0)
    assert json.loads(result.stdout)["brokers"][0]["addr"] == broker.addr


def test_unreachable_namesrv_names_the_address():
    dead = f"127.0.0.1:{free_port()}"
    for args in (["clusterList"], ["topicList"], ["topicRoute", "-t", "T"],
                 ["updateTopic", "-c", CLUSTER, "-t", "T"]):
        result = mqadmin(*args, "-n", dead)
        assert result.returncode == 1, result
        assert dead in result.stderr, result.stderr
        assert result.stdout == ""
    # brokerStatus asks the broker itself.
    result = mqadmin("brokerStatus", "-n", dead, "-b", dead, check=1)
    assert dead in result.stderr


def test_unknown_topic_is_a_clear_error(cluster):
    ns, _ = start(cluster)
    for command in ("topicRoute", "topicStatus"):
        result = mqadmin(command, "-n", ns, "-t", "NoSuchTopic", check=1)
        assert "topic [NoSuchTopic] does not exist" in result.stderr
        assert result.stdout == ""
        result = mqadmin(command, "-n", ns, "-t", "NoSuchTopic", "--json",
                         check=1)
        assert result.stdout == ""


def test_usage_help_and_bad_arguments():
    result = mqadmin(check=0)
    assert "usage: mqadmin" in result.stdout
    for name in ("updateTopic", "deleteTopic", "topicList", "topicRoute",
                 "topicStatus", "clusterList", "brokerStatus",
                 "consumerProgress", "queryMsgById", "queryMsgByKey",
                 "resetOffsetByTime", "updateSubGroup"):
        assert name in result.stdout
    assert mqadmin("help", check=0).stdout == result.stdout
    assert "--topic" in mqadmin("help", "topicRoute", check=0).stdout

    result = mqadmin("noSuchCommand", check=2)
    assert "unknown subcommand 'noSuchCommand'" in result.stderr
    assert "usage: mqadmin" in result.stderr

    result = mqadmin("topicRoute", "-n", "127.0.0.1:1", "-t", "T", "-z", "1",
                     check=2)
    assert "unknown option '-z'" in result.stderr
    assert "usage: mqadmin topicRoute" in result.stderr

    result = mqadmin("topicRoute", "-t", "T", check=2)
    assert "NAMESRV_ADDR" in result.stderr

    result = mqadmin("updateTopic", "-n", "127.0.0.1:1", "-t", "T", "-c",
                     CLUSTER, "-r", "many", check=2)
    assert "-r needs an integer" in result.stderr

    result = mqadmin("updateSubGroup", "-n", "127.0.0.1:1", "-g", "G",
                     check=2)
    assert "exactly one of -c CLUSTER and -b BROKERADDR" in result.stderr


def route_of(ns, topic):
    return mqadmin_json("topicRoute", "-n", ns, "-t", topic)


def test_update_topic_perm_read_only_refuses_sends_and_serves_pulls(cluster):
    ns, broker = start(cluster)
    mqadmin("updateTopic", "-n", ns, "-c", CLUSTER, "-t", "ReadOnlyT", "-r",
            "2", "-w", "2", check=0)
    with cometmq.Producer(group="perm-pg", namesrv=ns) as p:
        for i in range(3):
            p.send("ReadOnlyT", f"m{i}".encode())

        doc = mqadmin_json("updateTopic", "-n", ns, "-c", CLUSTER, "-t",
                           "ReadOnlyT", "-r", "2", "-w", "2", "-p", "4",
                           "-o", "true")
        assert doc["perm"] == 4 and doc["order"] is True
        route = route_of(ns, "ReadOnlyT")
        assert route["queueDatas"][0]["perm"] == 4
        assert route["queueDatas"][0]["order"] is True
        assert route["orderTopicConf"] == "broker-a:2"
        table = mqadmin("topicRoute", "-n", ns, "-t", "ReadOnlyT",
                        check=0).stdout
        assert "#Perm  #Order" in table
        assert table.splitlines()[-1].split() == ["broker-a", "2", "2", "R",
                                                  "true"]

        # This producer's cached route still says writable: the broker
        # refuses; a new producer's route already says read only.
        try:
            p.send("ReadOnlyT", b"refused")
            raise AssertionError("a send to a read-only topic was accepted")
        except cometmq.NoPermissionError as e:
            assert e.code == 16
            assert "the topic[ReadOnlyT] sending message is forbidden" in (
                e.remark)
    with cometmq.Producer(group="perm-pg2", namesrv=ns) as p:
        try:
            p.send("ReadOnlyT", b"refused")
            raise AssertionError("a send to a read-only topic was accepted")
        except cometmq.NoPermissionError as e:
            assert e.code == 16
            assert "sending message is forbidden" in e.remark
    status = mqadmin_json("topicStatus", "-n", ns, "-t", "ReadOnlyT")
    assert sum(q["maxOffset"] for q in status["queues"]) == 3

    # Reads are still served: a new group consumes what was sent before.
    got = Collector()
    consumer = push_consumer(cluster, "perm-ro-cg", "ReadOnlyT", got)
    try:
        wait_until(lambda: got.count() >= 3, 20, "reads of a read-only topic")
        assert sorted(got.bodies()) == [b"m0", b"m1", b"m2"]
        assert len([q for q in consumer.owned_queues()
                    if q.startswith("ReadOnlyT@")]) == 2
        doc = mqadmin_json("topicList", "-n", ns, "-c")
        entry = [t for t in doc["topics"] if t["topic"] == "ReadOnlyT"]
        assert entry == [{"cluster": CLUSTER, "topic": "ReadOnlyT",
                          "consumerGroups": ["perm-ro-cg"], "order": True}]
    finally:
        consumer.shutdown()

    # Perm and order are the broker's topic config: kept across a restart.
    with open(os.path.join(broker.store, "config", "topics.json")) as f:
        assert "ReadOnlyT=2,2,4,1" in f.read().split()
    broker.restart()
    wait_until(lambda: route_of(ns, "ReadOnlyT")["queueDatas"][0]["perm"] == 4,
               20, "the restarted broker's route")
    route = route_of(ns, "ReadOnlyT")
    assert route["queueDatas"][0]["order"] is True
    with cometmq.Producer(group="perm-pg3", namesrv=ns) as p:
        try:
            p.send("ReadOnlyT", b"refused")
            raise AssertionError("a send to a read-only topic was accepted")
        except cometmq.NoPermissionError:
            pass
        # -p 6 -o false opens it again.
        mqadmin("updateTopic", "-n", ns, "-c", CLUSTER, "-t", "ReadOnlyT",
                "-r", "2", "-w", "2", "-p", "6", "-o", "false", check=0)
        p.send("ReadOnlyT", b"open again")
    route = route_of(ns, "ReadOnlyT")
    assert route["queueDatas"][0]["perm"] == 6
    assert route["queueDatas"][0]["order"] is False
    assert route["orderTopicConf"] == ""


def test_update_topic_perm_write_only_refuses_pulls(cluster):
    ns, _ = start(cluster)
    mqadmin("updateTopic", "-n", ns, "-c", CLUSTER, "-t", "WriteOnlyT", "-r",
            "1", "-w", "1", check=0)
    got = Collector()
    consumer = push_consumer(cluster, "perm-wo-cg", "WriteOnlyT", got)
    try:
        with cometmq.Producer(group="perm-wo-pg", namesrv=ns) as p:
            p.send("WriteOnlyT", b"while readable")
            wait_until(lambda: got.count() == 1, 20, "the first message")

            # This consumer holds the queue from its route: the broker
            # refuses its pulls, while sends are still taken.
            mqadmin("updateTopic", "-n", ns, "-c", CLUSTER, "-t",
                    "WriteOnlyT", "-r", "1", "-w", "1", "-p", "2", check=0)
            assert route_of(ns, "WriteOnlyT")["queueDatas"][0]["perm"] == 2
            for i in range(2):
                p.send("WriteOnlyT", f"w{i}".encode())
            status = mqadmin_json("topicStatus", "-n", ns, "-t", "WriteOnlyT")
            assert status["queues"][0]["maxOffset"] == 3

            # A consumer started now sees no readable queue at all.
            late_got = Collector()
            late = push_consumer(cluster, "perm-wo-late", "WriteOnlyT",
                                 late_got)
            try:
                assert [q for q in late.owned_queues()
                        if q.startswith("WriteOnlyT@")] == []
                # Nothing arrives while the topic is write only (long
                # enough for several refused pulls of the first consumer).
                deadline = time.monotonic() + 4
                while time.monotonic() < deadline:
                    assert got.count() == 1 and late_got.count() == 0
                    time.sleep(0.1)
            finally:
                late.shutdown()

            mqadmin("updateTopic", "-n", ns, "-c", CLUSTER, "-t",
                    "WriteOnlyT", "-r", "1", "-w", "1", "-p", "6", check=0)
            wait_until(lambda: got.count() == 3, 20,
                       "the messages sent while write only")
            assert sorted(got.bodies()) == [b"w0", b"w1", b"while readable"]
    finally:
        consumer.shutdown()


def test_update_topic_bad_perm_and_order_values(cluster):
    ns, _ = start(cluster)
    for value in ("7", "0", "1", "3", "rw", ""):
        result = mqadmin("updateTopic", "-n", ns, "-c", CLUSTER, "-t", "BadT",
                         "-p", value, check=2)
        assert (f"-p must be 2 (write only), 4 (read only) or 6 (read and "
                f"write), got '{value}'") in result.stderr
        assert "usage: mqadmin updateTopic" in result.stderr
    for value in ("maybe", "1", "yes"):
        result = mqadmin("updateTopic", "-n", ns, "-c", CLUSTER, "-t", "BadT",
                         "-o", value, check=2)
        assert f"-o must be true or false, got '{value}'" in result.stderr
    # Nothing was created by the refused commands.
    result = mqadmin("topicRoute", "-n", ns, "-t", "BadT", check=1)
    assert "topic [BadT] does not exist" in result.stderr
    help_text = mqadmin("help", "updateTopic", check=0).stdout
    assert "-p PERM, --perm" in help_text and "-o true|false" in help_text


def test_topic_list_cluster_model(cluster):
    ns, _ = start(cluster)
    mqadmin("updateTopic", "-n", ns, "-c", CLUSTER, "-t", "ListedT", "-r",
            "1", "-w", "1", check=0)
    mqadmin("updateTopic", "-n", ns, "-c", CLUSTER, "-t", "UnreadT", "-r",
            "1", "-w", "1", check=0)
    with cometmq.Producer(group="list-pg", namesrv=ns) as p:
        p.send("ListedT", b"x")
    # Two groups: one online, one that only committed an offset.
    got = Collector()
    consumer = push_consumer(cluster, "list-online", "ListedT", got)
    try:
        mqadmin("resetOffsetByTime", "-n", ns, "-g", "list-offline", "-t",
                "ListedT", "-s", "now", check=0)
        table = mqadmin("topicList", "-n", ns, "-c", check=0).stdout
        lines = [line.split() for line in table.splitlines()]
        assert lines[0] == ["#Cluster", "Name", "#Topic", "#Consumer",
                            "Group"]
        assert [CLUSTER, "ListedT", "list-offline"] in lines
        assert [CLUSTER, "ListedT", "list-online"] in lines
        assert [CLUSTER, "UnreadT"] in lines  # no group: an empty cell
        assert not any(cell.startswith(("%RETRY%", "%DLQ%"))
                       for line in lines for cell in line)
        doc = mqadmin_json("topicList", "-n", ns, "-c")
        by_topic = {t["topic"]: t for t in doc["topics"]}
        assert by_topic["ListedT"] == {
            "cluster": CLUSTER, "topic": "ListedT",
            "consumerGroups": ["list-offline", "list-online"],
            "order": False}
        assert by_topic["UnreadT"]["consumerGroups"] == []
        # Without -c: the plain list, unchanged.
        assert "ListedT" in mqadmin_json("topicList", "-n", ns)["topics"]
        result = mqadmin("topicList", "-n", ns, "-c", "x", check=2)
        assert "unexpected argument 'x'" in result.stderr
    finally:
        consumer.shutdown()


def read_line(proc, deadline):
    """One line of `proc`'s stdout, failing the test at `deadline`."""
    line = b""
    while not line.endswith(b"\n"):
        left = deadline - time.monotonic()
        assert left > 0, f"no output from mqadmin in time (got {line!r})"
        ready, _, _ = select.select([proc.stdout], [], [], left)
        if ready:
            chunk = os.read(proc.stdout.fileno(), 1)
            assert chunk, f"mqadmin ended early: {line!r}"
            line += chunk
    return line.decode()


def test_cluster_list_more_stats_and_interval(cluster):
    ns, broker = start(cluster)
    with cometmq.Producer(group="stats-pg", namesrv=ns) as p:
        for _ in range(3):
            p.send("StatsT", b"x")
    table = mqadmin("clusterList", "-n", ns, "-m", check=0).stdout
    lines = table.splitlines()
    assert re.split(r"\s{2,}", lines[0]) == [
        "#Cluster Name", "#Broker Name", "#BID", "#Addr", "#Role", "#InTotal",
        "#OutTotal", "#InTPS", "#OutTPS", "#Disk Ratio"]
    assert lines[1].split()[:5] == [CLUSTER, "broker-a", "0", broker.addr,
                                    "ASYNC_MASTER"]
    doc = mqadmin_json("clusterList", "-n", ns, "-m")
    (entry,) = doc["brokers"]
    assert entry["role"] == "ASYNC_MASTER"
    assert entry["inTotal"] >= 3
    assert entry["inTps"] is None  # one round: no rate yet
    ratio = float(entry["diskRatio"])
    assert 0 <= ratio <= 1

    # -i: a document every second until SIGINT / SIGTERM, which end it with 0.
    for sig in (signal.SIGINT, signal.SIGTERM):
        proc = subprocess.Popen(
            [os.path.join(bin_dir(), "mqadmin"), "clusterList", "-n", ns,
             "-m", "-i", "1", "--json"], stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
            env=mqadmin_env())
        try:
            deadline = time.monotonic() + 20
            first = json.loads(read_line(proc, deadline))
            second = json.loads(read_line(proc, deadline))
            assert first["brokers"][0]["inTps"] is None
            assert second["brokers"][0]["inTps"] is not None
            assert second["brokers"][0]["inTps"] >= 0
            proc.send_signal(sig)
            assert proc.wait(10) == 0, proc.stderr.read()
            assert proc.stderr.read() == b""
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            proc.stdout.close()
            proc.stderr.close()

    for value in ("0", "-1", "x"):
        result = mqadmin("clusterList", "-n", ns, "-i", value, check=2)
        assert "-i" in result.stderr
    result = mqadmin("clusterList", "-n", ns, "-m", "5", check=2)
    assert "unexpected argument '5'" in result.stderr
