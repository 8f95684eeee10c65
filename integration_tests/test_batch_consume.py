"""Batch consumption (RocketMQ's consumeMessageBatchMaxSize) through real
mqnamesrv/mqbroker processes: a push consumer's batch listener gets at most
consume_batch_max_size messages of one queue per call, a failed batch comes
back whole through the retry topic, an orderly batch keeps its queue's order
across a suspend, and a size out of range is refused at start()."""

import threading

import pytest

import cometmq

from helpers import wait_until


class BatchRecorder:
    """A batch listener: records every call's messages as (queue, offset,
    body, reconsume_times) tuples; `fail(batch)` says whether to answer
    False this time."""

    def __init__(self, fail=lambda batch: False):
        self.lock = threading.Lock()
        self.batches = []
        self._fail = fail

    def __call__(self, msgs):
        batch = [((m.broker_name, m.queue_id), m.queue_offset, m.body,
                  m.reconsume_times, m.topic) for m in msgs]
        with self.lock:
            self.batches.append(batch)
            failed = self._fail(batch)
        return not failed

    def snapshot(self):
        with self.lock:
            return [list(b) for b in self.batches]

    def bodies(self):
        with self.lock:
            return {m[2] for b in self.batches for m in b}


def batch_consumer(cluster, group, topic, listener, size, **options):
    options.setdefault("consume_from", "FIRST_OFFSET")
    c = cometmq.PushConsumer(group=group, namesrv=cluster.namesrv_addr,
                             consume_batch_max_size=size, **options)
    c.subscribe(topic)
    c.register_batch_listener(listener)
    c.start()
    return c


def create_topic(cluster, topic, queues):
    with cometmq.Admin(namesrv=cluster.namesrv_addr) as admin:
        admin.create_topic(topic, read_queues=queues, write_queues=queues)


def test_batches_stay_within_the_size_and_one_queue_and_all_arrive(cluster):
    cluster.start_namesrv()
    cluster.start_broker()
    create_topic(cluster, "Batched", 4)
    sent = [f"m{i}".encode() for i in range(400)]
    with cometmq.Producer(group="pg", namesrv=cluster.namesrv_addr) as p:
        for body in sent:
            assert p.send("Batched", body).status == "SEND_OK"
    rec = BatchRecorder()
    # Sent before the consumer starts: its pulls bring 32 messages each,
    # more than a batch, so the split into batches shows.
    with batch_consumer(cluster, "gbatch", "Batched", rec, 5):
        wait_until(lambda: rec.bodies() == set(sent), timeout_s=30,
                   what="all 400 messages")
    batches = rec.snapshot()
    assert all(1 <= len(b) <= 5 for b in batches), [len(b) for b in batches]
    # Full batches: the pulled messages are handed over five at a time.
    assert max(len(b) for b in batches) == 5
    for b in batches:
        assert len({m[0] for m in b}) == 1, f"a batch spans queues: {b}"
        offsets = [m[1] for m in b]
        assert offsets == sorted(offsets), f"out of order: {offsets}"
    # Each message once (nothing failed, nothing was rebalanced).
    assert sum(len(b) for b in batches) == len(sent)


def test_a_failed_batch_comes_back_whole_through_the_retry_topic(cluster):
    cluster.start_namesrv()
    cluster.start_broker(messageDelayLevel="1s 1s 1s 1s 1s")
    create_topic(cluster, "BatchFail", 1)
    sent = [f"f{i}".encode() for i in range(10)]
    with cometmq.Producer(group="pg", namesrv=cluster.namesrv_addr) as p:
        for body in sent:
            p.send("BatchFail", body)
    failed = []

    def fail_first(batch):
        # The first batch of several (a first pull may bring one message).
        if not failed and len(batch) >= 2:
            failed.extend(m[2] for m in batch)
            return True
        return False

    rec = BatchRecorder(fail_first)
    with batch_consumer(cluster, "gbf", "BatchFail", rec, 4):
        wait_until(lambda: rec.bodies() == set(sent) and failed and all(
            any(m[2] == body and m[3] == 1 for b in rec.snapshot() for m in b)
            for body in failed), timeout_s=30,
            what="every message, and the failed batch's again")
        with cometmq.Admin(namesrv=cluster.namesrv_addr) as admin:
            retried = sum(q["max_offset"]
                          for q in admin.topic_stats("%RETRY%gbf"))
    assert 2 <= len(failed) <= 4
    # Through the broker's retry topic, each message of the failed batch.
    assert retried == len(failed)
    again = [m for b in rec.snapshot() for m in b if m[3] == 1]
    assert sorted(m[2] for m in again) == sorted(failed)
    # Presented with the topic they were sent to, not the retry topic.
    assert all(m[4] == "BatchFail" for m in again)


def test_an_orderly_batch_keeps_the_queue_order_across_a_suspend(cluster):
    cluster.start_namesrv()
    cluster.start_broker()
    create_topic(cluster, "BatchOrdered", 2)
    with cometmq.Producer(group="pg", namesrv=cluster.namesrv_addr) as p:
        for seq in range(30):
            for key in ("a", "b"):
                p.send_orderly("BatchOrdered", f"{key}:{seq}".encode(),
                               sharding_key=key)
    suspended = []

    def fail_once_at_ten(batch):
        # Fails the first batch holding a:10, once.
        if not suspended and any(m[2] == b"a:10" for m in batch):
            suspended.extend(m[2] for m in batch)
            return True
        return False

    rec = BatchRecorder(fail_once_at_ten)
    with batch_consumer(cluster, "gbo", "BatchOrdered", rec, 4, orderly=True):
        wait_until(lambda: len(rec.bodies()) == 60, timeout_s=30,
                   what="all 60 messages")
    batches = rec.snapshot()
    assert suspended, "the batch with a:10 never came"
    assert all(1 <= len(b) <= 4 for b in batches)
    assert max(len(b) for b in batches) == 4
    per_key = {"a": [], "b": []}
    failed_at = None
    for i, b in enumerate(batches):
        assert len({m[0] for m in b}) == 1, f"a batch spans queues: {b}"
        keys = {m[2].split(b":")[0].decode() for m in b}
        assert len(keys) == 1  # one key per queue here
        if [m[2] for m in b] == suspended and failed_at is None:
            failed_at = i
            continue  # not consumed: comes again
        per_key[keys.pop()].extend(int(m[2].split(b":")[1]) for m in b)
    # Every message once, in send order, the suspended ones included.
    assert per_key == {"a": list(range(30)), "b": list(range(30))}
    # The suspended batch was retried as it was: the next batch of its
    # queue starts with the same messages, counted as reconsumed.
    queue = batches[failed_at][0][0]
    retry = next(b for b in batches[failed_at + 1:] if b[0][0] == queue)
    assert [m[2] for m in retry[:len(suspended)]] == suspended
    assert all(m[3] == 1 for m in retry[:len(suspended)])


@pytest.mark.parametrize("size", [0, 1025, -1])
def test_a_batch_size_out_of_range_is_refused_at_start(size):
    c = cometmq.PushConsumer(group="gbad", namesrv="127.0.0.1:1",
                             consume_batch_max_size=size)
    c.subscribe("T")
    c.register_batch_listener(lambda msgs: True)
    with pytest.raises(cometmq.MQClientError,
                       match=r"consume_batch_max_size must be between 1 and "
                             rf"1024, not {size}"):
        c.start()
    c.shutdown()


def test_a_batch_size_above_one_needs_a_batch_listener():
    c = cometmq.PushConsumer(group="gbad", namesrv="127.0.0.1:1",
                             consume_batch_max_size=8)
    c.subscribe("T")
    c.register_listener(lambda msg: True)
    with pytest.raises(cometmq.MQClientError,
                       match="register_batch_listener"):
        c.start()
    c.shutdown()
