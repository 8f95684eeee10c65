"""The example master/slave configs (conf/2m-2s-sync, conf/2m-2s-async)
started by the real tools/cluster.sh: two masters and two slaves register,
each slave replicates its master's messages, and `cluster.sh stop` leaves no
process behind."""

import json
import os
import signal
import subprocess

import pytest

import cometmq

from cluster import bin_dir, free_port
from helpers import wait_until

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(ROOT, "tools", "cluster.sh")
CLUSTER = "DefaultCluster"
# Port offsets of broker-a, broker-a-s, broker-b, broker-b-s from the lowest
# listenPort in the files (10911, 10921, 10931, 10941).
LAYOUT = {("broker-a", 0): 0, ("broker-a", 1): 10, ("broker-b", 0): 20,
          ("broker-b", 1): 30}
# Small files keep four stores light; the rest is the example's own config.
BROKER_ARGS = ["--brokerIP1=127.0.0.1", "--mappedFileSizeCommitLog=8388608",
               "--maxHashSlotNum=10000", "--maxIndexNum=40000"]


def run(argv, env, timeout=90):
    return subprocess.run(argv, env=env, capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


def alive(pid, name):
    """True while `pid` is a running process named `name` (an exited one
    waiting to be reaped does not count)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return False
    return (stat.startswith(f"{pid} ({name}) ")
            and not stat.rsplit(") ", 1)[1].startswith("Z"))


class ScriptCluster:
    """One config set run by tools/cluster.sh on free ports under tmp_path."""

    def __init__(self, config_set, tmp_path):
        self.config_set = config_set
        self.ns = f"127.0.0.1:{free_port()}"
        self.base = free_port(pairs=32)
        self.log_root = str(tmp_path / "logs")
        self.env = dict(os.environ)
        self.env.update({
            "COMETMQ_BIN_DIR": bin_dir(),
            "COMETMQ_NAMESRV_PORT": self.ns.split(":")[1],
            "COMETMQ_BROKER_PORT": str(self.base),
            "COMETMQ_STORE_ROOT": str(tmp_path / "store"),
            "COMETMQ_LOG_ROOT": self.log_root,
        })
        self.pids = []  # (pid, name) of every process start recorded

    def start(self):
        result = run(["bash", SCRIPT, "start",
                      os.path.join(ROOT, "conf", self.config_set),
                      *BROKER_ARGS], self.env)
        self._read_pids()
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    def _read_pids(self):
        path = os.path.join(self.log_root, "cluster.pids")
        if os.path.exists(path):
            with open(path) as f:
                self.pids = [(int(line.split()[1]), line.split()[2])
                             for line in f if line.strip()]

    def stop(self):
        return run(["bash", SCRIPT, "stop"], self.env)

    def kill_leftovers(self):
        """After a failed test: SIGKILL whatever the script started."""
        for pid, name in self.pids:
            if alive(pid, name):
                os.kill(pid, signal.SIGKILL)

    def addr(self, broker_name, broker_id):
        return f"127.0.0.1:{self.base + LAYOUT[(broker_name, broker_id)]}"

    def mqadmin_json(self, *args):
        result = run([os.path.join(bin_dir(), "mqadmin"), *args, "-n", self.ns,
                      "--json"], self.env, timeout=30)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    def status(self, broker_name, broker_id):
        return self.mqadmin_json(
            "brokerStatus", "-b", self.addr(broker_name, broker_id))["table"]


@pytest.fixture
def script_cluster(tmp_path):
    clusters = []

    def make(config_set):
        clusters.append(ScriptCluster(config_set, tmp_path))
        return clusters[-1]

    yield make
    for c in clusters:
        try:
            c.stop()
        finally:
            c.kill_leftovers()


def caught_up(c, name):
    """The master of `name` has one slave, which acked everything the master
    holds, and the slave agrees."""
    master = c.status(name, 0)
    slave = c.status(name, 1)
    end = int(master["commitLogMaxOffset"])
    return (master.get("haSlaveCount") == "1"
            and master.get("haSlave1Addr") == c.addr(name, 1)
            and int(master["haSlave1AckOffset"]) == end
            and master["haSlave1LagMessages"] == "0"
            and slave["haConnected"] == "true"
            and int(slave["haReplicatedOffset"]) == end
            and int(slave["commitLogMaxOffset"]) == end)


@pytest.mark.parametrize("config_set,role", [("2m-2s-sync", "SYNC_MASTER"),
                                             ("2m-2s-async", "ASYNC_MASTER")])
def test_config_set_replicates_and_stops_cleanly(script_cluster, config_set,
                                                 role):
    c = script_cluster(config_set)
    out = c.start()
    assert "bash tools/cluster.sh stop" in out and c.log_root in out
    assert len(c.pids) == 5

    brokers = c.mqadmin_json("clusterList")["brokers"]
    assert sorted((b["brokerName"], b["brokerId"], b["addr"])
                  for b in brokers) == sorted(
                      (name, bid, c.addr(name, bid)) for name, bid in LAYOUT)
    assert {b["cluster"] for b in brokers} == {CLUSTER}
    for name in ("broker-a", "broker-b"):
        assert c.status(name, 0)["brokerRole"] == role
        assert c.status(name, 1)["brokerRole"] == "SLAVE"
        # A slave finds its master's HA port through the NameServer.
        wait_until(lambda n=name: c.status(n, 0).get("haSlaveCount") == "1",
                   timeout_s=15, what=f"{name}'s slave to connect")

    c.mqadmin_json("updateTopic", "-c", CLUSTER, "-t", "ReplicatedT", "-r",
                   "4", "-w", "4")
    with cometmq.Producer(group="cluster-configs-pg", namesrv=c.ns) as p:
        results = [p.send("ReplicatedT", f"m-{i}".encode()) for i in range(40)]
    # Every slave is connected, so even a SYNC_MASTER answers SEND_OK.
    assert {r.status for r in results} == {"SEND_OK"}
    assert {r.broker_name for r in results} == {"broker-a", "broker-b"}
    if role == "SYNC_MASTER":
        # The answer came after the slave had the message.
        for name in ("broker-a", "broker-b"):
            master = c.status(name, 0)
            assert master["haSlave1LagBytes"] == "0", master
    for name in ("broker-a", "broker-b"):
        wait_until(lambda n=name: caught_up(c, n), timeout_s=15,
                   what=f"{name}'s slave to catch up")
        assert int(c.status(name, 0)["msgPutTotal"]) > 0

    result = c.stop()
    assert result.returncode == 0, result.stdout + result.stderr
    left = [(pid, name) for pid, name in c.pids if alive(pid, name)]
    assert not left, f"processes left running: {left}"
    assert not os.path.exists(os.path.join(c.log_root, "cluster.pids"))
    for (name, bid) in LAYOUT:
        folder = name if bid == 0 else f"{name}-s"
        with open(os.path.join(c.log_root, config_set, folder,
                               "broker.log")) as f:
            assert "shut down cleanly" in f.read(), folder
    assert "no cluster" in c.stop().stdout
