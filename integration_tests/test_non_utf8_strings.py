"""Tags, keys and properties that are not UTF-8 (bytes in another charset,
such as GBK) are refused by the producer with a clear error. They travel in
the send header's protobuf string fields: sent as they were, the broker
could not parse the frame and closed the connection, so the send failed
three times with "connection lost" and every other request on that shared
connection failed with it."""

import glob

import pytest

import cometmq

GBK = b"\xd6\xd0\xce\xc4"  # "Chinese" in GBK: not UTF-8


def test_non_utf8_text_is_refused_before_it_reaches_the_broker(cluster):
    cluster.start_namesrv()
    broker = cluster.start_broker()
    with cometmq.Admin(cluster.namesrv_addr) as admin:
        admin.create_topic("TopicUtf", read_queues=1, write_queues=1)
    with cometmq.Producer("PGUtf", cluster.namesrv_addr) as producer:
        with pytest.raises(cometmq.MessageIllegalError, match="UTF-8"):
            producer.send("TopicUtf", b"m1", tags=GBK)
        with pytest.raises(cometmq.MessageIllegalError, match="UTF-8"):
            producer.send("TopicUtf", b"m2", properties={"city": GBK})
        with pytest.raises(cometmq.MessageIllegalError, match="separators"):
            producer.send("TopicUtf", b"m3", properties={"a": "x\x02y"})
        ok = producer.send("TopicUtf", b"m4", tags="\u4e2d\u6587")
        assert ok.status == "SEND_OK"
    with cometmq.PullConsumer("CGUtf", cluster.namesrv_addr) as consumer:
        consumer.subscribe("TopicUtf")
        consumer.start()
        got = []
        for _ in range(50):
            got.extend(consumer.poll(200))
            if got:
                break
    assert [(m.body, m.tags) for m in got] == [(b"m4", "\u4e2d\u6587")]
    logs = "".join(open(p, encoding="utf-8", errors="replace").read()
                   for p in glob.glob(f"{broker.log_dir}/*.log"))
    assert "not a valid Header" not in logs
