"""A group that consumes a topic also consumes the queues added to it."""

import cometmq

from helpers import Collector, wait_until


def _route_queues(admin, topic):
    return sum(q["write_queue_nums"] for q in admin.topic_route(topic)["queue_datas"])


def test_queues_added_while_the_group_is_down_are_consumed(cluster):
    cluster.start_namesrv()
    cluster.start_broker()
    with cometmq.Admin(cluster.namesrv_addr) as admin:
        admin.create_topic("Grow", read_queues=2, write_queues=2)
        with cometmq.Producer("pg-grow", cluster.namesrv_addr,
                              ) as p:
            for i in range(10):
                p.send_orderly("Grow", f"a-{i}".encode(), sharding_key=str(i))
        first = Collector()
        c = cometmq.PushConsumer("cg-grow", cluster.namesrv_addr,
                                 consume_from="LAST_OFFSET",
                                 instance_name="grow-1")
        c.subscribe("Grow")
        c.register_listener(first)
        c.start()
        with cometmq.Producer("pg-grow2", cluster.namesrv_addr) as p:
            for i in range(10):
                p.send("Grow", f"b-{i}".encode())
            wait_until(lambda: len(set(first.bodies())) >= 10, 30, "b-*")
        c.shutdown()
        # The topic grows while the group is down; producers write to the
        # new queues at once.
        admin.create_topic("Grow", read_queues=4, write_queues=4)
        wait_until(lambda: _route_queues(admin, "Grow") == 4, 30, "4 queues")
    with cometmq.Producer("pg-grow3", cluster.namesrv_addr) as p:
        sent = [p.send("Grow", f"c-{i}".encode()) for i in range(20)]
    assert {r.queue_id for r in sent} == {0, 1, 2, 3}
    second = Collector()
    c = cometmq.PushConsumer("cg-grow", cluster.namesrv_addr,
                             consume_from="LAST_OFFSET",
                             instance_name="grow-2")
    c.subscribe("Grow")
    c.register_listener(second)
    c.start()
    try:
        wait_until(lambda: {f"c-{i}".encode() for i in range(20)} <=
                   set(second.bodies()), 20,
                   "every message sent while the group was down")
    finally:
        c.shutdown()
