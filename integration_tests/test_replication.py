"""Master/slave replication and failover through real processes.

Each broker group is a master (brokerId 0) and a slave (brokerId 1) with the
same brokerName; the slave follows the master's commit log over the HA port.
"""

import signal
import threading
import time

import cometmq

from helpers import Collector, wait_until

SEGMENT = 8 * 1024 * 1024
FAST_NAMESRV = {"brokerExpiredMillis": 3000,
                "scanNotActiveBrokerIntervalMillis": 500}
FAST_BROKER = {"registerBrokerIntervalMillis": 1000,
               "slaveSyncIntervalMillis": 500,
               "flushConsumerOffsetInterval": 1000}


def start_group(cluster, name="broker-a", role="SYNC_MASTER", slave=True,
                **overrides):
    """A master and (optionally) its slave, the slave connected."""
    conf = dict(FAST_BROKER, **overrides)
    master = cluster.start_broker(name=name, broker_id=0, brokerRole=role,
                                  **conf)
    node = None
    if slave:
        node = cluster.start_broker(name=name, broker_id=1,
                                    brokerRole="SLAVE", **conf)
    return master, node


def status(admin, broker):
    return admin.broker_status(broker.addr)


def promote_slave(cluster, admin, master, slave):
    """The manual failover: SIGKILL the master, stop its slave, and start
    the slave's store again as broker-a's master; returns the new master
    once the NameServer routes to it."""
    master.kill(signal.SIGKILL)
    assert slave.stop() == 0
    promoted = cluster.start_broker(
        name="broker-a", broker_id=0, brokerRole="ASYNC_MASTER",
        storePathRootDir=slave.store, **FAST_BROKER)
    wait_until(lambda: admin.cluster_list()["brokers"]["broker-a"]
               ["broker_addrs"].get(0) == promoted.addr, 30,
               "the promoted master registered")
    return promoted


def wait_caught_up(admin, master, slave, timeout_s=60):
    """Until the slave has everything the master has written."""
    def caught_up():
        m = status(admin, master)
        s = status(admin, slave)
        return (s.get("haConnected") == "true" and
                s["haReplicatedOffset"] == m["commitLogMaxOffset"] and
                m.get("haSlave1AckOffset") == m["commitLogMaxOffset"])
    wait_until(caught_up, timeout_s, "the slave to catch up")


def create_topic(admin, topic, queues=4):
    admin.create_topic(topic, read_queues=queues, write_queues=queues)


class Sender:
    """Threads sending numbered messages; records every acknowledged one."""

    def __init__(self, producer, topic, threads, per_thread):
        self.producer = producer
        self.topic = topic
        self.per_thread = per_thread
        self.lock = threading.Lock()
        self.acked = []    # (SendResult, body) with status SEND_OK
        self.other = 0     # stored with another status (slave timeouts)
        self.failed = 0
        self.longest_call_s = 0.0
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._run, args=(t,))
                        for t in range(threads)]

    def start(self):
        for t in self.threads:
            t.start()
        return self

    def join(self):
        for t in self.threads:
            t.join()

    def acked_count(self):
        with self.lock:
            return len(self.acked)

    def _run(self, thread):
        for i in range(self.per_thread):
            if self.stop.is_set():
                return
            body = f"{thread}-{i}".encode()
            began = time.monotonic()
            try:
                r = self.producer.send(self.topic, body)
            except cometmq.MQClientError:
                r = None
            took = time.monotonic() - began
            with self.lock:
                self.longest_call_s = max(self.longest_call_s, took)
                if r is None:
                    self.failed += 1
                elif r.status == "SEND_OK":
                    self.acked.append((r, body))
                else:
                    self.other += 1


def read_everything(cluster, topic, acked, timeout_s=60, idle_polls=None):
    """Every message of `topic` by (broker, queue, offset), through a new
    consumer group reading from the first offset, until every message of
    `acked` ((SendResult, body) pairs) is among them, or, with `idle_polls`,
    until that many polls in a row found nothing once something was found
    (for a store that may have lost some). Counting would not do: sends
    that failed may have been stored too, and would fill the count before
    the last acknowledged messages were read."""
    want = {(r.broker_name, r.queue_id, r.queue_offset) for r, _ in acked}
    seen = {}
    idle = 0
    with cometmq.PullConsumer(group=f"verify-{time.monotonic_ns()}",
                              namesrv=cluster.namesrv_addr,
                              consume_from="FIRST_OFFSET") as c:
        c.subscribe(topic)
        c.start()
        deadline = time.monotonic() + timeout_s
        while not want <= seen.keys() and time.monotonic() < deadline:
            polled = c.poll(500)
            idle = 0 if polled else idle + 1
            if idle_polls and seen and idle >= idle_polls:
                break
            for m in polled:
                key = (m.broker_name, m.queue_id, m.queue_offset)
                assert seen.setdefault(key, m.body) == m.body, (
                    f"two bodies at {key}")
    return seen


def send_acked(producer, topic, tag, n, acked, padding=b""):
    """Sends `n` messages `<tag>-<i><padding>`, each must be SEND_OK; adds
    (result, body) of each to `acked`."""
    for i in range(n):
        body = f"{tag}-{i}".encode() + padding
        r = producer.send(topic, body)
        assert r.status == "SEND_OK"
        acked.append((r, body))


def lost(acked, seen):
    """Acknowledged messages not at their acknowledged offset."""
    return [body for r, body in acked
            if seen.get((r.broker_name, r.queue_id, r.queue_offset)) != body]


def kill_master_mid_stream(cluster, role, total=20000, threads=4,
                           idle_polls=None):
    cluster.start_namesrv(**FAST_NAMESRV)
    master, slave = start_group(cluster, role=role)
    admin = cometmq.Admin(cluster.namesrv_addr)
    admin.start()
    try:
        create_topic(admin, "HaTopic")
        wait_caught_up(admin, master, slave)
        with cometmq.Producer(group="ha-pg", namesrv=cluster.namesrv_addr,
                              send_timeout_ms=3000, retry_times=0) as p:
            sender = Sender(p, "HaTopic", threads, total // threads).start()
            wait_until(lambda: sender.acked_count() >= total // 3, 120,
                       "a third of the messages acknowledged")
            master.kill(signal.SIGKILL)
            sender.stop.set()
            sender.join()
        seen = read_everything(cluster, "HaTopic", sender.acked,
                               idle_polls=idle_polls)
        return sender, seen
    finally:
        admin.shutdown()


def test_sync_master_loses_nothing_acknowledged_when_killed(cluster):
    sender, seen = kill_master_mid_stream(cluster, "SYNC_MASTER")
    assert len(sender.acked) >= 20000 // 3
    missing = lost(sender.acked, seen)
    print(f"\nSYNC_MASTER: {len(sender.acked)} acknowledged SEND_OK, "
          f"{sender.other} stored with another status, {sender.failed} "
          f"failed after the kill; {len(missing)} lost")
    assert missing == []


def test_async_master_kill_reports_loss_and_graceful_stop_loses_none(cluster):
    # The slave may lack the last messages: reading stops once it has
    # given everything it has (12 empty polls, 6 s: longer than a failed
    # pull's 3 s back-off) instead of waiting out the timeout for messages
    # that are not there.
    sender, seen = kill_master_mid_stream(cluster, "ASYNC_MASTER",
                                          total=12000, idle_polls=12)
    missing = lost(sender.acked, seen)
    # Not asserted: ASYNC_MASTER answers before the slave has the message.
    print(f"\nASYNC_MASTER SIGKILL: {len(sender.acked)} acknowledged, "
          f"{len(missing)} not on the slave")

    # A graceful stop lets the slave take everything first.
    master = cluster.brokers[0]
    master.start()
    admin = cometmq.Admin(cluster.namesrv_addr)
    admin.start()
    try:
        wait_caught_up(admin, master, cluster.brokers[1])
        with cometmq.Producer(group="ha-pg2", namesrv=cluster.namesrv_addr,
                              retry_times=0) as p:
            acked = []
            send_acked(p, "HaTopic2", "g", 2000, acked)
    finally:
        admin.shutdown()
    assert master.stop() == 0
    seen = read_everything(cluster, "HaTopic2", acked)
    assert lost(acked, seen) == []


def test_consumer_fails_over_to_slave_and_back_without_skipping(cluster):
    BEFORE = 6000
    cluster.start_namesrv(**FAST_NAMESRV)
    cluster.start_namesrv(**FAST_NAMESRV)
    master, slave = start_group(cluster, role="ASYNC_MASTER")
    admin = cometmq.Admin(cluster.namesrv_addr)
    admin.start()
    release = threading.Event()
    got = Collector()

    def listener(msg):
        release.wait(60)  # hold the first deliveries until the master is down
        return got(msg)

    try:
        create_topic(admin, "FailTopic")
        with cometmq.Producer(group="fo-pg",
                              namesrv=cluster.namesrv_addr) as p:
            # More than the consumer buffers (1000 per queue), so some can
            # only come from the slave.
            for i in range(BEFORE):
                p.send("FailTopic", f"before-{i}".encode())
        wait_caught_up(admin, master, slave)
        c = cometmq.PushConsumer(group="fo-cg", namesrv=cluster.namesrv_addr,
                                 consume_from="FIRST_OFFSET",
                                 consume_threads=1)
        c.subscribe("FailTopic")
        c.register_listener(listener)
        c.start()
        try:
            # The consumer pulled from the master; now the master and one
            # NameServer die, and the rest must come from the slave.
            wait_until(lambda: status(admin, master)["msgGetTotal"] != "0",
                       30, "the first pull from the master")
            master.kill(signal.SIGKILL)
            cluster.namesrvs[0].kill(signal.SIGKILL)
            release.set()
            wait_until(lambda: len(set(got.bodies())) >= BEFORE, 60,
                       "every message, from the slave")
            assert int(status(admin, slave)["msgGetTotal"]) > 0

            master.start()
            wait_caught_up(admin, master, slave)
            with cometmq.Producer(group="fo-pg2",
                                  namesrv=cluster.namesrv_addr) as p:
                for i in range(200):
                    assert p.send("FailTopic",
                                  f"after-{i}".encode()).status == "SEND_OK"
            wait_until(lambda: len(set(got.bodies())) >= BEFORE + 200, 60,
                       "the messages sent after the master returned")
        finally:
            c.shutdown()
    finally:
        admin.shutdown()
    bodies = set(got.bodies())
    assert bodies == ({f"before-{i}".encode() for i in range(BEFORE)} |
                      {f"after-{i}".encode() for i in range(200)})


def test_sends_move_to_another_group_while_a_master_is_paused(cluster):
    cluster.start_namesrv(**FAST_NAMESRV)
    cluster.start_namesrv(**FAST_NAMESRV)
    master_a, slave_a = start_group(cluster, "broker-a", role="SYNC_MASTER")
    start_group(cluster, "broker-b", role="ASYNC_MASTER", slave=False)
    admin = cometmq.Admin(cluster.namesrv_addr)
    admin.start()
    try:
        create_topic(admin, "PauseTopic")
        wait_until(lambda: len(admin.topic_route("PauseTopic")
                               ["queue_datas"]) == 2, 30, "both groups")
        with cometmq.Producer(group="pause-pg", namesrv=cluster.namesrv_addr,
                              send_timeout_ms=2000) as p:
            # Pause the master longer than the NameServers' broker expiry.
            master_a.pause()
            cluster.namesrvs[1].kill(signal.SIGKILL)
            sender = Sender(p, "PauseTopic", threads=2, per_thread=100000)
            sender.start()
            wait_until(lambda: sender.acked_count() >= 300, 60,
                       "sends to broker-b while broker-a is paused")
            wait_until(lambda: 0 not in admin.cluster_list()["brokers"]
                       ["broker-a"]["broker_addrs"], 30,
                       "the NameServer to expire the paused master")
            master_a.resume()
            sender.stop.set()
            sender.join()
            assert sender.longest_call_s < 2.0 + 1.0, (
                f"a send took {sender.longest_call_s:.1f}s")
            assert {r.broker_name for r, _ in sender.acked} >= {"broker-b"}
            # broker-a is back: it re-registers and its slave catches up.
            wait_until(lambda: p.send("PauseTopic", b"x").broker_name ==
                       "broker-a", 30, "a send to broker-a again")
        wait_caught_up(admin, master_a, slave_a)
    finally:
        admin.shutdown()


def test_slaves_catch_up_from_empty_and_after_a_kill(cluster):
    cluster.start_namesrv(**FAST_NAMESRV)
    master, _ = start_group(cluster, role="ASYNC_MASTER", slave=False)
    admin = cometmq.Admin(cluster.namesrv_addr)
    admin.start()
    acked = []
    try:
        create_topic(admin, "CatchTopic")
        with cometmq.Producer(group="cu-pg",
                              namesrv=cluster.namesrv_addr) as p:
            def send(n, tag):
                send_acked(p, "CatchTopic", tag, n, acked, b"x" * 1000)
            send(9000, "early")  # > one 8 MiB segment
            slave = cluster.start_broker(name="broker-a", broker_id=1,
                                         brokerRole="SLAVE", **FAST_BROKER)
            wait_caught_up(admin, master, slave)
            slave.kill(signal.SIGKILL)
            send(2000, "while-down")
            slave.start()
            wait_caught_up(admin, master, slave)
            send(500, "after")
            wait_caught_up(admin, master, slave)
        assert int(status(admin, master)["commitLogMaxOffset"]) > SEGMENT
    finally:
        admin.shutdown()
    master.kill(signal.SIGKILL)
    seen = read_everything(cluster, "CatchTopic", acked)
    assert lost(acked, seen) == []


def test_new_consumer_resumes_from_offsets_synced_to_the_slave(cluster):
    cluster.start_namesrv(**FAST_NAMESRV)
    master, slave = start_group(cluster, role="ASYNC_MASTER")
    admin = cometmq.Admin(cluster.namesrv_addr)
    admin.start()
    try:
        create_topic(admin, "OffsetTopic")
        with cometmq.Producer(group="os-pg",
                              namesrv=cluster.namesrv_addr) as p:
            for i in range(400):
                p.send("OffsetTopic", f"a-{i}".encode())
            first = Collector()
            c = cometmq.PushConsumer(group="os-cg",
                                     namesrv=cluster.namesrv_addr,
                                     consume_from="FIRST_OFFSET")
            c.subscribe("OffsetTopic")
            c.register_listener(first)
            c.start()
            wait_until(lambda: len(set(first.bodies())) >= 400, 60,
                       "the first 400 messages")
            c.shutdown()  # commits its offsets to the master
            wait_until(lambda: sum(q["consumer_offset"] for q in
                                   admin.consumer_progress("os-cg")) == 400,
                       30, "the master to hold the committed offsets")
            for i in range(200):
                p.send("OffsetTopic", f"b-{i}".encode())
        wait_caught_up(admin, master, slave)
        rounds = int(status(admin, slave)["slaveSyncRounds"])
        wait_until(lambda: int(status(admin, slave)["slaveSyncRounds"]) >=
                   rounds + 2, 30, "a slave sync after the commit")
        master.kill(signal.SIGKILL)

        second = Collector()
        c = cometmq.PushConsumer(group="os-cg", namesrv=cluster.namesrv_addr,
                                 consume_from="FIRST_OFFSET")
        c.subscribe("OffsetTopic")
        c.register_listener(second)
        c.start()
        try:
            wait_until(lambda: len(set(second.bodies())) >= 200, 60,
                       "the 200 newer messages, from the slave")
        finally:
            c.shutdown()
    finally:
        admin.shutdown()
    assert set(second.bodies()) == {f"b-{i}".encode() for i in range(200)}


def test_a_slave_restarted_as_master_continues_the_queues(cluster):
    """Manual failover: the slave's store, started as the master, serves
    what it replicated and appends after it."""
    cluster.start_namesrv(**FAST_NAMESRV)
    master, slave = start_group(cluster, role="SYNC_MASTER")
    admin = cometmq.Admin(cluster.namesrv_addr)
    admin.start()
    acked = []
    try:
        create_topic(admin, "PromoteTopic")
        wait_caught_up(admin, master, slave)  # the slave is connected
        with cometmq.Producer(group="pr-pg",
                              namesrv=cluster.namesrv_addr) as p:
            send_acked(p, "PromoteTopic", "old", 300, acked)
        promote_slave(cluster, admin, master, slave)
        with cometmq.Producer(group="pr-pg2",
                              namesrv=cluster.namesrv_addr) as p:
            send_acked(p, "PromoteTopic", "new", 100, acked)
    finally:
        admin.shutdown()
    seen = read_everything(cluster, "PromoteTopic", acked)
    assert lost(acked, seen) == []
    assert len(seen) == 400  # queue offsets continued, none reused
