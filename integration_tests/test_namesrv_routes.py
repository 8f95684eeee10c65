"""NameServer routes as a broker's registrations change them, through the
real mqnamesrv, mqbroker and mqadmin binaries."""

import os
import subprocess

from cluster import bin_dir
from helpers import mqadmin, wait_until

CLUSTER = "DefaultCluster"


def has_route(namesrv, topic):
    result = mqadmin("topicRoute", "-n", namesrv, "-t", topic)
    assert result.returncode in (0, 1), result.stderr
    return result.returncode == 0


def test_topic_deleted_on_the_broker_leaves_every_namesrv_route(cluster):
    # deleteTopic given one NameServer of two: the other only learns of it
    # from the broker, whose registration no longer lists the topic.
    told = cluster.start_namesrv()
    other = cluster.start_namesrv()
    cluster.start_broker()
    result = mqadmin("updateTopic", "-n", cluster.namesrv_addr, "-c", CLUSTER,
                     "-t", "Doomed", "-r", "2", "-w", "2")
    assert result.returncode == 0, result.stderr
    result = mqadmin("updateTopic", "-n", cluster.namesrv_addr, "-c", CLUSTER,
                     "-t", "Kept", "-r", "2", "-w", "2")
    assert result.returncode == 0, result.stderr
    wait_until(lambda: has_route(other.addr, "Doomed"), 20,
               "the topic's route on the second NameServer")

    result = mqadmin("deleteTopic", "-n", told.addr, "-c", CLUSTER,
                     "-t", "Doomed")
    assert result.returncode == 0, result.stderr
    assert not has_route(told.addr, "Doomed")
    # The broker registers again at once when a topic changes.
    wait_until(lambda: not has_route(other.addr, "Doomed"), 15,
               "the deleted topic to leave the second NameServer's routes")
    assert has_route(other.addr, "Kept")

    # Deleting it again is an error: it is in no route any more.
    result = mqadmin("deleteTopic", "-n", cluster.namesrv_addr, "-c", CLUSTER,
                     "-t", "Doomed")
    assert result.returncode == 1
    assert "topic [Doomed] does not exist" in result.stderr


def test_broker_registers_with_namesrv_addr_from_the_environment(
        cluster, monkeypatch):
    # RocketMQ's quick start exports NAMESRV_ADDR; a broker given no other
    # address must register there, not start a NameServer of its own that
    # no client asks.
    namesrv = cluster.start_namesrv()
    monkeypatch.setenv("NAMESRV_ADDR", namesrv.addr)
    broker = cluster.start_broker(namesrvAddr="")
    assert any(f"name server is {namesrv.addr}" in line
               for line in broker.stdout_lines), broker.stdout_lines
    wait_until(lambda: broker.addr in mqadmin(
        "clusterList", "-n", namesrv.addr).stdout, 15,
               "the broker in the NameServer's cluster list")


def test_bad_namesrv_addr_in_the_environment_is_named(tmp_path):
    env = dict(os.environ, NAMESRV_ADDR="localhost")
    result = subprocess.run(
        [os.path.join(bin_dir(), "mqbroker"),
         f"--storePathRootDir={tmp_path / 'store'}",
         f"--logDir={tmp_path / 'logs'}"],
        capture_output=True, text=True, env=env, timeout=30,
        stdin=subprocess.DEVNULL)
    assert result.returncode == 2, result.stderr
    assert "$NAMESRV_ADDR: name server address 'localhost'" in result.stderr
