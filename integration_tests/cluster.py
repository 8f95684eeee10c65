"""Starts real mqnamesrv / mqbroker processes for integration tests.

Every node runs on free loopback ports with its own temporary store and log
directory. Readiness is the process's own boot line on stdout, never a sleep.
Cluster.close() stops every process it started, even after a failure, and
checks that none is left running.
"""

import ctypes
import os
import random
import re
import signal
import socket
import subprocess
import threading
import time

BOOT_TIMEOUT_S = 60
_PR_SET_PDEATHSIG = 1
_libc = ctypes.CDLL(None, use_errno=True)


def _die_with_parent():
    """Runs in the child before exec: if the test process dies (even by
    SIGKILL), the kernel kills the node too, so none is left behind."""
    _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def bin_dir():
    """Directory holding mqnamesrv and mqbroker (COMETMQ_BIN_DIR)."""
    path = os.environ.get("COMETMQ_BIN_DIR")
    if not path:
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        path = subprocess.check_output(
            ["bazel", "info", "-c", "opt", "bazel-bin"], cwd=root,
            text=True).strip() + "/cpp"
    return path


_ports = random.Random()  # its own generator: tests seed theirs


def _outgoing_port_range():
    """The ports the kernel gives outgoing connections (their local end)."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            low, high = (int(x) for x in f.read().split())
        return low, high
    except (OSError, ValueError):
        return 32768, 60999


def _candidate_port(pairs):
    """A port to try, below the outgoing range when there is room: a port
    in that range can be taken by some client's connection while its node
    is down between a kill and a restart, and the restart then fails with
    "address already in use"."""
    low, _ = _outgoing_port_range()
    if low - pairs > 10000 + 1000:
        return _ports.randrange(10000, low - pairs)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_port(pairs=1):
    """A free loopback port p such that p..p+pairs-1 are all free."""
    for _ in range(200):
        port = _candidate_port(pairs)
        if port + pairs >= 65535:
            continue
        ok = True
        for p in range(port, port + pairs):
            with socket.socket() as t:
                try:
                    t.bind(("127.0.0.1", p))
                except OSError:
                    ok = False
        if ok:
            return port
    raise RuntimeError("no free port")


class Node:
    """One server process: start, stop, kill, restart, pause, resume."""

    def __init__(self, name, argv, log_path, ready_pattern):
        self.name = name
        self.argv = argv
        self.log_path = log_path
        self.ready_pattern = re.compile(ready_pattern)
        self.proc = None
        self.stdout_lines = []
        self._ready = threading.Event()
        self._reader = None

    def start(self):
        self.start_async()
        deadline = time.monotonic() + BOOT_TIMEOUT_S
        while not self._ready.wait(0.05):
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited with {self.proc.returncode} before "
                    f"it was ready; log: {self.log_path}")
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"{self.name} not ready after {BOOT_TIMEOUT_S}s; "
                    f"log: {self.log_path}")
        return self

    def start_async(self):
        """Starts the process without waiting for it to be ready."""
        self._ready.clear()
        self.stdout_lines = []
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            self.argv, stdout=subprocess.PIPE, stderr=log,
            stdin=subprocess.DEVNULL, start_new_session=True,
            preexec_fn=_die_with_parent)
        log.close()
        self._reader = threading.Thread(
            target=self._read_stdout, args=(self.proc,), daemon=True)
        self._reader.start()
        return self

    def _read_stdout(self, proc):
        for raw in proc.stdout:
            line = raw.decode(errors="replace").rstrip("\n")
            self.stdout_lines.append(line)
            if self.ready_pattern.search(line):
                self._ready.set()
        proc.stdout.close()

    @property
    def ready(self):
        """True once the process printed its boot line."""
        return self._ready.is_set()

    @property
    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def send_signal(self, sig):
        if self.running:
            self.proc.send_signal(sig)

    def stop(self, timeout=30):
        """SIGTERM and wait; returns the exit code."""
        if self.proc is None:
            return None
        if self.running:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        finally:
            if self._reader is not None:
                self._reader.join(5)

    def kill(self, sig=signal.SIGKILL):
        """Sends `sig` (SIGKILL by default); waits if it is fatal."""
        if not self.running:
            return None
        self.proc.send_signal(sig)
        if sig in (signal.SIGKILL, signal.SIGTERM, signal.SIGINT):
            return self.proc.wait(30)
        return None

    def pause(self):
        """SIGSTOP, returning once every thread has stopped: a signal is
        delivered asynchronously, and a thread still running could answer
        a request sent right after this returns."""
        if not self.running:
            return
        self.proc.send_signal(signal.SIGSTOP)
        deadline = time.monotonic() + 10
        while not self._all_threads_stopped():
            if not self.running:
                raise RuntimeError(f"{self.name} exited instead of stopping")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} did not stop on SIGSTOP")
            time.sleep(0.001)

    def _all_threads_stopped(self):
        task_dir = f"/proc/{self.proc.pid}/task"
        try:
            tids = os.listdir(task_dir)
        except FileNotFoundError:
            return False  # reaped: running says so
        for tid in tids:
            try:
                with open(f"{task_dir}/{tid}/stat") as f:
                    # The state follows the command name, which is in
                    # parentheses and may itself hold spaces.
                    state = f.read().rsplit(")", 1)[1].split()[0]
            except (FileNotFoundError, ProcessLookupError):
                continue  # the thread exited
            if state not in ("T", "t"):
                return False
        return True

    def resume(self):
        self.send_signal(signal.SIGCONT)

    def restart(self):
        if self.running:
            self.stop()
        return self.start()

    def force_cleanup(self):
        if self.running:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.kill()
            self.proc.wait(30)


class Cluster:
    """NameServers and brokers of one test, under one temporary directory."""

    def __init__(self, root):
        self.root = str(root)
        self.nodes = []
        self.namesrvs = []
        self.brokers = []

    def _node(self, name, argv, ready):
        log_dir = os.path.join(self.root, name, "logs")
        os.makedirs(log_dir, exist_ok=True)
        node = Node(name, argv + [f"--logDir={log_dir}"],
                    os.path.join(log_dir, "stderr.log"), ready)
        node.log_dir = log_dir
        self.nodes.append(node)
        return node

    def start_namesrv(self, **overrides):
        port = free_port()
        name = f"namesrv-{len(self.namesrvs)}"
        argv = [os.path.join(bin_dir(), "mqnamesrv"), f"--listenPort={port}"]
        argv += [f"--{k}={v}" for k, v in overrides.items()]
        node = self._node(name, argv, r"The Name Server boot success")
        node.addr = f"127.0.0.1:{port}"
        self.namesrvs.append(node)
        return node.start()

    def start_broker(self, name="broker-a", broker_id=0, cluster="DefaultCluster",
                     start=True, **overrides):
        """A broker registered with every NameServer of the cluster.

        Files are small (8 MiB commit log segments) so tests stay light;
        `overrides` are broker.conf keys, e.g. flushDiskType="SYNC_FLUSH".
        The disk-usage limits are raised near 100%: how full the machine's
        disk is must not make retention delete a test's messages or the
        store refuse writes (tests of those limits set their own).
        """
        port = free_port(pairs=2)
        node_name = f"{name}-{broker_id}"
        store = os.path.join(self.root, node_name, "store")
        conf = {
            "brokerClusterName": cluster,
            "brokerName": name,
            "brokerId": broker_id,
            "listenPort": port,
            "brokerIP1": "127.0.0.1",
            "storePathRootDir": store,
            "mappedFileSizeCommitLog": 8 * 1024 * 1024,
            "maxHashSlotNum": 10000,
            "maxIndexNum": 40000,
            "namesrvAddr": self.namesrv_addr,
            "diskMaxUsedSpaceRatio": 99,
            "diskSpaceCleanForciblyRatio": 0.99,
            "diskSpaceWarningLevelRatio": 0.995,
        }
        conf.update(overrides)
        conf_path = os.path.join(self.root, node_name + ".conf")
        os.makedirs(os.path.dirname(conf_path), exist_ok=True)
        with open(conf_path, "w") as f:
            for k, v in conf.items():
                f.write(f"{k} = {v}\n")
        argv = [os.path.join(bin_dir(), "mqbroker"), "-c", conf_path]
        node = self._node(node_name, argv, r"The broker\[.*boot success")
        node.addr = f"127.0.0.1:{port}"
        node.store = store
        node.conf_path = conf_path
        self.brokers.append(node)
        return node.start() if start else node

    @property
    def namesrv_addr(self):
        return ";".join(n.addr for n in self.namesrvs)

    def close(self):
        """Stops every node; raises if one could not be stopped."""
        left = []
        for node in self.nodes:
            try:
                node.stop(timeout=30)
            except subprocess.TimeoutExpired:
                node.force_cleanup()
            if node.running:
                left.append(node.name)
        if left:
            raise RuntimeError(f"processes left running: {left}")

    def logs(self):
        return [n.log_path for n in self.nodes]
