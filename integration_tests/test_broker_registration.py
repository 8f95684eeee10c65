"""How a broker's registrations reach its NameServers, through the real
mqnamesrv and mqbroker: every NameServer is asked at once, so a hung one
delays no other; a topic table larger than splitRegistrationSize is sent in
parts that each NameServer merges; a table over the 16 MiB frame limit
still registers."""

import os
import time

import cometmq

from helpers import mqadmin, wait_until

CLUSTER = "DefaultCluster"


def routed(admin, topic):
    """True when the admin's NameServer routes `topic`."""
    try:
        admin.topic_route(topic)
        return True
    except cometmq.TopicNotExistError:
        return False


def route_queues(admin, topic):
    """(read, write) queue counts of the topic's only broker."""
    queue = admin.topic_route(topic)["queue_datas"][0]
    return queue["read_queue_nums"], queue["write_queue_nums"]


def test_topic_reaches_the_live_namesrv_while_another_is_hung(cluster):
    """With the first of two NameServers hung (SIGSTOP: its connection stays
    open, nothing answers), a topic the broker creates reaches the second
    one's route in milliseconds. Asked one after another, the second was
    asked only after the first's 3 s request timeout, every round."""
    hung = cluster.start_namesrv()
    live = cluster.start_namesrv()
    cluster.start_broker()  # namesrvAddr: hung first, then live
    admin = cometmq.Admin(namesrv=live.addr)
    admin.start()
    producer = cometmq.Producer(group="RegistrationProducer",
                                namesrv=live.addr)
    producer.start()
    try:
        producer.send("TopicBeforeHang", b"x")  # routes to TBW102 are warm
        hung.pause()
        started = time.monotonic()
        # Created on the broker by this send (autoCreateTopicEnable), which
        # registers again at once; the send itself does not wait for it.
        producer.send("TopicWhileHung", b"x")
        wait_until(lambda: routed(admin, "TopicWhileHung"), 30,
                   "the new topic on the live NameServer")
        took = time.monotonic() - started
        print(f"\nroute on the live NameServer after {took:.2f} s")
        assert took < 1.5, f"the route took {took:.1f} s"
    finally:
        hung.resume()
        producer.shutdown()
        admin.shutdown()


def test_stop_waits_for_a_registration_to_hung_namesrvs_once(cluster):
    """A stop waits for the registration in progress, then unregisters.
    With three of four NameServers hung, that registration takes one 3 s
    timeout for all of them (asked one after another: 9 s), and the
    unregistration another: about 6 s in all, not 12."""
    namesrvs = [cluster.start_namesrv() for _ in range(4)]
    broker = cluster.start_broker()
    producer = cometmq.Producer(group="RegistrationProducer",
                                namesrv=namesrvs[0].addr)
    producer.start()
    try:
        for ns in namesrvs[1:]:
            ns.pause()
        # Creates the topic: the broker registers again at once.
        producer.send("TopicBeforeStop", b"x")
        admin = cometmq.Admin(namesrv=namesrvs[0].addr)
        admin.start()
        wait_until(lambda: routed(admin, "TopicBeforeStop"), 30,
                   "the registration in progress")
        admin.shutdown()
        started = time.monotonic()
        assert broker.stop() == 0
        took = time.monotonic() - started
        print(f"\nstop during a registration, 3 of 4 name servers hung: "
              f"{took:.2f} s")
        assert took < 9, f"the stop took {took:.1f} s"
    finally:
        for ns in namesrvs[1:]:
            ns.resume()
        producer.shutdown()


def test_split_registration_routes_every_topic_and_drops_a_deleted_one(
        cluster):
    """30 topics registered 5 per request: every one is routed on both
    NameServers, a topic deleted on the broker (the second NameServer is
    not told) leaves its routes at the next round, and a changed queue
    count (a new data version) reaches them."""
    told = cluster.start_namesrv()
    other = cluster.start_namesrv()
    broker = cluster.start_broker(splitRegistrationSize=5)
    topics = [f"Split{i:02d}" for i in range(30)]
    admin = cometmq.Admin(namesrv=cluster.namesrv_addr)
    admin.start()
    told_admin = cometmq.Admin(namesrv=told.addr)
    told_admin.start()
    other_admin = cometmq.Admin(namesrv=other.addr)
    other_admin.start()
    try:
        for topic in topics:
            admin.create_topic(topic, read_queues=2, write_queues=2)
        for a in (told_admin, other_admin):
            for topic in topics:
                assert routed(a, topic), topic

        result = mqadmin("deleteTopic", "-n", told.addr, "-c", CLUSTER,
                         "-t", "Split07")
        assert result.returncode == 0, result.stderr
        wait_until(lambda: not routed(other_admin, "Split07"), 15,
                   "the deleted topic to leave the second NameServer")
        for topic in topics:
            if topic != "Split07":
                assert routed(other_admin, topic), topic

        admin.create_topic("Split21", read_queues=6, write_queues=6)
        for a in (told_admin, other_admin):
            assert route_queues(a, "Split21") == (6, 6)
            assert route_queues(a, "Split22") == (2, 2)

        # A broker restarted (its table read back from disk) is routed
        # whole again, deleted topic excepted.
        broker.kill()
        wait_until(lambda: not routed(other_admin, "Split00"), 30,
                   "the killed broker to leave the routes")
        broker.start()
        for topic in topics:
            assert routed(other_admin, topic) == (topic != "Split07"), topic
    finally:
        for a in (admin, told_admin, other_admin):
            a.shutdown()


def test_topic_table_over_the_frame_limit_still_registers(cluster):
    """130,000 topics of 120 characters take about 17 MB in one request,
    over the 16 MiB frame limit: the broker sent nothing and was in no
    route. Split in parts of splitRegistrationSize (800) it registers."""
    namesrv = cluster.start_namesrv()
    broker = cluster.start_broker(start=False)
    count = 130_000
    names = [f"Big{i:06d}".ljust(120, "x") for i in range(count)]
    os.makedirs(os.path.join(broker.store, "config"))
    with open(os.path.join(broker.store, "config", "topics.json"), "w") as f:
        f.write("# CometMQ topics: topic=readQueueNums,writeQueueNums,"
                "perm,order\n")
        for name in names:
            f.write(f"{name}=1,1,6,0\n")
    started = time.monotonic()
    broker.start()
    print(f"\nbroker with {count} topics ready after "
          f"{time.monotonic() - started:.1f} s")
    admin = cometmq.Admin(namesrv=namesrv.addr)
    admin.start()
    try:
        # Start() registers before the broker reports ready.
        for name in (names[0], names[count // 2], names[-1]):
            assert routed(admin, name), name
    finally:
        admin.shutdown()
