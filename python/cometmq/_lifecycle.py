"""Shuts every started client down at interpreter exit, before Python's
own teardown, so no client thread calls into a finalizing interpreter."""

import atexit
import functools
import threading
import weakref

from cometmq import _core
from cometmq.errors import MQClientError, from_core

_live = weakref.WeakSet()


def track(obj):
    _live.add(obj)


@atexit.register
def _shutdown_all():
    for obj in list(_live):
        try:
            obj.shutdown()
        except Exception:  # pylint: disable=broad-except
            pass


def shut_down_elsewhere(shutdown, name):
    """Runs `shutdown` on a new thread named `name`, for a shutdown asked
    for (or a producer freed) on a client thread (listener, send callback,
    check), which the shutdown would wait for. The thread is non-daemon so
    that exit waits for it; daemon=False is explicit because a thread
    started from a client thread, which Python counts as a daemon, would
    inherit daemon=True."""
    threading.Thread(target=shutdown, name=name, daemon=False).start()


def release_elsewhere(core, callback, name):
    """For a client's __del__ on one of its own threads (a listener, send
    callback or check dropped the last reference, or the garbage collector
    ran there): the core's destructor would wait on that thread for itself.
    Shuts `core` down and drops `callback` (a Callback, or None) on another
    thread instead, which keeps `core` alive until then."""

    def release():
        core.shutdown()
        if callback is not None:
            callback.drop()

    shut_down_elsewhere(release, name)


def translate(fn):
    """Re-raises _core.ClientError as the matching MQClientError."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except _core.ClientError as e:
            raise from_core(e) from None

    return wrapper


class Callback:
    """A Python callable the C++ core calls back, until drop(). The core's
    reference is invisible to the garbage collector: a callable that leads
    back to its client (a bound method of an object holding the client)
    would keep both alive for good, so clients drop theirs at shutdown."""

    def __init__(self, fn=None):
        self.fn = fn

    def __call__(self, *args):
        fn = self.fn
        if fn is None:
            raise RuntimeError("the client was shut down")
        return fn(*args)

    def drop(self):
        self.fn = None


class Lifecycle:
    """start()/shutdown() once each; usable as a context manager."""

    def __init__(self):
        self._started = False
        self._closed = False
        self._starting = False
        self._start_done = threading.Event()
        # start() from several threads at once starts the client once.
        self._start_lock = threading.Lock()

    def _start(self):
        raise NotImplementedError

    def _shutdown(self):
        raise NotImplementedError

    def start(self):
        with self._start_lock:
            if self._closed:
                raise MQClientError(
                    f"this {type(self).__name__} was shut down; create a new "
                    "one", -1, "FAILED_PRECONDITION")
            if self._started:
                return self
            self._starting = True
            try:
                self._start()
                self._started = True
                track(self)
            finally:
                self._starting = False
                self._start_done.set()
        return self

    def shutdown(self):
        # A consumer delivers messages before start() returns: a shutdown
        # from its listener (or another thread) meanwhile waits for the start
        # to end, instead of finding nothing started and doing nothing.
        if self._starting:
            self._start_done.wait()
        if self._started and not self._closed:
            self._closed = True
            self._shutdown()

    # Producers and admins start on entering a `with` block; consumers only
    # after subscribe() and register_listener(), so they start themselves.
    _start_on_enter = True

    def __enter__(self):
        return self.start() if self._start_on_enter else self

    def __exit__(self, *exc):
        self.shutdown()
        return False
