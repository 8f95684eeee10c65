"""Tables larger than one 16 MiB frame, through the real mqbroker,
mqnamesrv and mqadmin: a slave copies its master's topic table, consumer
offsets and consumer groups whatever their size, and `mqadmin topicList`
lists every topic a NameServer routes. Each table is written into the
master's config files before it starts (as a broker with that many topics
would have them), which is far faster than creating 130,000 topics."""

import os
import time

from helpers import mqadmin, wait_until

COUNT = 130_000
# 127 characters, the longest name allowed: 130,000 of them take about
# 17 MB as bare names, over the 16 MiB frame limit in any encoding.
WIDTH = 127
FAST = {"registerBrokerIntervalMillis": 1000,
        "slaveSyncIntervalMillis": 500,
        "flushConsumerOffsetInterval": 500}


def big_names(prefix, count=COUNT, width=WIDTH):
    return [f"{prefix}{i:06d}".ljust(width, "x") for i in range(count)]


def write_config(store, name, header, lines):
    """Writes `store`/config/`name` as the broker writes it."""
    os.makedirs(os.path.join(store, "config"), exist_ok=True)
    with open(os.path.join(store, "config", name), "w") as f:
        f.write(header)
        f.writelines(lines)


def write_topics(store, names):
    write_config(store, "topics.json",
                 "# CometMQ topics: topic=readQueueNums,writeQueueNums,"
                 "perm,order\n",
                 (f"{name}=1,1,6,0\n" for name in names))


def read_keys(store, name):
    """The keys of a config file's `key=value` lines ({} when missing)."""
    keys = {}
    try:
        with open(os.path.join(store, "config", name)) as f:
            for line in f:
                if line.startswith("#") or "=" not in line:
                    continue
                key, _, value = line.rstrip("\n").partition("=")
                keys[key] = value
    except FileNotFoundError:
        pass
    return keys


def start_pair(cluster, **master_tables):
    """A master whose config files hold `master_tables` (file name ->
    (header, lines)), and its slave. Returns (master, slave)."""
    master = cluster.start_broker(start=False, brokerRole="ASYNC_MASTER",
                                  **FAST)
    for name, (header, lines) in master_tables.items():
        write_config(master.store, name, header, lines)
    started = time.monotonic()
    master.start()
    print(f"\nmaster ready after {time.monotonic() - started:.1f} s")
    slave = cluster.start_broker(broker_id=1, brokerRole="SLAVE", **FAST)
    return master, slave


def wait_copied(slave, name, expected, what, timeout_s=60):
    """Until the slave's config file `name` holds every key of `expected`
    (key -> value) with its value."""
    started = time.monotonic()

    def copied():
        keys = read_keys(slave.store, name)
        return all(keys.get(k) == v for k, v in expected.items())

    wait_until(copied, timeout_s, what)
    print(f"{what}: copied after {time.monotonic() - started:.1f} s")


def test_slave_copies_a_topic_table_over_the_frame_limit(cluster):
    """130,000 topics of 127 characters: the master's answer to the slave's
    copy (GET_ALL_TOPIC_CONFIG) was over the 16 MiB frame limit, so the
    slave never had one of them. Copied in pages, it has every topic."""
    cluster.start_namesrv()
    names = big_names("Topic")
    topics = ("# CometMQ topics: topic=readQueueNums,writeQueueNums,perm,"
              "order\n", [f"{n}=1,1,6,0\n" for n in names])
    master, slave = start_pair(cluster, **{"topics.json": topics})
    wait_copied(slave, "topics.json", {n: "1,1,6,0" for n in names},
                "the master's 130,000 topics on the slave")


def test_slave_copies_offsets_and_groups_over_the_frame_limit(cluster):
    """A master with 130,000 consumer groups (17 MB as the slave's copy
    asks for them) and offsets of 130,000 group@topic pairs of 4 queues
    each (19 MB): neither reached the slave, which an answer over the frame
    limit left as it was. Copied in pages, both arrive whole."""
    cluster.start_namesrv()
    groups = big_names("Group")
    topics = big_names("T", width=120)
    offset_lines = [f"Consumer@{t}=0:11,1:12,2:13,3:14\n" for t in topics]
    master, slave = start_pair(cluster, **{
        "subscriptionGroup.json": (
            "# CometMQ consumer groups: group=consumeEnable,retryMaxTimes,"
            "retryQueueNums\n", [f"{g}=1,16,1\n" for g in groups]),
        "consumerOffset.json": (
            "# CometMQ consumer offsets: group@topic=queueId:offset,...\n",
            offset_lines),
    })
    wait_copied(slave, "subscriptionGroup.json",
                {g: "1,16,1" for g in groups},
                "the master's 130,000 consumer groups on the slave")
    wait_copied(slave, "consumerOffset.json",
                {f"Consumer@{t}": "0:11,1:12,2:13,3:14" for t in topics},
                "the master's 130,000 group@topic offsets on the slave")


def test_topic_list_over_the_frame_limit(cluster):
    """`mqadmin topicList` with 140,000 topics of 127 characters routed:
    the NameServer's whole list (GET_ALL_TOPIC_LIST_FROM_NAMESERVER) was
    over the 16 MiB frame limit and mqadmin failed. Asked in pages it
    lists every topic."""
    namesrv = cluster.start_namesrv()
    broker = cluster.start_broker(start=False)
    names = big_names("Listed", count=140_000)
    write_topics(broker.store, names)
    broker.start()
    started = time.monotonic()
    result = mqadmin("topicList", "-n", namesrv.addr)
    print(f"\ntopicList took {time.monotonic() - started:.1f} s")
    assert result.returncode == 0, result.stderr
    listed = set(result.stdout.split())
    missing = [n for n in names if n not in listed]
    assert not missing, f"{len(missing)} topics missing, e.g. {missing[0]}"
