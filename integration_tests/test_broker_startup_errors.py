"""mqbroker given settings it cannot run with: a clear message naming the
key and exit status 2 before anything starts, never a broker that crashes
or misbehaves later."""

import os
import subprocess

import pytest

from cluster import bin_dir, free_port
from helpers import mqadmin


def run_refused(argv, what):
    """Runs `argv` expecting it to refuse to start; returns (code, out, err)
    and fails the test if it keeps running."""
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            stdin=subprocess.DEVNULL)
    try:
        out, err = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        pytest.fail(f"{what} kept running; stdout:\n{out}")
    return proc.returncode, out, err


def run_broker(tmp_path, *args):
    """Runs mqbroker expecting it to refuse to start; returns the result."""
    argv = [os.path.join(bin_dir(), "mqbroker"),
            f"--listenPort={free_port(pairs=2)}", "--brokerIP1=127.0.0.1",
            f"--storePathRootDir={tmp_path / 'store'}",
            f"--logDir={tmp_path / 'logs'}", *args]
    return run_refused(argv, f"mqbroker {args}")


@pytest.mark.parametrize("setting,key", [
    # A zero slot count divided by zero at the first message (SIGFPE).
    ("maxHashSlotNum=0", "maxHashSlotNum"),
    ("maxIndexNum=0", "maxIndexNum"),
    ("flushIntervalCommitLog=-1", "flushIntervalCommitLog"),
    ("cleanResourceInterval=0", "cleanResourceInterval"),
    ("fileReservedTime=-1", "fileReservedTime"),
    ("diskMaxUsedSpaceRatio=150", "diskMaxUsedSpaceRatio"),
    ("diskSpaceWarningLevelRatio=90", "diskSpaceWarningLevelRatio"),
    # These were refused, but only once the broker was starting (status 1).
    ("deleteWhen=25", "deleteWhen"),
    ("mappedFileSizeCommitLog=-5", "mappedFileSizeCommitLog"),
    # RocketMQ keys for what the broker does not do were only warned about:
    # an ACL-less broker open to everyone, messages on another disk.
    ("aclEnable=true", "aclEnable"),
    ("storePathCommitLog=/elsewhere/commitlog", "storePathCommitLog"),
])
def test_unusable_store_setting_is_a_configuration_error(tmp_path, setting,
                                                          key):
    code, out, err = run_broker(tmp_path, "-n", "127.0.0.1:9", f"--{setting}")
    assert code == 2, f"exit {code}\nstdout:\n{out}\nstderr:\n{err}"
    assert "bad configuration" in err and key in err, err
    assert "boot success" not in out


@pytest.mark.parametrize("addrs", ["abc", "127.0.0.1", "127.0.0.1:9876,x",
                                   ";"])
def test_name_server_address_that_is_not_host_port_is_refused(tmp_path,
                                                               addrs):
    # Before, the broker ran registered with no NameServer, saying so only
    # in its log, and no client could find it.
    code, out, err = run_broker(tmp_path, "-n", addrs)
    assert code == 2, f"exit {code}\nstdout:\n{out}\nstderr:\n{err}"
    assert "bad configuration" in err and "host:port" in err, err
    assert "boot success" not in out


def test_mqadmin_name_server_address_that_is_not_host_port_is_bad_usage():
    result = mqadmin("topicList", "-n", "abc")
    assert result.returncode == 2, result.stderr
    assert "'abc' is not host:port" in result.stderr


@pytest.mark.parametrize("program", ["mqbroker", "mqnamesrv"])
def test_config_file_that_is_a_directory_is_refused(tmp_path, program):
    # Say `-c conf/2m-2s-sync` for one of its files: before, the directory
    # read as an empty file and the process ran on every default.
    conf_dir = tmp_path / "2m-2s-sync"
    conf_dir.mkdir()
    argv = [os.path.join(bin_dir(), program), "-c", str(conf_dir),
            f"--listenPort={free_port(pairs=2)}",
            f"--logDir={tmp_path / 'logs'}"]
    if program == "mqbroker":
        argv += ["-n", "127.0.0.1:9", f"--storePathRootDir={tmp_path / 's'}"]
    code, _, err = run_refused(argv, f"{program} -c DIR")
    assert code == 2, err
    assert f"cannot read config file {conf_dir}" in err, err
    assert "Is a directory" in err, err
