"""Transactional messages with real nameserver and broker processes: commit,
rollback, UNKNOWN resolved by check-back, discard after transactionCheckMax,
and an open transaction resolved by a broker restarted with SIGTERM or
SIGKILL."""

import os
import signal
import threading

import pytest

import cometmq
from cometmq import TransactionState

from helpers import Collector, push_consumer, wait_until

# Checks come quickly in tests; RocketMQ's defaults are 60 s and 6 s.
FAST_CHECKS = {"transactionCheckInterval": 300, "transactionTimeOut": 500}


class Checks:
    """A check listener answering from a table (UNKNOWN by default) and
    recording every (body, answer) it gave."""

    def __init__(self):
        self.lock = threading.Lock()
        self.answers = {}
        self.calls = []

    def __call__(self, msg):
        with self.lock:
            answer = self.answers.get(msg.body, TransactionState.UNKNOWN)
            self.calls.append((msg.body, answer, msg))
        return answer

    def answer(self, body, state):
        with self.lock:
            self.answers[body] = state
            return len(self.calls)

    def of(self, body, since=0):
        with self.lock:
            return [c for c in self.calls[since:] if c[0] == body]


def _producer(cluster, checks, group="txg"):
    return cometmq.TransactionProducer(group, cluster.namesrv_addr, checks,
                                       heartbeat_interval_ms=300)


def _broker_log(node):
    text = ""
    for name in ("broker.log", "stderr.log"):
        path = os.path.join(node.log_dir, name)
        if os.path.exists(path):
            with open(path, errors="replace") as f:
                text += f.read()
    return text


def test_commit_rollback_and_unknown_resolved_by_check(cluster):
    cluster.start_namesrv()
    cluster.start_broker(**FAST_CHECKS)
    checks = Checks()
    collector = Collector()
    seen_args = []

    def execute(state):
        def run(msg, arg):
            seen_args.append((msg.body, msg.topic, arg))
            return state
        return run

    def raising(msg, arg):
        raise RuntimeError("local transaction failed")

    with _producer(cluster, checks) as p:
        commit = p.send_in_transaction(
            "Tx", b"commit", execute(TransactionState.COMMIT), tags="TagA",
            keys=["k-commit"], properties={"p": "v"}, arg=1)
        rollback = p.send_in_transaction(
            "Tx", b"rollback", execute(TransactionState.ROLLBACK), arg=2)
        unknown = p.send_in_transaction(
            "Tx", b"unknown", execute(TransactionState.UNKNOWN))
        failed = p.send_in_transaction("Tx", b"raises", raising)
        assert [r.local_state for r in (commit, rollback, unknown, failed)] == [
            TransactionState.COMMIT, TransactionState.ROLLBACK,
            TransactionState.UNKNOWN, TransactionState.UNKNOWN]
        assert all(r.end_error == "" for r in (commit, rollback, unknown))
        assert commit.transaction_id == commit.msg_id != ""
        assert seen_args[:2] == [(b"commit", "Tx", 1), (b"rollback", "Tx", 2)]

        with push_consumer(cluster, "txc", "Tx", collector):
            wait_until(lambda: b"commit" in collector.bodies(), timeout_s=20,
                       what="the committed message")
            # UNKNOWN stays invisible while the checks answer UNKNOWN.
            wait_until(lambda: len(checks.of(b"unknown")) >= 2, timeout_s=20,
                       what="two checks of the unknown transaction")
            assert collector.bodies() == [b"commit"]
            checked = checks.of(b"unknown")[0][2]
            assert checked.topic == "Tx" and checked.msg_id == unknown.msg_id

            checks.answer(b"unknown", TransactionState.COMMIT)
            since = checks.answer(b"raises", TransactionState.ROLLBACK)
            wait_until(lambda: b"unknown" in collector.bodies(), timeout_s=20,
                       what="the message committed by a check")
            wait_until(lambda: checks.of(b"raises", since), timeout_s=20,
                       what="the rollback answer")
            # Later check rounds do not ask about the rolled back one again
            # (one check may already be under way when the answer is given,
            # so count from a round that began after it was recorded).
            for sentinel in (b"sentinel-1", b"sentinel-2"):
                asked = len(checks.of(b"raises"))
                result = p.send_in_transaction(
                    "Tx", sentinel, execute(TransactionState.UNKNOWN))
                assert result.local_state == TransactionState.UNKNOWN
                checks.answer(sentinel, TransactionState.COMMIT)
                wait_until(lambda: sentinel in collector.bodies(),
                           timeout_s=20, what="a sentinel committed by check")
            assert len(checks.of(b"raises")) == asked
            assert all(answer == TransactionState.ROLLBACK
                       for _, answer, _ in checks.of(b"raises", since))

    assert sorted(collector.bodies()) == [b"commit", b"sentinel-1",
                                          b"sentinel-2", b"unknown"]
    delivered = {m.body: m for m in collector.messages}
    m = delivered[b"commit"]
    assert (m.topic, m.tags, m.keys, m.msg_id) == (
        "Tx", "TagA", ["k-commit"], commit.msg_id)
    assert m.properties.get("p") == "v"
    assert "TRAN_MSG" not in m.properties
    assert delivered[b"unknown"].msg_id == unknown.msg_id


def test_unanswered_transaction_is_discarded_after_check_max(cluster):
    cluster.start_namesrv()
    broker = cluster.start_broker(transactionCheckMax=2, **FAST_CHECKS)
    checks = Checks()
    collector = Collector()
    with _producer(cluster, checks) as p:
        doomed = p.send_in_transaction(
            "TxMax", b"doomed", lambda m, a: TransactionState.UNKNOWN)
        wait_until(lambda: "discarded after 2 checks" in _broker_log(broker),
                   timeout_s=30, what="the discard log line")
        assert len(checks.of(b"doomed")) == 2
        assert doomed.transaction_id in _broker_log(broker)
        # A late commit is no longer possible; later transactions still work.
        p.send_in_transaction("TxMax", b"after",
                              lambda m, a: TransactionState.COMMIT)
        with push_consumer(cluster, "txmax", "TxMax", collector):
            wait_until(lambda: b"after" in collector.bodies(), timeout_s=20,
                       what="the committed message")
        assert len(checks.of(b"doomed")) == 2
    assert collector.bodies() == [b"after"]
    # The discarded half is kept, readable, on TRANS_CHECK_MAX_TIME_TOPIC.
    discarded = Collector()
    with push_consumer(cluster, "txmax-audit", "TRANS_CHECK_MAX_TIME_TOPIC",
                       discarded):
        wait_until(lambda: discarded.count() >= 1, timeout_s=20,
                   what="the discarded half")
    [m] = discarded.messages
    assert m.body == b"doomed"
    assert m.properties.get("REAL_TOPIC") == "TxMax"
    assert m.properties.get("TRANSACTION_CHECK_TIMES") == "2"


def test_open_transaction_of_a_departed_producer_is_asked_of_its_successor(
        cluster):
    # The usual reason for check-back: the producer process that sent the
    # half is gone (crashed, redeployed) and a new process of its group must
    # resolve it. The new producer has sent nothing, so it knew no route to
    # the broker holding the half and never heartbeated it: the broker had
    # nobody to ask, and the half was discarded unanswered.
    cluster.start_namesrv()
    cluster.start_broker(transactionCheckMax=1000, **FAST_CHECKS)
    first = Checks()
    with _producer(cluster, first) as p:
        p.send_in_transaction("TxHandover", b"open",
                              lambda m, a: TransactionState.UNKNOWN)
        wait_until(lambda: first.of(b"open"), timeout_s=20,
                   what="a check of the first producer")
    successor = Checks()
    successor.answer(b"open", TransactionState.COMMIT)
    collector = Collector()
    with _producer(cluster, successor):
        with push_consumer(cluster, "txh", "TxHandover", collector):
            wait_until(lambda: b"open" in collector.bodies(), timeout_s=20,
                       what="the transaction committed by the successor")
    assert collector.bodies() == [b"open"]
    assert successor.of(b"open")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL],
                         ids=["sigterm", "sigkill"])
def test_restarted_broker_resolves_open_transaction(cluster, sig):
    cluster.start_namesrv()
    broker = cluster.start_broker(**FAST_CHECKS)
    checks = Checks()
    collector = Collector()
    with _producer(cluster, checks) as p:
        result = p.send_in_transaction(
            "TxRestart", b"open", lambda m, a: TransactionState.UNKNOWN)
        wait_until(lambda: checks.of(b"open"), timeout_s=20,
                   what="a first check before the restart")
        broker.kill(sig)
        broker.start()
        since = checks.answer(b"open", TransactionState.COMMIT)
        with push_consumer(cluster, "txr", "TxRestart", collector):
            wait_until(lambda: b"open" in collector.bodies(), timeout_s=30,
                       what="the transaction committed after the restart")
        # Resolved by a check of the restarted broker.
        assert checks.of(b"open", since)
    assert collector.bodies() == [b"open"]
    assert collector.messages[0].msg_id == result.msg_id


def test_half_not_safely_stored_is_rolled_back_without_running_executor(
        cluster):
    # A SYNC_MASTER without a slave stores the half but answers
    # SLAVE_NOT_AVAILABLE: the half may not survive the master, so, as in
    # RocketMQ, the local transaction must not run and the half is rolled
    # back (else a committed local transaction could lose its message).
    cluster.start_namesrv()
    broker = cluster.start_broker(brokerRole="SYNC_MASTER")
    checks = Checks()
    executed = []

    def execute(msg, arg):
        executed.append(msg.body)
        return TransactionState.COMMIT

    with _producer(cluster, checks) as p:
        result = p.send_in_transaction("TxSyncMaster", b"unsafe", execute)
    assert result.status == "SLAVE_NOT_AVAILABLE"
    assert executed == []
    assert result.local_state == TransactionState.ROLLBACK
    assert result.end_error == ""
    with cometmq.Admin(cluster.namesrv_addr) as admin:
        status = admin.broker_status(broker.addr)
    assert status["transactionRolledBack"] == "1"
    assert status["transactionCommitted"] == "0"
    assert checks.calls == []
