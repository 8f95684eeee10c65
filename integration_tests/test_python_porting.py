"""The cometmq package as code ported from RocketMQ clients uses it:
RocketMQ's listener answers, MessageExt's fields, clients shared by
threads."""

import enum
import subprocess
import sys
import textwrap
import threading

import cometmq

from helpers import push_consumer, wait_until

# Failed messages come back through the retry topic at delay level
# 3 + reconsume times; short levels keep these tests quick.
FAST_RETRY_LEVELS = " ".join(["1s"] * 18)


class ConsumeStatus(enum.IntEnum):
    """RocketMQ's Python client's listener answer: note SUCCESS is 0."""
    CONSUME_SUCCESS = 0
    RECONSUME_LATER = 1


def test_listener_answers_are_read_as_rocketmq_means_them(cluster):
    """bool(answer) took "RECONSUME_LATER" and ConsumeStatus.RECONSUME_LATER
    (1) as consumed, dropping the message, and ConsumeStatus.CONSUME_SUCCESS
    (0) as a failure, redelivering it until the dead-letter queue."""
    cluster.start_namesrv()
    cluster.start_broker(messageDelayLevel=FAST_RETRY_LEVELS)
    first_answer = {
        b"later-str": "RECONSUME_LATER",
        b"later-enum": ConsumeStatus.RECONSUME_LATER,
        b"later-int": 1,
        b"later-none": None,
        b"ok-str": "CONSUME_SUCCESS",
        b"ok-enum": ConsumeStatus.CONSUME_SUCCESS,
    }
    lock = threading.Lock()
    deliveries = {body: [] for body in first_answer}

    def listener(msg):
        with lock:
            deliveries[msg.body].append(msg.reconsume_times)
            if len(deliveries[msg.body]) > 1:
                return True
        return first_answer[msg.body]

    with cometmq.Producer("PGAnswers", cluster.namesrv_addr) as p:
        for body in first_answer:
            p.send("TopicAnswers", body)
    c = push_consumer(cluster, "CGAnswers", "TopicAnswers", listener)
    try:
        later = [b for b in first_answer if b.startswith(b"later")]
        wait_until(lambda: all(len(deliveries[b]) == 2 for b in later),
                   timeout_s=20, what="the answers meaning later redelivered")
    finally:
        c.shutdown()
    # The successes, had they been retried, would be back by now: the
    # retries above waited the same delay level.
    assert deliveries == {
        b"later-str": [0, 1], b"later-enum": [0, 1], b"later-int": [0, 1],
        b"later-none": [0, 1], b"ok-str": [0], b"ok-enum": [0]}


def _address_of(offset_msg_id):
    ip, port = bytes.fromhex(offset_msg_id[:8]), offset_msg_id[8:16]
    return f"{'.'.join(str(b) for b in ip)}:{int(port, 16)}"


def test_consumed_messages_carry_born_and_store_hosts(cluster):
    """MessageExt's bornHost and storeHost were missing from Message."""
    cluster.start_namesrv()
    cluster.start_broker()
    with cometmq.Producer("PGHosts", cluster.namesrv_addr) as p:
        sent = p.send("TopicHosts", b"h")
    got = []
    c = push_consumer(cluster, "CGHosts", "TopicHosts",
                      lambda m: got.append(m) or True)
    try:
        wait_until(lambda: got, timeout_s=20, what="the message")
    finally:
        c.shutdown()
    store_host = _address_of(sent.offset_msg_id)
    with cometmq.Admin(cluster.namesrv_addr) as admin:
        queried = admin.query_message("TopicHosts", sent.offset_msg_id)
    for m in (got[0], queried):
        assert m.store_host == store_host
        ip, port = m.born_host.split(":")
        assert ip == "127.0.0.1" and 0 < int(port) < 65536
        assert m.born_host != m.store_host


def test_start_from_several_threads_at_once_starts_once(cluster):
    """A second start() returns at once, but two at the same time both
    started the core: the later ones raised "already started"."""
    cluster.start_namesrv()
    cluster.start_broker()

    def start_together(client):
        errors = []
        barrier = threading.Barrier(4)

        def start():
            barrier.wait()
            try:
                client.start()
            except cometmq.MQClientError as e:
                errors.append(e)

        threads = [threading.Thread(target=start) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return errors

    for i in range(3):
        p = cometmq.Producer(f"PGStart{i}", cluster.namesrv_addr)
        assert start_together(p) == []
        assert p.send("TopicStart", b"s").status == "SEND_OK"
        p.shutdown()
        c = cometmq.PullConsumer(f"CGStart{i}", cluster.namesrv_addr)
        c.subscribe("TopicStart")
        assert start_together(c) == []
        c.shutdown()


class TransactionStatus(enum.IntEnum):
    """RocketMQ's Python client's transaction answer: note COMMIT is 0."""
    COMMIT = 0
    ROLLBACK = 1
    UNKNOWN = 2


def test_local_transaction_answers_are_read_as_rocketmq_means_them(cluster):
    """An answer was read by its value: TransactionStatus.COMMIT (0) and
    ROLLBACK (1) became UNKNOWN, so a committed transaction waited for
    checks that answered the same, until the broker discarded it; Java's
    "COMMIT_MESSAGE" and "ROLLBACK_MESSAGE" did too."""
    cluster.start_namesrv()
    cluster.start_broker()
    State = cometmq.TransactionState
    answers = [
        (TransactionStatus.COMMIT, State.COMMIT),
        (TransactionStatus.ROLLBACK, State.ROLLBACK),
        (TransactionStatus.UNKNOWN, State.UNKNOWN),
        ("COMMIT_MESSAGE", State.COMMIT),
        ("ROLLBACK_MESSAGE", State.ROLLBACK),
        ("UNKNOW", State.UNKNOWN),
        ("commit", State.COMMIT),
        (State.ROLLBACK, State.ROLLBACK),
        (True, State.UNKNOWN),
    ]
    with cometmq.TransactionProducer("PGTxAnswers", cluster.namesrv_addr,
                                     lambda msg: State.ROLLBACK) as p:
        got = [p.send_in_transaction("TopicTxAnswers", b"t",
                                     lambda msg, arg: arg, arg=answer)
               .local_state for answer, _ in answers]
    assert got == [state for _, state in answers]


def test_shutdown_from_another_thread_ends_a_poll_with_nothing(cluster):
    """poll() waits in slices; a slice woken by the shutdown, whose thread
    got the GIL back only after the slice's end (another thread held it),
    went on to a next slice, which raised "consumer ... is not running"
    instead of returning []. A busy thread and a long switch interval make
    that likely; it used to happen now and then in any process."""
    cluster.start_namesrv()
    cluster.start_broker()
    with cometmq.Producer("PGPollEnd", cluster.namesrv_addr) as p:
        p.send("TopicPollEnd", b"m")
    script = f"""
        import sys, threading, time, cometmq
        sys.setswitchinterval(0.05)
        stop = False
        def spin():
            while not stop:
                pass
        threading.Thread(target=spin, daemon=True).start()
        failures = 0
        for i in range(12):
            c = cometmq.PullConsumer("CGPollEnd", "{cluster.namesrv_addr}",
                                     consume_from="LAST_OFFSET")
            c.subscribe("TopicPollEnd")
            c.start()
            threading.Timer(0.15 + 0.02 * i, c.shutdown).start()
            try:
                left = c.poll(3000)
                assert left == [], left
            except cometmq.MQClientError as e:
                failures += 1
                print("poll raised:", e, flush=True)
        stop = True
        print("failures", failures, flush=True)
    """
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(script)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "failures 0" in result.stdout, result.stdout
