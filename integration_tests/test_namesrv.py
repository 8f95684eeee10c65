"""NameServer processes: boot, graceful stop, independent instances."""

import os
import signal

import cometmq

from cluster import free_port
from helpers import wait_until


def test_namesrv_boots_and_stops_on_sigterm(cluster):
    node = cluster.start_namesrv()
    assert any("listen=" in line for line in node.stdout_lines)
    assert node.stop() == 0
    assert not node.running


def test_namesrv_stops_quietly_while_brokers_register(cluster):
    """SIGTERM (what `mqshutdown namesrv` sends) while brokers register
    every 10 ms: exit status 0 and no warning, error or route change in the
    NameServer's log; it does not log the brokers whose connections it
    closes itself as leaving. The brokers keep running."""
    ns = cluster.start_namesrv()
    brokers = [cluster.start_broker(name, registerBrokerIntervalMillis=10)
               for name in ("broker-a", "broker-b")]
    admin = cometmq.Admin(namesrv=ns.addr)
    wait_until(lambda: len(admin.cluster_list()["brokers"]) == 2,
               what="both brokers registered")
    admin.shutdown()
    assert ns.stop() == 0
    with open(os.path.join(ns.log_dir, "namesrv.log")) as f:
        # Timestamped lines only (the configuration dump spans lines).
        noisy = [line for line in f if line[:2] == "20" and (
            " info " not in line or "removed brokers" in line)]
    assert noisy == []
    assert all(b.running for b in brokers)


def test_two_namesrvs_run_side_by_side_and_stop_cleanly(cluster):
    a = cluster.start_namesrv()
    b = cluster.start_namesrv()
    assert a.addr != b.addr
    assert a.kill(signal.SIGKILL) == -signal.SIGKILL
    assert b.running
    assert b.stop() == 0


def test_bad_config_value_is_rejected_with_its_location(cluster, tmp_path):
    conf = tmp_path / "namesrv.conf"
    conf.write_text(f"listenPort = {free_port()}\nbrokerExpiredMillis = soon\n")
    import subprocess
    from cluster import bin_dir
    result = subprocess.run(
        [bin_dir() + "/mqnamesrv", "-c", str(conf)],
        capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert f"{conf}:2" in result.stderr
    assert "brokerExpiredMillis" in result.stderr
