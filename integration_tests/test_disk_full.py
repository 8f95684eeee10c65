"""The store on a filesystem that really runs out of space (ENOSPC).

test_consume_side covers the broker's own "disk full" threshold
(diskSpaceWarningLevelRatio); here the disk fills for real while producers
send, below any threshold the broker watches: a new commit log segment, a
consume queue file and the config files then fail with ENOSPC. Every send
must be acknowledged or refused with a clear error, the broker must survive
a SIGKILL and start again while the disk is still full, and once space is
freed it takes sends again and every acknowledged message is there.

Needs root (a small tmpfs is mounted for the store); skipped otherwise.
"""

import collections
import os
import subprocess

import cometmq
import pytest

from helpers import wait_until

TOPIC = "Full"


@pytest.fixture
def small_fs(tmp_path):
    """A 24 MiB tmpfs, unmounted after the test (and after the cluster
    fixture, which a test requests after this one, has stopped the broker)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mount_point = tmp_path / "small_fs"
    mount_point.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", str(mount_point)],
        capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs: {mounted.stderr.strip()}")
    try:
        yield str(mount_point)
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def fill(path):
    """Takes every free byte of the filesystem holding `path` with one file;
    returns its name."""
    filler = os.path.join(path, "filler")
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        st = os.statvfs(path)
        os.posix_fallocate(fd, 0, st.f_bavail * st.f_frsize)
    finally:
        os.close(fd)
    assert os.statvfs(path).f_bavail == 0
    return filler


def send_until_refused(producer, acked, refusals, start):
    """Sends 1 KiB messages until 20 in a row are refused; records each
    acknowledged one by (queue, offset) and each refusal's reason."""
    in_a_row = 0
    i = start
    while in_a_row < 20:
        body = b"m%d-" % i + b"x" * 1000
        i += 1
        try:
            r = producer.send(TOPIC, body, timeout_ms=3000)
        except cometmq.ServiceNotAvailableError as e:
            in_a_row += 1
            reason = ("disk is full" if "disk is full" in str(e) else
                      "No space left on device" if "No space left" in str(e)
                      else str(e))
            refusals[reason] += 1
            continue
        assert r.status == "SEND_OK"
        acked[(r.queue_id, r.queue_offset)] = body
        in_a_row = 0
    return i


def test_a_really_full_disk_refuses_sends_and_keeps_every_acknowledged_message(
        small_fs, cluster):
    cluster.start_namesrv()
    broker = cluster.start_broker(
        storePathRootDir=os.path.join(small_fs, "store"),
        mappedFileSizeCommitLog=2 * 1024 * 1024,
        # 1000 entries a file: each queue needs a new one while the disk is
        # full, so dispatching stops on ENOSPC too.
        mappedFileSizeConsumeQueue=20000,
        # Forced cleaning would delete the oldest segments to make room: this
        # test is about what the store does when no room can be made.
        cleanFileForciblyEnable="false")
    admin = cometmq.Admin(namesrv=cluster.namesrv_addr)
    admin.create_topic(TOPIC, read_queues=2, write_queues=2)
    admin.shutdown()

    acked = {}
    refusals = collections.Counter()
    with cometmq.Producer(group="pg", namesrv=cluster.namesrv_addr,
                          retry_times=0) as p:
        for i in range(1500):
            r = p.send(TOPIC, b"m%d-" % i + b"x" * 1000)
            acked[(r.queue_id, r.queue_offset)] = b"m%d-" % i + b"x" * 1000
        filler = fill(small_fs)
        send_until_refused(p, acked, refusals, 1500)
    # Refusals name the cause: no space for a new segment, or the broker's
    # own full-disk check once it has measured the disk.
    assert set(refusals) <= {"No space left on device", "disk is full"}, \
        refusals
    assert len(acked) > 1500  # the open segment still took messages

    broker.kill()
    broker.start()  # while the disk is still full
    os.remove(filler)
    with cometmq.Producer(group="pg", namesrv=cluster.namesrv_addr,
                          retry_times=0) as p:
        def sent():
            try:
                r = p.send(TOPIC, b"after", timeout_ms=3000)
            except cometmq.ServiceNotAvailableError:
                return False
            acked[(r.queue_id, r.queue_offset)] = b"after"
            return True
        wait_until(sent, timeout_s=60, what="a send once space is freed")

    got = {}
    with cometmq.PullConsumer(group="cg-full",
                              namesrv=cluster.namesrv_addr) as consumer:
        consumer.subscribe(TOPIC)
        consumer.start()

        def all_read():
            for m in consumer.poll(1000):
                got[(m.queue_id, m.queue_offset)] = m.body
            # By key: a send that failed may have been stored too.
            return acked.keys() <= got.keys()
        wait_until(all_read, timeout_s=60, what="every acknowledged message")
    assert {k: got.get(k) for k in acked} == acked
