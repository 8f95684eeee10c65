"""Edges of the retry and dead-letter paths through real nameserver and
broker processes: messages near the property limit, and what
max_reconsume_times=-1 and other negative values mean."""

import pytest

import cometmq

from helpers import AlwaysFail, push_consumer, wait_until
from test_delay_retry import read_dlq

# What a producer may send: a record's 32767 bytes of properties less its
# CRC property (20) and the 1024 bytes kept for retry and DLQ bookkeeping.
MAX_PRODUCER_PROPERTIES = 32767 - 20 - 1024


def dead_letters(admin, group):
    try:
        return sum(q["max_offset"] for q in admin.topic_stats(f"%DLQ%{group}"))
    except cometmq.MQClientError:
        return 0  # no dead-letter topic yet


def test_message_near_the_property_limit_is_retried_then_dead_lettered(
        cluster):
    # A message with properties near the record limit used to be stored,
    # then could neither be sent back nor copied to the retry topic: it was
    # redelivered locally without end. Such a send is refused now, and
    # anything a producer may send fits the retry and DLQ bookkeeping.
    cluster.start_namesrv()
    cluster.start_broker(messageDelayLevel="1s 1s 1s 1s 1s")
    always_fail = AlwaysFail()
    # Room for the client's own properties (UNIQ_KEY and the like).
    big = "b" * (MAX_PRODUCER_PROPERTIES - 200)
    with cometmq.Producer(group="pg", namesrv=cluster.namesrv_addr) as p:
        with pytest.raises(cometmq.MessageIllegalError,
                           match=f"{MAX_PRODUCER_PROPERTIES} bytes a message "
                                 "may carry"):
            p.send("Big", b"too-big", properties={"big": "b" * 32600})
        msg_id = p.send("Big", b"biggest", properties={"big": big}).msg_id
    with push_consumer(cluster, "gbig", "Big", always_fail,
                       max_reconsume_times=1):
        dead = read_dlq(cluster, "gbig", count=1, timeout_s=30)
    assert always_fail.calls() == [0, 1]
    assert dead[0].body == b"biggest" and dead[0].msg_id == msg_id
    assert dead[0].properties["big"] == big
    assert dead[0].properties["RETRY_TOPIC"] == "Big"


def test_minus_one_means_sixteen_retries_not_the_dlq_at_once(cluster):
    # -1 (RocketMQ's default) used to send a message to the DLQ at its
    # first failure, like 0.
    cluster.start_namesrv()
    cluster.start_broker(messageDelayLevel="1s 1s 1s 1s 1s")
    always_fail = AlwaysFail()
    with cometmq.Producer(group="pg", namesrv=cluster.namesrv_addr) as p:
        p.send("Retried", b"again")
    with push_consumer(cluster, "gm1", "Retried", always_fail,
                       max_reconsume_times=-1):
        wait_until(lambda: 3 in always_fail.calls(), timeout_s=30,
                   what="the third retry of the failing message")
        with cometmq.Admin(namesrv=cluster.namesrv_addr) as admin:
            assert dead_letters(admin, "gm1") == 0
    assert always_fail.calls()[:4] == [0, 1, 2, 3]


def test_negative_max_reconsume_times_other_than_minus_one_is_refused():
    for bad in (-2, -16):
        with pytest.raises(ValueError, match="max_reconsume_times must be -1"):
            cometmq.PushConsumer(group="g", namesrv="127.0.0.1:9876",
                                 max_reconsume_times=bad)
        with pytest.raises(ValueError, match="max_reconsume_times must be -1"):
            cometmq.PushConsumer(group="g", namesrv="127.0.0.1:9876",
                                 orderly=True, max_reconsume_times=bad)
    for fine in (-1, 0, 1):
        cometmq.PushConsumer(group="g", namesrv="127.0.0.1:9876",
                             max_reconsume_times=fine).shutdown()
