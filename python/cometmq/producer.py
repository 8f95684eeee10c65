"""Producer: sync, async, oneway, orderly and batch sends."""

import concurrent.futures

from cometmq import _core
from cometmq._lifecycle import (Lifecycle, release_elsewhere,
                                 shut_down_elsewhere, translate)
from cometmq.errors import from_core
from cometmq.message import SendResult


def _body(body):
    """`body` as bytes. Only bytes-like objects: bytes(5) would be five zero
    bytes, and bytes(["a"]) a puzzling error."""
    try:
        return bytes(memoryview(body))
    except TypeError:
        raise TypeError("message body must be bytes, bytearray or memoryview, "
                        f"not {type(body).__name__}") from None


def _positive(name, value):
    if value <= 0:
        raise ValueError(f"{name} must be positive, not {value}")
    return value


def _check_options(send_timeout_ms, retry_times):
    _positive("send_timeout_ms", send_timeout_ms)
    if retry_times < 0:
        raise ValueError(
            f"retry_times must not be negative, not {retry_times}")


def _keys(keys):
    if keys is None:
        return []
    if isinstance(keys, str):
        return [keys]
    return list(keys)


class Producer(Lifecycle):
    """Sends messages. `namesrv` may list several NameServers: "a:9876;b:9876"."""

    def __init__(self, group, namesrv, send_timeout_ms=3000, retry_times=2):
        super().__init__()
        _check_options(send_timeout_ms, retry_times)
        self.group = group
        self.send_timeout_ms = send_timeout_ms
        self._core = _core.Producer(group, namesrv, send_timeout_ms,
                                    retry_times)

    @translate
    def _start(self):
        self._core.start()

    def _shutdown(self):
        # Sends stop at once, also on the client's callback thread (in a done
        # callback). There the core cannot wait for the callbacks still
        # queued behind this one (they run on this thread once it returns),
        # so a second shutdown on another thread waits for them, and exit
        # waits for that thread.
        self._core.shutdown()
        if _core.in_callback_thread():
            shut_down_elsewhere(self._core.shutdown,
                                "cometmq-producer-shutdown")

    def __del__(self):
        # Freed on the callback thread (a done callback held the last
        # reference): the core's destructor would wait there for the
        # callbacks queued behind this one.
        core = self.__dict__.get("_core")
        if core is not None and _core.in_callback_thread():
            release_elsewhere(core, None, "cometmq-producer-release")

    @translate
    def send(self, topic, body, tags="", keys=None, properties=None,
             delay_level=0, timeout_ms=None):
        """Sends and waits; timeout_ms (default: the producer's
        send_timeout_ms) bounds the whole call, retries included."""
        return SendResult.from_core(self._core.send(
            topic, _body(body), tags or "", _keys(keys), properties or {},
            delay_level, self._timeout(timeout_ms)))

    def _timeout(self, timeout_ms):
        if timeout_ms is None:
            return self.send_timeout_ms
        return _positive("timeout_ms", timeout_ms)

    def send_async(self, topic, body, tags="", keys=None, properties=None,
                   delay_level=0, timeout_ms=None):
        """Returns a concurrent.futures.Future resolving to a SendResult
        within timeout_ms (default: the producer's send_timeout_ms). The
        send cannot be cancelled: the future is running from the start.

        The future is resolved, and its done callbacks run, on the client's
        callback thread, one send at a time in completion order (on the
        caller's thread when the message is refused before sending). A done
        callback may block, send(), or shutdown() the producer; while it
        runs, later callbacks of the client wait, but its network I/O goes
        on."""
        timeout_ms = self._timeout(timeout_ms)
        future = concurrent.futures.Future()
        future.set_running_or_notify_cancel()

        def done(result, error):
            if error is None:
                future.set_result(SendResult.from_core(result))
            else:
                future.set_exception(from_core(_core.ClientError(*error)))

        try:
            self._core.send_async(topic, _body(body), tags or "", _keys(keys),
                                  properties or {}, delay_level, timeout_ms,
                                  done)
        except _core.ClientError as e:
            future.set_exception(from_core(e))
        return future

    @translate
    def send_oneway(self, topic, body, tags="", keys=None, properties=None):
        self._core.send_oneway(topic, _body(body), tags or "", _keys(keys),
                               properties or {})

    @translate
    def send_orderly(self, topic, body, sharding_key, tags="", keys=None,
                     properties=None):
        """Messages with the same sharding_key go to the same queue, in order."""
        return SendResult.from_core(self._core.send_orderly(
            topic, _body(body), str(sharding_key), tags or "", _keys(keys),
            properties or {}))

    @translate
    def send_batch(self, topic, bodies, tags=""):
        return SendResult.from_core(self._core.send_batch(
            topic, [_body(b) for b in bodies], tags or ""))
