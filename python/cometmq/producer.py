"""Producer: sync, async, oneway, orderly and batch sends."""

import concurrent.futures

from cometmq import _core
from cometmq._lifecycle import (Lifecycle, release_elsewhere,
                                 shut_down_elsewhere, translate)
from cometmq.errors import from_core
from cometmq.message import Message, SendResult


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


# Tags, keys and properties are text: str, or bytes holding UTF-8 (the
# client refuses other bytes with MessageIllegalError).
_TEXT = (str, bytes)


def _keys(keys, what="keys"):
    """`keys` (one key, or an iterable of keys) as a list. Only text, as
    RocketMQ's Message.setKeys takes strings: an int key would have to be
    converted by a rule of ours, and a lookup by another spelling of it
    (query_by_key) would find nothing."""
    if keys is None:
        return []
    if isinstance(keys, _TEXT):
        return [keys]
    try:
        keys = list(keys)
    except TypeError:
        raise TypeError(f"{what} must be a str or an iterable of str, not "
                        f"{type(keys).__name__}") from None
    for key in keys:
        if not isinstance(key, _TEXT):
            raise TypeError(f"{what} must be a str or an iterable of str; "
                            f"got a {type(key).__name__}: {key!r}")
    return keys


def _tags(tags, what="tags"):
    if tags is None:
        return ""
    if not isinstance(tags, _TEXT):
        raise TypeError(f"{what} must be a str, not {type(tags).__name__}")
    return tags


def _properties(properties, what="properties"):
    """`properties` as a dict of str to str, as RocketMQ's
    putUserProperty(String, String)."""
    if properties is None:
        return {}
    try:
        items = dict(properties).items()
    except (TypeError, ValueError):
        raise TypeError(f"{what} must be a dict of str to str, not "
                        f"{type(properties).__name__}") from None
    for name, value in items:
        if not isinstance(name, _TEXT) or not isinstance(value, _TEXT):
            raise TypeError(f"{what} must map str to str; got {name!r}: "
                            f"{value!r}")
    return dict(items)


# What a batch entry given as a dict may hold (the batch's topic is given
# once, for all entries).
_BATCH_FIELDS = ("body", "tags", "keys", "properties")


def _batch_item(topic, default_tags, item, index):
    """One entry of send_batch as the core's (topic, body, tags, keys,
    properties, delay_level)."""
    what = f"batch entry {index}"
    if isinstance(item, Message):
        return (item.topic or topic, _body(item.body),
                _tags(item.tags, f"{what}'s tags") or default_tags,
                _keys(item.keys, f"{what}'s keys"),
                _properties(item.properties, f"{what}'s properties"),
                item.delay_level)
    if isinstance(item, dict):
        unknown = sorted(set(item) - set(_BATCH_FIELDS))
        if unknown:
            raise TypeError(f"{what} has unknown fields {unknown}; a dict "
                            f"entry may hold {', '.join(_BATCH_FIELDS)}")
        if "body" not in item:
            raise TypeError(f"{what} has no body")
        return (topic, _body(item["body"]),
                _tags(item.get("tags"), f"{what}'s tags") or default_tags,
                _keys(item.get("keys"), f"{what}'s keys"),
                _properties(item.get("properties"), f"{what}'s properties"),
                0)
    return (topic, _body(item), default_tags, [], {}, 0)


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
            topic, _body(body), _tags(tags), _keys(keys),
            _properties(properties), delay_level, self._timeout(timeout_ms)))

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
            self._core.send_async(topic, _body(body), _tags(tags),
                                  _keys(keys), _properties(properties),
                                  delay_level, timeout_ms, done)
        except _core.ClientError as e:
            future.set_exception(from_core(e))
        return future

    @translate
    def send_oneway(self, topic, body, tags="", keys=None, properties=None):
        self._core.send_oneway(topic, _body(body), _tags(tags), _keys(keys),
                               _properties(properties))

    @translate
    def send_orderly(self, topic, body, sharding_key, tags="", keys=None,
                     properties=None):
        """Messages with the same sharding_key go to the same queue, in
        order (RocketMQ's send(msg, selector, arg) with a hash selector).
        A key that is not a str is taken as str(sharding_key), so an int
        order id works; None raises ValueError (it used to be sent as the
        key "None", putting every such message on one queue). An empty
        string is a key like any other, as in RocketMQ."""
        if sharding_key is None:
            raise ValueError("sharding_key must not be None: messages of "
                             "one key (an order id, say) go to one queue")
        return SendResult.from_core(self._core.send_orderly(
            topic, _body(body), str(sharding_key), _tags(tags), _keys(keys),
            _properties(properties)))

    @translate
    def send_batch(self, topic, messages=None, tags="", *, bodies=None):
        """Sends `messages` to `topic` in one request, as RocketMQ's
        send(Collection<Message>): all are stored, on one queue, or none.
        Each entry is a body (bytes-like), a cometmq.Message (its body,
        tags, keys and properties; its topic, if set, must be `topic`), or
        a dict with "body" and optionally "tags", "keys" and "properties".
        `tags` is for the entries that give none. A batch cannot be
        delayed, and properties with system names (TAGS, KEYS, UNIQ_KEY,
        ...) are refused, as for send(): MessageIllegalError. The result's
        msg_id lists the entries' ids, comma-separated, in order.
        `bodies=` is the parameter's earlier name."""
        if bodies is not None:
            if messages is not None:
                raise TypeError("give messages or bodies, not both")
            messages = bodies
        if messages is None:
            raise TypeError("send_batch() needs the messages to send")
        if isinstance(messages, (bytes, bytearray, memoryview, str, dict,
                                 Message)):
            raise TypeError("send_batch takes a list of messages; use send() "
                            "for one")
        default_tags = _tags(tags)
        return SendResult.from_core(self._core.send_batch(
            [_batch_item(topic, default_tags, item, i)
             for i, item in enumerate(messages)]))
