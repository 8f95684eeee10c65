"""Push and pull consumers."""

import datetime
import itertools
import logging
import os
import threading

from cometmq import _core
from cometmq._lifecycle import (Callback, Lifecycle, release_elsewhere,
                                 shut_down_elsewhere, translate)
from cometmq.errors import MessageIllegalError, MQClientError
from cometmq.message import Message

_log = logging.getLogger("cometmq")
_instances = itertools.count()
# Set on a consume thread while it runs a listener.
_in_listener = threading.local()


# RocketMQ's names for a listener's answer (ConsumeConcurrentlyStatus,
# ConsumeOrderlyStatus): code ported from RocketMQ returns them.
_CONSUMED = frozenset({"CONSUME_SUCCESS", "SUCCESS"})
_LATER = frozenset({"RECONSUME_LATER", "SUSPEND_CURRENT_QUEUE_A_MOMENT"})


def _consumed(result, what):
    """A listener's answer as True (consumed) or False (consume later).
    Anything but True, False or one of RocketMQ's status names (a string or
    an enum member of that name) means later, with a warning: taking every
    truthy value as consumed would drop a message whose listener answered
    "RECONSUME_LATER", or RocketMQ's ConsumeStatus.RECONSUME_LATER (1).
    None (no return statement) is later, as a null status in RocketMQ."""
    if isinstance(result, bool) or type(result).__name__ == "bool_":
        return bool(result)
    name = getattr(result, "name", result)
    if isinstance(name, str):
        if name.upper() in _CONSUMED:
            return True
        if name.upper() in _LATER:
            return False
    _log.warning("listener returned %r for %s, not True or False; it will "
                 "be retried", result, what)
    return False


def _consume_from(consume_from):
    """The name of `consume_from`: a str, or an enum member (RocketMQ's
    ConsumeFromWhere ported as an enum) by its name. The core checks it."""
    name = getattr(consume_from, "name", consume_from)
    if not isinstance(name, str):
        raise ValueError("consume_from must be FIRST_OFFSET, LAST_OFFSET or "
                         f"TIMESTAMP, not {consume_from!r}")
    return name


def _timestamp_ms(consume_timestamp_ms, consume_timestamp):
    """The start time for consume_from=TIMESTAMP in ms since the epoch.
    `consume_timestamp` is RocketMQ's consumeTimestamp, "yyyyMMddHHmmss" in
    local time, or a datetime (naive: local time). Neither given: 0, which
    the core takes as half an hour ago (RocketMQ's default)."""
    if consume_timestamp is None:
        return consume_timestamp_ms
    if consume_timestamp_ms:
        raise ValueError("give consume_timestamp_ms or consume_timestamp, "
                         "not both")
    when = consume_timestamp
    if isinstance(when, str):
        try:
            if len(when) != 14 or not when.isdigit():
                raise ValueError(when)
            when = datetime.datetime.strptime(when, "%Y%m%d%H%M%S")
        except ValueError:
            raise ValueError("consume_timestamp must be yyyyMMddHHmmss "
                             f"(RocketMQ's format, local time), not "
                             f"{consume_timestamp!r}") from None
    if not isinstance(when, datetime.datetime):
        raise TypeError("consume_timestamp must be a str yyyyMMddHHmmss or "
                        f"a datetime, not {type(when).__name__}")
    return int(when.timestamp() * 1000)


def _instance_name(given):
    """Each consumer object gets its own client instance unless told
    otherwise, so several consumers of one group can run in one process."""
    return given or f"py{os.getpid()}-{next(_instances)}"


def _subscribe(core, topic, expression, sql):
    """Subscribes `core` to `topic` by tag `expression`, or by the SQL92
    selector `sql` when given (not both)."""
    if sql is not None:
        if expression not in ("*", "", None):
            raise ValueError("give a tag expression or sql, not both")
        core.subscribe_sql(topic, sql)
    else:
        core.subscribe(topic, expression or "*")


class PushConsumer(Lifecycle):
    """Delivers messages to a listener: fn(msg) -> True when consumed; False
    or an exception means "consume later" and the message comes back.
    RocketMQ's answers "CONSUME_SUCCESS" and "RECONSUME_LATER" (strings or
    enum members) mean the same; any other answer, None included, means
    later, with a warning.

    model="CLUSTERING" shares the group's messages among its consumers;
    model="BROADCASTING" gives every consumer every message, and each keeps
    its offsets in a local file,
    <offset_dir>/<client ip>@<instance_name>/<group>/offsets (offset_dir
    defaults to $COMETMQ_OFFSET_DIR, else ~/.cometmq_offsets); give a fixed
    instance_name to resume from it after a restart.

    consume_from says where a group starts on a queue it never committed:
    FIRST_OFFSET, LAST_OFFSET (the default) or TIMESTAMP, also under
    RocketMQ's names CONSUME_FROM_FIRST_OFFSET, CONSUME_FROM_LAST_OFFSET and
    CONSUME_FROM_TIMESTAMP (its deprecated CONSUME_FROM_MIN_OFFSET,
    CONSUME_FROM_MAX_OFFSET and
    CONSUME_FROM_LAST_OFFSET_AND_FROM_MIN_WHEN_BOOT_FIRST mean LAST_OFFSET,
    as there), or an enum member of such a name. For TIMESTAMP,
    consume_timestamp_ms (ms since the epoch) or consume_timestamp
    (RocketMQ's consumeTimestamp, "yyyyMMddHHmmss" in local time, or a
    datetime) gives the time; without either, half an hour ago.

    orderly=True consumes each queue on one thread at a time in queue order
    (in clustering while holding the queue's lock on its broker), so the
    messages of one send_orderly sharding key arrive in send order. There a
    False result or an exception suspends the queue for a second and
    retries the same message; after max_reconsume_times retries it goes to
    the group's dead-letter queue and the queue moves on (never with the
    default max_reconsume_times=-1, as in RocketMQ: the queue waits). Queue
    locks are renewed every lock_interval_ms; keep it well below the
    broker's rebalanceLockMaxLiveTime (60 s).

    Flow control and timeouts as RocketMQ's, for concurrent (not orderly)
    consumers: a queue is not pulled while the messages it holds (pulled,
    not yet consumed) span more than consume_concurrently_max_span offsets
    (consumeConcurrentlyMaxSpan, 2000; tried again every 50 ms), and a
    message whose listener call has run longer than consume_timeout_ms
    (consumeTimeout, 15 minutes) is sent back to the broker for a retry
    (delay level 3) so the queue's committed offset moves past it; the call
    runs on and its late result is ignored, so the message is consumed
    again from the retry topic (in BROADCASTING it is given up). It is
    checked every minute (or every consume_timeout_ms if shorter).

    Batch consumption, as RocketMQ's consumeMessageBatchMaxSize: with
    consume_batch_max_size=N (1 to 1024, default 1; checked by start())
    and register_batch_listener(fn), fn(msgs) gets a list of up to N
    messages of one queue, in queue order, and its answer is the whole
    batch's: True consumes them all; False or an exception fails every one
    of them, each then retried as a failed single message is (sent back
    to the broker and redelivered through the retry topic; orderly: the
    queue is suspended and the same batch retried, a message past
    max_reconsume_times going to the dead-letter queue). A concurrent
    consumer splits what one pull brings into batches of at most N, each a
    listener call on one consume thread; an orderly one takes up to N
    consecutive messages of the queue. N above 1 needs a batch listener
    (start() raises otherwise).

    Subscribe and register the listener, then start(); a `with` block
    shuts the consumer down when it ends. shutdown() from a listener returns
    at once and no further listener call starts; the consumer commits and
    leaves the group once that listener returned."""

    _start_on_enter = False

    def __init__(self, group, namesrv, model="CLUSTERING",
                 consume_from="LAST_OFFSET", consume_timestamp_ms=0,
                 orderly=False, max_reconsume_times=-1, consume_threads=4,
                 instance_name=None, offset_dir=None,
                 lock_interval_ms=20000, consume_timestamp=None,
                 consume_concurrently_max_span=2000,
                 consume_timeout_ms=15 * 60 * 1000, consume_batch_max_size=1):
        super().__init__()
        if (isinstance(max_reconsume_times, bool)
                or not isinstance(max_reconsume_times, int)
                or not -1 <= max_reconsume_times < 2**31):
            raise ValueError(
                "max_reconsume_times must be -1 (the default: 16 retries, "
                "without end when orderly), 0 (a failed message goes "
                "straight to the dead-letter queue) or a positive integer "
                f"below 2**31, not {max_reconsume_times!r}")
        if (isinstance(consume_batch_max_size, bool)
                or not isinstance(consume_batch_max_size, int)):
            raise TypeError("consume_batch_max_size must be an int, not "
                            f"{type(consume_batch_max_size).__name__}")
        # Its range (1 to 1024) is checked by start(), as RocketMQ does; a
        # value the core cannot even hold is refused here.
        if not -2**31 <= consume_batch_max_size < 2**31:
            raise ValueError("consume_batch_max_size must be between 1 and "
                             f"1024, not {consume_batch_max_size}")
        self.group = group
        self._listener = Callback()
        self._batch_size = consume_batch_max_size
        self._batch_listener = False
        self._core = _core.PushConsumer(
            group, namesrv, _instance_name(instance_name), model,
            _consume_from(consume_from),
            _timestamp_ms(consume_timestamp_ms, consume_timestamp),
            max_reconsume_times,
            consume_threads, bool(orderly), str(offset_dir or ""),
            int(lock_interval_ms), int(consume_concurrently_max_span),
            int(consume_timeout_ms), consume_batch_max_size)

    @translate
    def subscribe(self, topic, expression="*", sql=None):
        """Consumes `topic`, before start(). `expression` selects by tag:
        "*" (every message) or tags joined by "||" ("TagA || TagB").
        `sql` instead selects by the messages' properties with a SQL92
        expression, RocketMQ's MessageSelector.bySql, e.g.
        sql="a > 5 AND region = 'eu'" (TAGS names the tag). Property
        values are strings, compared as numbers against numbers; a message
        without a property the expression needs does not match. The brokers
        must run with enablePropertyFilter=true: start() raises
        MQClientError with the broker's reason ("The broker does not support
        consumer to filter message by SQL92") when one refuses. A selector
        that does not compile raises MessageIllegalError here, naming the
        position. Give either expression or sql, not both."""
        _subscribe(self._core, topic, expression, sql)

    @translate
    def unsubscribe(self, topic):
        """Stops consuming `topic` (RocketMQ's unsubscribe), before or
        after start(). Once it returns, no message of the topic reaches
        the listener except those whose call already began, and retries of
        earlier failures, which come through the group's retry topic (as in
        RocketMQ); other topics keep flowing. The topic's queues are given
        up at once, their offsets committed, so subscribing again (or
        another consumer of the group) resumes where this one stopped, and
        brokers are told at once that this consumer no longer subscribes
        it. In CLUSTERING every consumer of the group should unsubscribe:
        the queues the group still assigns to this one are not consumed.
        A topic not subscribed is no error; the group's retry topic
        (%RETRY%<group>) raises MessageIllegalError. May block for a
        moment (up to a second per queue whose listener call is running,
        more for a broker that does not answer the final commit)."""
        self._core.unsubscribe(topic)

    def _check_registration(self, fn, what, signature):
        if not callable(fn):
            raise TypeError(f"listener must be callable: {signature}")
        if self._started or self._starting or self._closed:
            # The consume threads call the listener without a lock.
            raise MQClientError(f"{what}() must come before start()",
                                -1, "FAILED_PRECONDITION")

    def register_listener(self, fn):
        """fn(msg) -> True when consumed, one message per call; replaces
        a batch listener."""
        self._check_registration(fn, "register_listener", "fn(msg) -> bool")
        self._listener = user = Callback(fn)
        self._batch_listener = False

        def listener(raw):
            msg = Message.from_core(raw)
            _in_listener.active = True
            try:
                return _consumed(user(msg), msg.msg_id)
            except Exception:  # pylint: disable=broad-except
                _log.exception("listener failed on %s; it will be retried",
                               msg.msg_id)
                return False
            finally:
                _in_listener.active = False

        self._core.register_listener(listener)

    def register_batch_listener(self, fn):
        """fn(msgs) -> True when the whole list is consumed: up to
        consume_batch_max_size messages of one queue per call (see the
        class docstring); replaces a single-message listener."""
        self._check_registration(fn, "register_batch_listener",
                                 "fn(msgs) -> bool")
        self._listener = user = Callback(fn)
        self._batch_listener = True

        def listener(raws):
            msgs = [Message.from_core(raw) for raw in raws]
            what = (f"{len(msgs)} messages from {msgs[0].msg_id}"
                    if msgs else "an empty batch")
            _in_listener.active = True
            try:
                return _consumed(user(msgs), what)
            except Exception:  # pylint: disable=broad-except
                _log.exception("batch listener failed on %s; they will be "
                               "retried", what)
                return False
            finally:
                _in_listener.active = False

        self._core.register_batch_listener(listener)

    @translate
    def _start(self):
        if (self._listener.fn is not None and not self._batch_listener
                and self._batch_size > 1):
            # The core says so too, in its C++ names.
            raise MessageIllegalError(
                f"consume_batch_max_size is {self._batch_size}, which needs "
                "a batch listener (register_batch_listener); "
                "register_listener's takes one message per call", -1,
                "INVALID_ARGUMENT")
        self._core.start()

    def _shutdown(self):
        if getattr(_in_listener, "active", False):
            # On a consume thread the shutdown would wait for this very
            # listener call: here it only stops delivery, and another thread
            # finishes it once the listener returned.
            self._core.shutdown()
            shut_down_elsewhere(self._finish_shutdown,
                                "cometmq-consumer-shutdown")
            return
        self._finish_shutdown()

    def _finish_shutdown(self):
        self._core.shutdown()
        self._listener.drop()

    def __del__(self):
        # Freed on a consume thread (a listener dropped the last reference,
        # or the garbage collector ran there): the core's destructor would
        # wait there for the consume threads, this one among them.
        core = self.__dict__.get("_core")
        if core is not None and getattr(_in_listener, "active", False):
            release_elsewhere(core, self.__dict__.get("_listener"),
                              "cometmq-consumer-release")

    def owned_queues(self):
        """Queues this consumer pulls now, as "topic@broker:queue"."""
        return self._core.owned_queues()


class PullConsumer(Lifecycle):
    """Polls messages from the queues it owns; commit() records progress.
    Subscribe, then start()."""

    _start_on_enter = False

    def __init__(self, group, namesrv, consume_from="FIRST_OFFSET",
                 consume_timestamp_ms=0, instance_name=None,
                 consume_timestamp=None):
        """consume_from and the timestamps as for PushConsumer."""
        super().__init__()
        self.group = group
        self._core = _core.PullConsumer(
            group, namesrv, _instance_name(instance_name),
            _consume_from(consume_from),
            _timestamp_ms(consume_timestamp_ms, consume_timestamp))

    @translate
    def subscribe(self, topic, expression="*", sql=None):
        """Consumes `topic`, before start(), selected by tag `expression`
        or by a SQL92 `sql` selector, as PushConsumer.subscribe."""
        _subscribe(self._core, topic, expression, sql)

    @translate
    def unsubscribe(self, topic):
        """Stops consuming `topic` (RocketMQ's unsubscribe), before or
        after start(): its queues are given up at once and their polled
        offsets committed, so subscribing again (or another consumer of the
        group) resumes after what was polled; poll() returns no message of
        the topic once this returned, also none already pulled ahead. A
        topic not subscribed is no error."""
        self._core.unsubscribe(topic)

    @translate
    def _start(self):
        self._core.start()

    def _shutdown(self):
        self._core.shutdown()

    @translate
    def poll(self, timeout_ms=1000):
        return [Message.from_core(m) for m in self._core.poll(timeout_ms)]

    @translate
    def commit(self):
        self._core.commit()

    @translate
    def seek(self, topic, broker_name, queue_id, offset):
        self._core.seek(topic, broker_name, queue_id, offset)
