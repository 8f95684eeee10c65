"""Small helpers for integration tests: collecting consumers, waiting."""

import json
import os
import subprocess
import threading
import time

import cometmq

from cluster import bin_dir


def wait_until(predicate, timeout_s=60, what="condition"):
    """Polls `predicate` until true; fails the test after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")
        time.sleep(0.02)


class Collector:
    """A thread-safe listener that records every delivery."""

    def __init__(self, name=""):
        self.name = name
        self.lock = threading.Lock()
        self.messages = []

    def __call__(self, msg):
        with self.lock:
            self.messages.append(msg)
        return True

    def bodies(self):
        with self.lock:
            return [m.body for m in self.messages]

    def count(self):
        with self.lock:
            return len(self.messages)


class AlwaysFail:
    """A listener that hands every message back ("consume later") and
    records `record(msg)` for each call (its reconsume count by default)."""

    def __init__(self, record=lambda msg: msg.reconsume_times):
        self.lock = threading.Lock()
        self._calls = []
        self._record = record

    def __call__(self, msg):
        with self.lock:
            self._calls.append(self._record(msg))
        return False

    def calls(self):
        with self.lock:
            return list(self._calls)


def push_consumer(cluster, group, topic, listener, expression="*",
                  **options):
    """A started push consumer of `topic` (from its first offset unless
    `consume_from` says otherwise); `options` are PushConsumer arguments."""
    options.setdefault("consume_from", "FIRST_OFFSET")
    c = cometmq.PushConsumer(group=group, namesrv=cluster.namesrv_addr,
                             **options)
    c.subscribe(topic, expression)
    c.register_listener(listener)
    c.start()
    return c


def mqadmin_env(extra=None):
    """The environment for running mqadmin: this one without NAMESRV_ADDR
    (so only `-n` names NameServers), plus `extra`."""
    env = dict(os.environ)
    env.pop("NAMESRV_ADDR", None)
    env.update(extra or {})
    return env


def mqadmin(*args, env=None, check=None):
    """Runs mqadmin; `check` = the exit status expected (asserted)."""
    result = subprocess.run(
        [os.path.join(bin_dir(), "mqadmin"), *args], capture_output=True,
        text=True, env=mqadmin_env(env), timeout=60, stdin=subprocess.DEVNULL)
    if check is not None:
        assert result.returncode == check, (
            f"mqadmin {' '.join(args)} exited {result.returncode}, expected "
            f"{check}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}")
    return result


def create_topic(ns, topic, queues):
    """Creates `topic` with `queues` read and write queues on every master
    of DefaultCluster (mqadmin updateTopic)."""
    mqadmin("updateTopic", "-n", ns, "-c", "DefaultCluster", "-t", topic,
            "-r", str(queues), "-w", str(queues), check=0)


def send_numbered(producer, topic, prefix, count):
    """Sends bodies `prefix`0 .. `prefix`count-1, each acknowledged."""
    for i in range(count):
        assert producer.send(topic, b"%s%d" % (prefix, i)).status == "SEND_OK"


def consumer_progress(ns, group, topic):
    """mqadmin consumerProgress --json: (total lag, (broker name, queue id)
    -> the group's consumer offset)."""
    result = mqadmin("consumerProgress", "-n", ns, "-g", group, "-t", topic,
                     "--json", check=0)
    table = json.loads(result.stdout)
    return table["diffTotal"], {
        (q["brokerName"], q["queueId"]): q["consumerOffset"]
        for q in table["queues"]}
