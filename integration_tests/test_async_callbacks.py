"""Done callbacks of send_async futures run on the client's callback thread,
not on its network I/O thread: they may send synchronously, block without
stalling the client's other requests, and shut their producer down.

Each test pauses the broker while it attaches its callback, so the future
is still pending then and the callback runs where completions run (a
callback attached to a finished future runs on the attaching thread)."""

import subprocess
import sys
import textwrap
import threading

import cometmq

from helpers import Collector, push_consumer, wait_until


def attach_while_paused(broker, producer, topic, body, callback):
    """send_async(topic, body) with `callback` attached before the answer."""
    broker.pause()
    try:
        future = producer.send_async(topic, body)
        future.add_done_callback(callback)
    finally:
        broker.resume()
    return future


def run_paused(broker, script):
    """Runs `script` in a fresh interpreter, with `broker` paused from its
    line "ready" to its line "attached" (it reads a line from stdin once
    the broker is paused). Returns the exit code, stdout and stderr."""
    proc = subprocess.Popen([sys.executable, "-c", textwrap.dedent(script)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    # A script hung before its next line would block readline() for good.
    watchdog = threading.Timer(60, proc.kill)
    watchdog.start()
    try:
        assert proc.stdout.readline().strip() == "ready"
        broker.pause()
        try:
            proc.stdin.write("go\n")
            proc.stdin.flush()
            assert proc.stdout.readline().strip() == "attached"
        finally:
            broker.resume()
        out, err = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        raise AssertionError(f"the script hung; its output: {out}{err}")
    finally:
        watchdog.cancel()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return proc.returncode, out, err


def test_a_done_callback_may_send_synchronously(cluster):
    cluster.start_namesrv()
    broker = cluster.start_broker()
    outcome = {}
    nested_done = threading.Event()

    with cometmq.Producer("PGCbNested", cluster.namesrv_addr) as p:
        p.send("TopicCbNested", b"route")

        def send_more(future):
            try:
                outcome["nested"] = p.send("TopicCbNested", b"nested")
            except Exception as e:  # pylint: disable=broad-except
                outcome["error"] = e
            nested_done.set()

        f = attach_while_paused(broker, p, "TopicCbNested", b"outer",
                                send_more)
        assert f.result(10).status == "SEND_OK"
        assert nested_done.wait(10)
    assert "error" not in outcome, outcome["error"]
    assert outcome["nested"].status == "SEND_OK"

    collector = Collector()
    c = push_consumer(cluster, "CGCbNested", "TopicCbNested", collector)
    try:
        expected = {b"route", b"outer", b"nested"}
        wait_until(lambda: expected <= set(collector.bodies()), timeout_s=20,
                   what="the message sent from the callback, and the others")
    finally:
        c.shutdown()


def test_a_slow_done_callback_does_not_stall_a_sync_send(cluster):
    cluster.start_namesrv()
    broker = cluster.start_broker()
    entered, release = threading.Event(), threading.Event()

    def slow(future):
        entered.set()
        release.wait(30)

    with cometmq.Producer("PGCbSlow", cluster.namesrv_addr) as p:
        p.send("TopicCbSlow", b"route")
        attach_while_paused(broker, p, "TopicCbSlow", b"slow", slow)
        assert entered.wait(10)
        try:
            # The answer is read while the callback still blocks.
            result = p.send("TopicCbSlow", b"meanwhile", timeout_ms=2000)
        finally:
            release.set()
        assert result.status == "SEND_OK"


def test_shutdown_from_a_done_callback_then_a_clean_exit(cluster):
    """The callback shuts the producer down with other sends still in
    flight: sends stop at once, the remaining callbacks still run, and the
    interpreter exits right after without waiting for anything itself."""
    cluster.start_namesrv()
    broker = cluster.start_broker()
    script = f"""
        import atexit, sys, threading, cometmq
        ns = "{cluster.namesrv_addr}"
        p = cometmq.Producer("PGCbExit", ns).start()
        p.send("TopicCbExit", b"route")
        shut = threading.Event()
        def done(future):
            print("nested", p.send("TopicCbExit", b"nested").status,
                  flush=True)
            p.shutdown()
            try:
                p.send("TopicCbExit", b"after")
            except cometmq.MQClientError as e:
                print("after shutdown:", e, flush=True)
            shut.set()
        print("ready", flush=True)
        sys.stdin.readline()  # the broker is paused now
        futures = [p.send_async("TopicCbExit", b"m%d" % i) for i in range(50)]
        futures[0].add_done_callback(done)
        print("attached", flush=True)
        assert shut.wait(20)
        # After the threads were joined at exit: every future is resolved.
        atexit.register(lambda: print(
            "resolved at exit", sum(f.done() for f in futures), flush=True))
        print("exiting", flush=True)
    """
    returncode, out, err = run_paused(broker, script)
    assert returncode == 0, err[-2000:]
    assert "nested SEND_OK" in out
    assert "after shutdown:" in out and "not started" in out
    assert "resolved at exit 50" in out
    assert "exiting" in out
    for word in ("terminate", "Abort", "abort", "Fatal Python error"):
        assert word not in err, err[-2000:]


def test_a_producer_freed_by_its_done_callback_exits_cleanly(cluster):
    """The last reference to a producer, with sends still in flight, is a
    done callback's: the producer is freed on the callback thread, where
    its shutdown cannot wait for the callbacks queued behind. The process
    used to die of std::terminate."""
    cluster.start_namesrv()
    broker = cluster.start_broker()
    returncode, out, err = run_paused(broker, f"""
        import sys, time, weakref, cometmq
        ns = "{cluster.namesrv_addr}"
        def fire():
            p = cometmq.Producer("PGCbFreed", ns).start()
            p.send("TopicCbFreed", b"route")
            print("ready", flush=True)
            sys.stdin.readline()  # the broker is paused now
            futures = [p.send_async("TopicCbFreed", b"m%d" % i)
                       for i in range(50)]
            futures[0].add_done_callback(lambda f: p)
            return weakref.ref(p), futures[1:]
        producer, others = fire()
        print("attached", flush=True)
        deadline = time.monotonic() + 20
        while producer() is not None and time.monotonic() < deadline:
            time.sleep(0.01)
        print("freed", producer() is None, flush=True)
        print("sent", sum(f.result(10).status == "SEND_OK" for f in others),
              flush=True)
    """)
    assert returncode == 0, err[-2000:]
    assert "freed True" in out
    assert "sent 49" in out
    assert "must not destroy its producer" not in out
    for word in ("terminate", "Abort", "abort", "Fatal Python error"):
        assert word not in err, err[-2000:]
