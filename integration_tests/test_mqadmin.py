"""The real mqadmin binary against real mqnamesrv/mqbroker processes: every
subcommand in table and --json form, and its errors."""

import json
import os
import subprocess
import time

import cometmq

from cluster import bin_dir, free_port

CLUSTER = "DefaultCluster"


def mqadmin(*args, env=None, check=None):
    """Runs mqadmin; `check` = the exit status expected (asserted)."""
    run_env = dict(os.environ)
    run_env.pop("NAMESRV_ADDR", None)
    if env:
        run_env.update(env)
    result = subprocess.run(
        [os.path.join(bin_dir(), "mqadmin"), *args], capture_output=True,
        text=True, env=run_env, timeout=60, stdin=subprocess.DEVNULL)
    if check is not None:
        assert result.returncode == check, (
            f"mqadmin {' '.join(args)} exited {result.returncode}, expected "
            f"{check}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}")
    return result


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
                   "readQueueNums": 2, "writeQueueNums": 2, "success": True}
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
