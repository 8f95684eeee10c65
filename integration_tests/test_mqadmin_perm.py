"""Taking a broker out of service with the real mqadmin: updateBrokerConfig
brokerPermission (RocketMQ's UPDATE_BROKER_CONFIG) and wipeWritePerm /
addWritePerm on the NameServers, against a two-broker cluster."""

import json

import pytest

import cometmq

from helpers import Collector, mqadmin, push_consumer, wait_until

CLUSTER = "DefaultCluster"
TOPIC = "PermT"


def mqadmin_json(*args):
    """Runs `mqadmin ARGS --json`, which must succeed; returns the document."""
    return json.loads(mqadmin(*args, "--json", check=0).stdout)


def start_two_brokers(cluster, namesrvs=1):
    for _ in range(namesrvs):
        cluster.start_namesrv()
    a = cluster.start_broker("broker-a")
    b = cluster.start_broker("broker-b")
    mqadmin("updateTopic", "-n", cluster.namesrv_addr, "-c", CLUSTER, "-t",
            TOPIC, "-r", "4", "-w", "4", check=0)
    return a, b


def route_perms(ns):
    """broker name -> perm of TOPIC in the route the NameServers give."""
    route = mqadmin_json("topicRoute", "-n", ns, "-t", TOPIC)
    return {q["brokerName"]: q["perm"] for q in route["queueDatas"]}


def send_many(producer, count, prefix):
    """Sends `count` messages; returns the broker name of each (every send
    must succeed: a failure raises)."""
    names = []
    for i in range(count):
        result = producer.send(TOPIC, f"{prefix}{i}".encode())
        assert result.status == "SEND_OK"
        names.append(result.broker_name)
    return names


def broker_permission(ns, broker):
    config = mqadmin_json("getBrokerConfig", "-n", ns, "-b", broker.addr)
    return config["brokers"][0]["config"]["brokerPermission"]


def test_read_only_broker_takes_no_sends_serves_reads_and_stays_so(cluster):
    a, _ = start_two_brokers(cluster)
    ns = cluster.namesrv_addr
    with cometmq.Producer(group="pg", namesrv=ns) as p:
        before = send_many(p, 16, "before")
        assert "broker-a" in before and "broker-b" in before

        out = mqadmin("updateBrokerConfig", "-n", ns, "-b", a.addr, "-k",
                      "brokerPermission", "-v", "4", check=0).stdout
        assert out == f"update broker config success, {a.addr}\n"
        # Registered before the answer: the route already says read-only.
        assert route_perms(ns) == {"broker-a": 4, "broker-b": 6}
        assert broker_permission(ns, a) == "4"

        # This producer's route still has broker-a writable: its sends there
        # are refused and retried on broker-b, none fails.
        during = send_many(p, 16, "during")
        assert set(during) == {"broker-b"}

    # Consumers still read everything, broker-a's messages included.
    got = Collector()
    c = push_consumer(cluster, "cg", TOPIC, got)
    try:
        wait_until(lambda: got.count() >= 32, what="every message")
    finally:
        c.shutdown()
    assert sorted(got.bodies()) == sorted(
        [f"before{i}".encode() for i in range(16)]
        + [f"during{i}".encode() for i in range(16)])
    assert {m.broker_name for m in got.messages} == {"broker-a", "broker-b"}

    # Persisted: the restarted broker is still read-only.
    assert "brokerPermission=4" in open(a.conf_path).read().splitlines()
    a.restart()
    assert broker_permission(ns, a) == "4"
    wait_until(lambda: route_perms(ns).get("broker-a") == 4,
               what="broker-a registered again, read-only")
    with cometmq.Producer(group="pg2", namesrv=ns) as p:
        assert set(send_many(p, 8, "restarted")) == {"broker-b"}

    # Writable again: new routes send to broker-a too.
    mqadmin("updateBrokerConfig", "-n", ns, "-c", CLUSTER, "-k",
            "brokerPermission", "-v", "6", check=0)
    assert route_perms(ns) == {"broker-a": 6, "broker-b": 6}
    with cometmq.Producer(group="pg3", namesrv=ns) as p:
        assert "broker-a" in send_many(p, 16, "after")


def test_bad_key_or_value_changes_nothing(cluster):
    a, _ = start_two_brokers(cluster)
    ns = cluster.namesrv_addr
    conf = open(a.conf_path).read()
    cases = [
        ("brokerPermision", "4", "unknown key 'brokerPermision' (did you "
                                 "mean 'brokerPermission'?)"),
        ("listenPort", "1234", "key 'listenPort' cannot change while the "
                               "broker runs"),
        ("brokerPermission", "rw", "'rw' is not a 32-bit integer"),
        ("brokerPermission", "9", "brokerPermission must be 0..7"),
    ]
    for key, value, message in cases:
        result = mqadmin("updateBrokerConfig", "-n", ns, "-b", a.addr, "-k",
                         key, "-v", value, check=1)
        assert message in result.stderr, result.stderr
        assert result.stdout == ""
    assert open(a.conf_path).read() == conf
    assert broker_permission(ns, a) == "6"
    assert route_perms(ns) == {"broker-a": 6, "broker-b": 6}


def test_wipe_and_add_write_perm_on_every_namesrv(cluster):
    a, _ = start_two_brokers(cluster, namesrvs=2)
    ns = cluster.namesrv_addr
    ns1, ns2 = ns.split(";")
    # Topics of broker-a: PermT, plus the ones every broker has (its own
    # name, the cluster's, the system topics); the count is per NameServer.
    out = mqadmin("wipeWritePerm", "-n", ns, "-b", "broker-a",
                  check=0).stdout.splitlines()
    assert len(out) == 2
    for line, addr in zip(out, (ns1, ns2)):
        assert line.startswith(
            f"wipe write perm of broker[broker-a] in name server[{addr}] OK, ")
    count = int(out[0].rsplit(" ", 1)[1])
    assert count >= 1 and out[1].endswith(f"OK, {count}")
    for one in (ns1, ns2):
        assert route_perms(one) == {"broker-a": 4, "broker-b": 6}

    with cometmq.Producer(group="pg", namesrv=ns) as p:
        assert set(send_many(p, 16, "wiped")) == {"broker-b"}

    # broker-a registers again (a topic change makes it do so at once);
    # the wipe holds, as the operator expects while draining it.
    mqadmin("updateTopic", "-n", ns, "-b", a.addr, "-t", "NewOnA", check=0)
    wait_until(lambda: "NewOnA" in mqadmin_json("topicList", "-n", ns1)
               ["topics"], what="broker-a's registration")
    assert route_perms(ns1) == {"broker-a": 4, "broker-b": 6}

    doc = mqadmin_json("addWritePerm", "-n", ns, "-b", "broker-a")
    assert doc["brokerName"] == "broker-a"
    assert [n["namesrvAddr"] for n in doc["namesrvs"]] == [ns1, ns2]
    assert all(n["topicCount"] == count + 1 for n in doc["namesrvs"])
    for one in (ns1, ns2):
        assert route_perms(one) == {"broker-a": 6, "broker-b": 6}
    with cometmq.Producer(group="pg2", namesrv=ns) as p:
        assert "broker-a" in send_many(p, 16, "added")


def test_wipe_write_perm_reports_a_namesrv_that_fails(cluster):
    cluster.start_namesrv()
    cluster.start_broker("broker-a")
    ns = cluster.namesrv_addr
    dead = "127.0.0.1:1"
    result = mqadmin("wipeWritePerm", "-n", f"{ns};{dead}", "-b", "broker-a",
                     check=1)
    lines = result.stdout.splitlines()
    assert lines[0].startswith(
        f"wipe write perm of broker[broker-a] in name server[{ns}] OK, ")
    assert lines[1].startswith(
        f"wipe write perm of broker[broker-a] in name server[{dead}] Failed")


def test_python_admin_takes_a_broker_out_of_service_and_back(cluster):
    # The same operations through cometmq.Admin.
    for _ in range(2):
        cluster.start_namesrv()
    a = cluster.start_broker("broker-a")
    cluster.start_broker("broker-b")
    ns = cluster.namesrv_addr
    with cometmq.Admin(namesrv=ns) as admin:
        admin.create_topic(TOPIC, read_queues=4, write_queues=4)
        wait_until(lambda: route_perms(ns) == {"broker-a": 6, "broker-b": 6},
                   what="the topic on both brokers")

        admin.update_broker_config(a.addr, "brokerPermission", 4)
        assert route_perms(ns) == {"broker-a": 4, "broker-b": 6}
        assert admin.broker_config(a.addr)["brokerPermission"] == "4"
        with pytest.raises(cometmq.MQClientError, match="brokerPermision"):
            admin.update_broker_config(a.addr, "brokerPermision", 6)
        with pytest.raises(cometmq.MQClientError):
            admin.update_broker_config(a.addr, "listenPort", 10000)
        admin.update_broker_config(a.addr, "brokerPermission", "6")
        assert route_perms(ns) == {"broker-a": 6, "broker-b": 6}

        wiped = admin.wipe_write_perm("broker-b")
        assert sorted(wiped) == sorted(ns.split(";"))
        assert all(count >= 1 for count in wiped.values())
        assert route_perms(ns) == {"broker-a": 6, "broker-b": 4}
        restored = admin.add_write_perm("broker-b")
        assert restored == wiped
        assert route_perms(ns) == {"broker-a": 6, "broker-b": 6}
