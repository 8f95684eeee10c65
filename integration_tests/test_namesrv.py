"""NameServer processes: boot, graceful stop, independent instances."""

import signal

from cluster import free_port


def test_namesrv_boots_and_stops_on_sigterm(cluster):
    node = cluster.start_namesrv()
    assert any("listen=" in line for line in node.stdout_lines)
    assert node.stop() == 0
    assert not node.running


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
