"""A user may not set the properties the client and broker give a meaning
to (RocketMQ's putUserProperty refuses them too). Accepted, TRAN_MSG=true
alone parked a plain send as a transaction half that no producer answered
for: SEND_OK, and the message was never delivered. DELAY, UNIQ_KEY and the
retry properties changed delivery or identity the same silent way."""

import pytest

import cometmq
from cometmq import TransactionState

from helpers import Collector, push_consumer, wait_until

SYSTEM = ["TRAN_MSG", "DELAY", "UNIQ_KEY", "RETRY_TOPIC", "REAL_TOPIC", "TAGS"]


def test_system_properties_are_refused_by_every_send(cluster):
    cluster.start_namesrv()
    cluster.start_broker()
    with cometmq.Admin(cluster.namesrv_addr) as admin:
        admin.create_topic("SysProps", read_queues=2, write_queues=2)
    got = Collector()
    with cometmq.Producer("PGSys", cluster.namesrv_addr) as producer:
        for name in SYSTEM:
            refused = f"property {name} is used by the system"
            props = {name: "true", "mine": "1"}
            with pytest.raises(cometmq.MessageIllegalError, match=refused):
                producer.send("SysProps", b"sync", properties=props)
            with pytest.raises(cometmq.MessageIllegalError, match=refused):
                producer.send_async("SysProps", b"async",
                                    properties=props).result(timeout=10)
            with pytest.raises(cometmq.MessageIllegalError, match=refused):
                producer.send_oneway("SysProps", b"oneway", properties=props)
            with pytest.raises(cometmq.MessageIllegalError, match=refused):
                producer.send_orderly("SysProps", b"orderly", "k",
                                      properties=props)
        with pytest.raises(cometmq.MessageIllegalError, match="name is empty"):
            producer.send("SysProps", b"unnamed", properties={"": "v"})
        ok = producer.send("SysProps", b"kept",
                           properties={"tran_msg": "true", "order": "7"})
        assert ok.status == "SEND_OK"

    with cometmq.Admin(cluster.namesrv_addr) as admin:
        stored = sum(q["max_offset"] for q in admin.topic_stats("SysProps"))
    assert stored == 1, "a refused send stored something"
    with push_consumer(cluster, "CGSys", "SysProps", got,
                       consume_from="FIRST_OFFSET"):
        wait_until(lambda: got.count() >= 1, timeout_s=30,
                   what="the accepted message")
    assert got.bodies() == [b"kept"]
    assert got.messages[0].properties == {"tran_msg": "true", "order": "7"}


def test_transaction_producer_refuses_system_properties(cluster):
    cluster.start_namesrv()
    cluster.start_broker()
    executed = []

    def execute(msg, arg):
        executed.append(msg.body)
        return TransactionState.COMMIT

    with cometmq.TransactionProducer(
            "TxSys", cluster.namesrv_addr,
            lambda msg: TransactionState.UNKNOWN) as producer:
        for name in ("TRAN_MSG", "PGROUP", "DELAY"):
            with pytest.raises(cometmq.MessageIllegalError,
                               match=f"property {name} is used"):
                producer.send_in_transaction("TxSys", b"refused", execute,
                                             properties={name: "false"})
        result = producer.send_in_transaction("TxSys", b"committed", execute,
                                              properties={"p": "v"})
    assert result.local_state == TransactionState.COMMIT
    assert executed == [b"committed"]
