"""Queues added to a topic: groups that consumed it before start them at
their first message, so nothing sent to them before a group's next
rebalance is skipped, also across a broker crash right after the change."""

import cometmq

from helpers import Collector, push_consumer, wait_until


def write_queue_count(admin, topic):
    return sum(q["write_queue_nums"]
               for q in admin.topic_route(topic)["queue_datas"])


def test_added_queues_start_at_their_first_message(cluster):
    cluster.start_namesrv()
    broker = cluster.start_broker()
    admin = cometmq.Admin(namesrv=cluster.namesrv_addr)
    admin.create_topic("Grows", read_queues=2, write_queues=2)

    before = Collector()
    with cometmq.Producer(group="grow-pg", namesrv=cluster.namesrv_addr) as p:
        for i in range(10):
            p.send("Grows", f"before-{i}".encode())
    consumer = push_consumer(cluster, "grow-g", "Grows", before)
    try:
        wait_until(lambda: before.count() >= 10, 30, "the first messages")
    finally:
        consumer.shutdown()  # commits its offsets on both queues

    admin.create_topic("Grows", read_queues=4, write_queues=4)
    # Offsets are written with the change: a crash right after keeps them.
    broker.kill()
    broker.start()
    wait_until(lambda: write_queue_count(admin, "Grows") == 4, 30,
               "the route with 4 queues")

    sent = {}
    with cometmq.Producer(group="grow-pg2",
                          namesrv=cluster.namesrv_addr) as p:
        for i in range(40):
            body = f"after-{i}".encode()
            sent[body] = p.send("Grows", body).queue_id
    assert {2, 3} <= set(sent.values()), "no send went to the new queues"

    # LAST_OFFSET, RocketMQ's default, would put a new queue at its end.
    after = Collector()
    consumer = push_consumer(cluster, "grow-g", "Grows", after,
                             consume_from="LAST_OFFSET")
    try:
        wait_until(lambda: set(after.bodies()) >= set(sent), 60,
                   "every message sent after the change")
    finally:
        consumer.shutdown()
    assert not any(b.startswith(b"before-") for b in after.bodies())
