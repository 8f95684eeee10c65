"""The lite pull consumer's unsubscribe (RocketMQ's
DefaultLitePullConsumer.unsubscribe) through real nameserver and broker
processes."""

import cometmq

from helpers import wait_until


def test_pull_consumer_unsubscribe_gives_the_topic_up(cluster):
    # RocketMQ's DefaultLitePullConsumer.unsubscribe: the topic's queues are
    # given up with what was polled committed; the other topic goes on, and
    # the group resumes the topic later where this consumer left it.
    cluster.start_namesrv()
    cluster.start_broker()
    admin = cometmq.Admin(namesrv=cluster.namesrv_addr)
    for topic in ("PullA", "PullB"):
        admin.create_topic(topic, read_queues=1, write_queues=1)
    producer = cometmq.Producer(group="pg", namesrv=cluster.namesrv_addr)
    producer.start()

    def send(start):
        for i in range(start, start + 5):
            for topic in ("PullA", "PullB"):
                assert producer.send(topic, b"%s-%d" % (topic.encode(), i)) \
                    .status == "SEND_OK"

    def poll_until(consumer, got, count):
        def enough():
            got.extend(consumer.poll(200))
            return len(got) >= count
        wait_until(enough, timeout_s=20, what=f"{count} messages")

    send(0)
    c = cometmq.PullConsumer(group="cg-pull", namesrv=cluster.namesrv_addr)
    try:
        c.subscribe("PullA")
        c.subscribe("PullB")
        c.start()
        first = []
        poll_until(c, first, 10)
        c.unsubscribe("PullA")
        c.unsubscribe("PullNever")  # not subscribed: nothing to do
        assert [q["consumer_offset"]
                for q in admin.consumer_progress("cg-pull", "PullA")] == [5]
        send(5)
        later = []
        poll_until(c, later, 5)
        assert sorted(m.body for m in later) == [b"PullB-%d" % i
                                                 for i in range(5, 10)]
    finally:
        c.shutdown()
    # The next consumer of the group resumes PullA after what was polled.
    again = cometmq.PullConsumer(group="cg-pull", namesrv=cluster.namesrv_addr)
    try:
        again.subscribe("PullA")
        again.start()
        resumed = []
        poll_until(again, resumed, 5)
        assert sorted(m.body for m in resumed) == [b"PullA-%d" % i
                                                   for i in range(5, 10)]
    finally:
        again.shutdown()
        producer.shutdown()
        admin.shutdown()
