"""The store under SIGKILL with ASYNC_FLUSH, through the real binaries.

ASYNC_FLUSH acknowledges a send once its bytes are in the page cache, and a
killed process leaves the page cache behind: every acknowledged message must
be there after the restart, at the queue offset its send reported. Tiny
commit log segments and consume queue files, and bodies close to
maxMessageSize in batches, make segment rolls happen all the time.
"""

import signal
import threading

import cometmq

from helpers import wait_until

MAX_BODY = 12 * 1024
TOPIC = "Crashy"


def produce_until(cluster, acked, twice, lock, stop, t):
    with cometmq.Producer(group=f"pc{t}", namesrv=cluster.namesrv_addr) as p:
        i = 0
        while not stop.is_set():
            count = 1 + i % 3
            bodies = []
            for k in range(count):
                size = MAX_BODY - (i + k) % 7 if (i + k) % 4 == 0 else 40
                head = f"t{t}-{i + k}-".encode()
                bodies.append(head + b"x" * (size - len(head)))
            i += count
            try:
                if count == 1:
                    r = p.send(TOPIC, bodies[0], timeout_ms=2000)
                else:
                    r = p.send_batch(TOPIC, bodies)
            except cometmq.MQClientError:
                continue
            if r.status != "SEND_OK":
                continue
            with lock:
                for k, body in enumerate(bodies):
                    key = (r.queue_id, r.queue_offset + k)
                    if key in acked:
                        twice.append(key)
                    acked[key] = body


def kill_while_producing(cluster, broker, acked, at_least):
    """Produces from three threads; SIGKILLs the broker once `at_least`
    messages are acknowledged in all."""
    twice = []
    lock = threading.Lock()
    stop = threading.Event()
    threads = [
        threading.Thread(target=produce_until,
                         args=(cluster, acked, twice, lock, stop, t))
        for t in range(3)
    ]
    for t in threads:
        t.start()
    try:
        wait_until(lambda: len(acked) >= at_least, timeout_s=60,
                   what=f"{at_least} acknowledged messages")
        broker.kill(signal.SIGKILL)
    finally:
        stop.set()
        for t in threads:
            t.join(30)
    assert not twice, f"queue offsets acknowledged twice: {twice[:5]}"


def read_everything(cluster, group, expected):
    """(queue_id, queue_offset) -> body for everything the broker serves."""
    seen = {}
    c = cometmq.PullConsumer(group=group, namesrv=cluster.namesrv_addr)
    c.subscribe(TOPIC)
    c.start()
    try:
        def caught_up():
            for m in c.poll(200):
                key = (m.queue_id, m.queue_offset)
                assert key not in seen or seen[key] == m.body, (
                    f"two messages at queue offset {key}")
                seen[key] = m.body
            return all(k in seen for k in expected)
        wait_until(caught_up, timeout_s=60,
                   what="every acknowledged message after SIGKILL")
    finally:
        c.shutdown()
    return seen


def test_async_flush_sigkill_keeps_every_acknowledged_message(cluster):
    cluster.start_namesrv()
    broker = cluster.start_broker(
        flushDiskType="ASYNC_FLUSH",
        mappedFileSizeCommitLog=64 * 1024,
        mappedFileSizeConsumeQueue=20 * 50,
        maxMessageSize=MAX_BODY)
    acked = {}
    for round_no, at_least in enumerate((600, 1200)):
        kill_while_producing(cluster, broker, acked, at_least)
        broker.start()
        seen = read_everything(cluster, f"gc{round_no}", acked)
        for key, body in acked.items():
            assert seen[key] == body, f"queue offset {key} holds another body"
