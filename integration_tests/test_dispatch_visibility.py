"""Acknowledged sends count at once in what a new consumer group is told.

The broker indexes a message into its consume queue a moment after it
acknowledged the send (longer on a new topic, whose queue files are created
first). A group that starts at LAST_OFFSET right after sends to a new topic
must still start after them, without anyone waiting for the indexing."""

import cometmq
import pytest

from helpers import Collector, push_consumer, wait_until


def _new_from_every_queue(got, queues):
    with got.lock:
        seen = {m.queue_id for m in got.messages
                if m.body.startswith(b"new-")}
    return len(seen) >= queues


@pytest.mark.parametrize("created_queues", [None, 16],
                         ids=["auto-created", "created-just-before"])
def test_last_offset_group_started_right_after_sends_skips_them(
        cluster, created_queues):
    cluster.start_namesrv()
    cluster.start_broker()
    topic = "FreshTopic"
    queues = created_queues or 4  # defaultTopicQueueNums
    got = Collector()
    with cometmq.Producer(group="vis-pg", namesrv=cluster.namesrv_addr) as p:
        if created_queues:
            admin = cometmq.Admin(cluster.namesrv_addr)
            admin.start()
            try:
                admin.create_topic(topic, read_queues=queues,
                                   write_queues=queues)
            finally:
                admin.shutdown()
        for i in range(100):
            assert p.send(topic, f"old-{i}".encode()).status == "SEND_OK"
        consumer = push_consumer(cluster, "vis-new", topic, got,
                                 consume_from="LAST_OFFSET")
        try:
            # Owned means the queue's start offset was taken.
            wait_until(lambda: len([q for q in consumer.owned_queues()
                                    if q.startswith(topic + "@")]) == queues,
                       30, "the group to own every queue")
            # Round-robin: every queue gets new messages.
            for i in range(2 * queues):
                p.send(topic, f"new-{i}".encode())
            wait_until(lambda: _new_from_every_queue(got, queues), 30,
                       "a new message from every queue")
        finally:
            consumer.shutdown()
    # A queue is consumed in order, so any replayed old message came before
    # that queue's first new one.
    assert [b for b in got.bodies() if b.startswith(b"old-")] == []
