"""mqadmin finds a message by the msg id its producer got back (RocketMQ's
UNIQ_KEY), as a RocketMQ 4.9 user does with queryMsgByUniqueKey and
queryMsgById -t, against real mqnamesrv/mqbroker processes."""

import json
import signal

import cometmq

from helpers import mqadmin, push_consumer, wait_until
from test_replication import FAST_BROKER, wait_caught_up

CLUSTER = "DefaultCluster"


def mqadmin_json(*args):
    """Runs `mqadmin ARGS --json`, which must succeed; returns the document."""
    return json.loads(mqadmin(*args, "--json", check=0).stdout)


def wait_indexed(ns, *brokers):
    """Until each broker has put every message it stored into its consume
    queues and key index, which it does just after acknowledging the send."""
    with cometmq.Admin(namesrv=ns) as admin:
        for broker in brokers:
            wait_until(lambda: admin.broker_status(broker.addr)[
                "dispatchBehindBytes"] == "0", what=f"{broker.addr} indexed")


def never_sent(msg_id):
    """An id of the same form as `msg_id` that no producer handed out."""
    return msg_id[:-4] + ("0000" if msg_id[-4:] != "0000" else "FFFF")


def test_producer_msg_id_found_on_every_broker(cluster):
    cluster.start_namesrv()
    brokers = [cluster.start_broker("broker-a"),
               cluster.start_broker("broker-b")]
    ns = cluster.namesrv_addr
    mqadmin("updateTopic", "-n", ns, "-c", CLUSTER, "-t", "Lookup", "-r", "2",
            "-w", "2", check=0)
    wait_until(lambda: len(mqadmin_json("topicRoute", "-n", ns, "-t",
                                        "Lookup")["brokerDatas"]) == 2,
               what="Lookup on both brokers")
    with cometmq.Producer(group="lookup-pg", namesrv=ns) as p:
        sent = [p.send("Lookup", f"body-{i}".encode(), keys=[f"k{i}"])
                for i in range(8)]
        # A user key spelled like another message's msg id: the index holds
        # both under that string, only the UNIQ_KEY property counts.
        decoy = p.send("Lookup", b"decoy", keys=[sent[0].msg_id])
    assert {r.broker_name for r in sent} == {"broker-a", "broker-b"}
    wait_indexed(ns, *brokers)

    for i, result in enumerate(sent):
        doc = mqadmin_json("queryMsgByUniqueKey", "-n", ns, "-t", "Lookup",
                           "-i", result.msg_id)
        assert doc["topic"] == "Lookup" and doc["msgId"] == result.msg_id
        [found] = doc["messages"]
        assert found["body"] == f"body-{i}"
        assert found["msgId"] == result.msg_id
        assert found["offsetMsgId"] == result.offset_msg_id
        assert found["brokerName"] == result.broker_name
        assert found["queueId"] == result.queue_id
        assert found["queueOffset"] == result.queue_offset
        # queryMsgById takes it too once it knows the topic (RocketMQ 4.9's
        # viewMessage(topic, msgId)).
        doc = mqadmin_json("queryMsgById", "-n", ns, "-t", "Lookup", "-i",
                           result.msg_id)
        assert doc["body"] == f"body-{i}"
        assert doc["offsetMsgId"] == result.offset_msg_id
    by_key = mqadmin_json("queryMsgByKey", "-n", ns, "-t", "Lookup", "-k",
                          sent[0].msg_id)
    assert sorted(m["body"] for m in by_key["messages"]) == ["body-0",
                                                             "decoy"]
    assert decoy.msg_id != sent[0].msg_id

    table = mqadmin("queryMsgByUniqueKey", "-n", ns, "-t", "Lookup", "-i",
                    sent[5].msg_id, check=0).stdout
    assert "body-5" in table and sent[5].offset_msg_id in table
    # RocketMQ's -a (show all copies) is accepted.
    mqadmin("queryMsgByUniqueKey", "-n", ns, "-t", "Lookup", "-i",
            sent[5].msg_id, "-a", check=0)
    # The offset message id still works with and without -t.
    doc = mqadmin_json("queryMsgById", "-n", ns, "-i", sent[5].offset_msg_id)
    assert doc["msgId"] == sent[5].msg_id


def test_wrong_ids_are_clear_errors(cluster):
    cluster.start_namesrv()
    cluster.start_broker()
    ns = cluster.namesrv_addr
    with cometmq.Producer(group="lookup-pg", namesrv=ns) as p:
        result = p.send("Lookup", b"only")
    missing = never_sent(result.msg_id)

    for command in ("queryMsgByUniqueKey", "queryMsgById"):
        for args in ([], ["--json"]):
            run = mqadmin(command, "-n", ns, "-t", "Lookup", "-i", missing,
                          *args, check=1)
            assert run.stdout == ""
            assert "no message in topic [Lookup] has" in run.stderr
            assert missing in run.stderr
        run = mqadmin(command, "-n", ns, "-t", "NoSuchTopic", "-i",
                      result.msg_id, check=1)
        assert "topic [NoSuchTopic] does not exist" in run.stderr
    run = mqadmin("queryMsgById", "-n", ns, "-t", "Lookup", "-i", "nonsense",
                  check=1)
    assert "no message in topic [Lookup] has id [nonsense]" in run.stderr

    # Without -t a producer's msg id cannot be found; the error says why.
    run = mqadmin("queryMsgById", "-n", ns, "-i", result.msg_id, check=1)
    assert "a producer's msg id (the msgId of its SendResult) needs -t TOPIC" \
        in run.stderr, run.stderr
    assert run.stdout == ""
    run = mqadmin("queryMsgById", "-n", ns, "-i", "nonsense", check=2)
    assert "needs -t TOPIC" in run.stderr

    # queryMsgByUniqueKey needs its topic.
    run = mqadmin("queryMsgByUniqueKey", "-n", ns, "-i", result.msg_id,
                  check=2)
    assert "usage: mqadmin queryMsgByUniqueKey" in run.stderr


def test_every_stored_copy_of_a_msg_id_is_shown(cluster):
    # A dead letter re-sent to its topic is stored again under the msg id
    # its producer got, as a send retried after a timeout is.
    cluster.start_namesrv()
    broker = cluster.start_broker()
    ns = cluster.namesrv_addr

    def fail(msg):
        return False

    with cometmq.Producer(group="lookup-pg", namesrv=ns) as p:
        first = p.send("Twice", b"again", keys=["kt"])
    consumer = push_consumer(cluster, "lookup-cg", "Twice", fail,
                             max_reconsume_times=0)
    try:
        with cometmq.Admin(namesrv=ns) as admin:
            resent = []
            wait_until(lambda: resent.extend(admin.resend_dlq("lookup-cg"))
                       or resent, timeout_s=30, what="the dead letter")
    finally:
        consumer.shutdown()
    assert [r["msg_id"] for r in resent] == [first.msg_id]
    wait_indexed(ns, broker)

    doc = mqadmin_json("queryMsgByUniqueKey", "-n", ns, "-t", "Twice", "-i",
                       first.msg_id)
    copies = doc["messages"]
    assert [m["body"] for m in copies] == ["again", "again"]
    assert [m["msgId"] for m in copies] == [first.msg_id] * 2
    # Oldest first: the producer's own copy, then the re-sent one.
    assert copies[0]["offsetMsgId"] == first.offset_msg_id
    assert copies[1]["queueOffset"] == resent[0]["queue_offset"]
    assert copies[0]["offsetMsgId"] != copies[1]["offsetMsgId"]
    table = mqadmin("queryMsgByUniqueKey", "-n", ns, "-t", "Twice", "-i",
                    first.msg_id, check=0).stdout
    assert table.count(first.msg_id) == 2
    # queryMsgById -t shows one message: the oldest copy.
    doc = mqadmin_json("queryMsgById", "-n", ns, "-t", "Twice", "-i",
                       first.msg_id)
    assert doc["offsetMsgId"] == first.offset_msg_id


def test_message_at_a_queue_offset(cluster):
    # RocketMQ's QueryMsgByOffsetSubCommand pulls as TOOLS_CONSUMER, a group
    # its brokers have even when they create no groups on demand.
    cluster.start_namesrv()
    broker = cluster.start_broker(autoCreateSubscriptionGroup="false")
    ns = cluster.namesrv_addr
    mqadmin("updateTopic", "-n", ns, "-c", CLUSTER, "-t", "ByOffset", "-r",
            "2", "-w", "2", check=0)
    with cometmq.Producer(group="lookup-pg", namesrv=ns) as p:
        sent = [p.send("ByOffset", f"body-{i}".encode(), tags=f"t{i}")
                for i in range(6)]
    assert {r.queue_id for r in sent} == {0, 1}
    wait_indexed(ns, broker)

    for i, r in enumerate(sent):
        doc = mqadmin_json("queryMsgByOffset", "-n", ns, "-t", "ByOffset",
                           "-b", r.broker_name, "-i", str(r.queue_id), "-o",
                           str(r.queue_offset))
        assert doc["body"] == f"body-{i}" and doc["tags"] == f"t{i}"
        assert doc["msgId"] == r.msg_id
        assert doc["offsetMsgId"] == r.offset_msg_id
        assert (doc["queueId"], doc["queueOffset"]) == (r.queue_id,
                                                        r.queue_offset)
        assert doc["brokerName"] == "broker-a"
    table = mqadmin("queryMsgByOffset", "-n", ns, "-t", "ByOffset", "-b",
                    "broker-a", "-i", str(sent[0].queue_id), "-o",
                    str(sent[0].queue_offset), check=0).stdout
    assert "body-0" in table and sent[0].msg_id in table

    def fails(*args, status=1):
        run = mqadmin("queryMsgByOffset", "-n", ns, *args, check=status)
        assert run.stdout == ""
        return run.stderr

    assert ("queue 0 of topic [ByOffset] on broker [broker-a] holds no "
            "message at offset 99 (it holds offsets [0, 3))") in fails(
                "-t", "ByOffset", "-b", "broker-a", "-i", "0", "-o", "99")
    assert "topic [ByOffset] has no broker [broker-z]; its brokers: " \
        "broker-a" in fails("-t", "ByOffset", "-b", "broker-z", "-i", "0",
                            "-o", "0")
    assert "queueId[7] is illegal" in fails("-t", "ByOffset", "-b",
                                            "broker-a", "-i", "7", "-o", "0")
    assert "topic [NoSuchTopic] does not exist" in fails(
        "-t", "NoSuchTopic", "-b", "broker-a", "-i", "0", "-o", "0")
    assert "-o must be a queue offset" in fails(
        "-t", "ByOffset", "-b", "broker-a", "-i", "0", "-o", "-1", status=2)
    assert "-i must be a queue id" in fails(
        "-t", "ByOffset", "-b", "broker-a", "-i", "-1", "-o", "0", status=2)
    assert "usage: mqadmin queryMsgByOffset" in fails(
        "-t", "ByOffset", "-b", "broker-a", "-i", "0", status=2)


def lookups(ns, topic, result, body):
    """queryMsgByUniqueKey, queryMsgById -t and queryMsgByOffset all find
    the message `result` says was sent."""
    doc = mqadmin_json("queryMsgByUniqueKey", "-n", ns, "-t", topic, "-i",
                       result.msg_id)
    assert [m["body"] for m in doc["messages"]] == [body]
    doc = mqadmin_json("queryMsgById", "-n", ns, "-t", topic, "-i",
                       result.msg_id)
    assert doc["body"] == body
    doc = mqadmin_json("queryMsgByOffset", "-n", ns, "-t", topic, "-b",
                       result.broker_name, "-i", str(result.queue_id), "-o",
                       str(result.queue_offset))
    assert doc["msgId"] == result.msg_id


def test_lookups_read_the_slave_when_the_master_is_down(cluster):
    cluster.start_namesrv()
    master = cluster.start_broker(brokerRole="ASYNC_MASTER", **FAST_BROKER)
    slave = cluster.start_broker(broker_id=1, brokerRole="SLAVE",
                                 **FAST_BROKER)
    ns = cluster.namesrv_addr
    with cometmq.Producer(group="lookup-pg", namesrv=ns) as p:
        sent = [p.send("Replicated", f"body-{i}".encode()) for i in range(2)]
    with cometmq.Admin(namesrv=ns) as admin:
        wait_caught_up(admin, master, slave)
    wait_indexed(ns, master, slave)

    # A hung master stays in the NameServers' routes: each lookup waits for
    # it once (the request timeout), then asks the slave.
    master.pause()
    try:
        route = mqadmin_json("topicRoute", "-n", ns, "-t", "Replicated")
        assert "0" in route["brokerDatas"][0]["brokerAddrs"]
        lookups(ns, "Replicated", sent[0], "body-0")
    finally:
        master.resume()

    # A killed master leaves the routes: the slave is asked at once.
    master.kill(signal.SIGKILL)
    wait_until(lambda: "0" not in mqadmin_json(
        "topicRoute", "-n", ns, "-t", "Replicated")["brokerDatas"][0][
            "brokerAddrs"], what="the master out of the route")
    lookups(ns, "Replicated", sent[1], "body-1")


def test_offset_msg_id_is_read_from_the_slave_while_the_master_hangs(
        cluster):
    # The slave holds the master's commit log at the same offsets, so it
    # answers for an offset message id (which names the master's address)
    # while the master does not. Without -t the lookup failed with the
    # master's timeout; with -t it said no message had that id at all (the
    # fallback to a producer's msg id asked the slave's index, which has no
    # such key).
    cluster.start_namesrv()
    master = cluster.start_broker(brokerRole="ASYNC_MASTER", **FAST_BROKER)
    slave = cluster.start_broker(broker_id=1, brokerRole="SLAVE",
                                 **FAST_BROKER)
    ns = cluster.namesrv_addr
    with cometmq.Producer(group="lookup-pg", namesrv=ns) as p:
        sent = p.send("Replicated", b"by-offset-id")
    with cometmq.Admin(namesrv=ns) as admin:
        wait_caught_up(admin, master, slave)

    master.pause()
    try:
        for topic_args in ([], ["-t", "Replicated"]):
            doc = mqadmin_json("queryMsgById", "-n", ns, *topic_args, "-i",
                               sent.offset_msg_id)
            assert doc["body"] == "by-offset-id", topic_args
            assert doc["offsetMsgId"] == sent.offset_msg_id
            assert doc["brokerName"] == "broker-a"
    finally:
        master.resume()


def test_offset_msg_id_of_a_broker_registered_by_host_name(cluster):
    # A broker whose brokerIP1 is a host name registers as that name but
    # writes 127.0.0.1 into its offset message ids (it says so at start).
    # queryMsgById took such an id for no broker of the cluster: "no broker
    # registered with the NameServers is at 127.0.0.1:PORT".
    cluster.start_namesrv()
    cluster.start_broker(brokerIP1="localhost")
    ns = cluster.namesrv_addr
    with cometmq.Producer(group="lookup-pg", namesrv=ns) as p:
        sent = p.send("ByHostName", b"named-host")
    assert sent.offset_msg_id.startswith("7F000001")
    for topic_args in ([], ["-t", "ByHostName"]):
        doc = mqadmin_json("queryMsgById", "-n", ns, *topic_args, "-i",
                           sent.offset_msg_id)
        assert doc["body"] == "named-host", topic_args
        assert doc["brokerName"] == "broker-a"


def test_python_query_message_is_not_fooled_by_a_key_equal_to_the_msg_id(
        cluster):
    # A consumer that sends on with keys=[the msg id it handles] (to trace
    # the chain) indexes a newer message under the same string: looking the
    # msg id up found only that newer message's key and returned it.
    cluster.start_namesrv()
    broker = cluster.start_broker()
    ns = cluster.namesrv_addr
    with cometmq.Producer(group="lookup-pg", namesrv=ns) as p:
        first = p.send("Chain", b"first")
        p.send("Chain", b"follow-up", keys=[first.msg_id])
    wait_indexed(ns, broker)
    with cometmq.Admin(namesrv=ns) as admin:
        assert admin.query_message("Chain", first.msg_id).body == b"first"
        assert [m.body for m in admin.query_by_unique_key(
            "Chain", first.msg_id)] == [b"first"]
        assert admin.query_by_unique_key("Chain", never_sent(
            first.msg_id)) == []
