"""Transactional messages: a message is delivered only if its local
transaction commits.

    def execute(msg, arg):
        db.insert(arg)                      # the local transaction
        return cometmq.TransactionState.COMMIT

    def check(msg):                         # the broker asks back later
        return (cometmq.TransactionState.COMMIT if db.has(msg.msg_id)
                else cometmq.TransactionState.ROLLBACK)

    with cometmq.TransactionProducer("tx-group", "127.0.0.1:9876", check) as p:
        p.send_in_transaction("Orders", b"order-1", execute, arg=row)
"""

import enum
import functools
import itertools
import logging
import os
import threading
from dataclasses import dataclass

from cometmq import _core
from cometmq._lifecycle import (Callback, Lifecycle, release_elsewhere,
                                 shut_down_elsewhere, translate)
from cometmq.message import Message, SendResult
from cometmq.producer import (_body, _check_options, _keys, _positive,
                              _properties, _tags)

_log = logging.getLogger("cometmq")
_instances = itertools.count()
# Set on a producer's check thread while it runs the check listener.
_in_check = threading.local()


class TransactionState(str, enum.Enum):
    """What became of a local transaction (RocketMQ's LocalTransactionState)."""
    COMMIT = "COMMIT"      # deliver the message
    ROLLBACK = "ROLLBACK"  # discard it
    UNKNOWN = "UNKNOWN"    # not known yet: the broker asks the check listener


# RocketMQ's Java names (LocalTransactionState) for the same answers.
_JAVA_NAMES = {"COMMIT_MESSAGE": "COMMIT", "ROLLBACK_MESSAGE": "ROLLBACK",
               "UNKNOW": "UNKNOWN"}


def _state(value, what):
    """An answer as a TransactionState: a member, its name in any case, the
    name of a member of another enum (RocketMQ's TransactionStatus, whose
    COMMIT is 0, is read by its name, not its value), or RocketMQ's Java
    name. Anything else is UNKNOWN, with a warning."""
    if isinstance(value, TransactionState):
        return value
    candidates = [getattr(value, "value", value)]
    if isinstance(value, enum.Enum):
        candidates.insert(0, value.name)
    for candidate in candidates:
        name = str(candidate).upper()
        try:
            return TransactionState(_JAVA_NAMES.get(name, name))
        except ValueError:
            pass
    _log.warning("%s returned %r, not a TransactionState; taken as "
                 "UNKNOWN", what, value)
    return TransactionState.UNKNOWN


def _check(check_listener, raw):
    msg = Message.from_core(raw)
    _in_check.active = True
    try:
        state = check_listener(msg)
    except Exception:  # pylint: disable=broad-except
        _log.exception("check listener failed on transaction %s; "
                       "answered UNKNOWN", msg.msg_id)
        return TransactionState.UNKNOWN.value
    finally:
        _in_check.active = False
    return _state(state, "check listener").value


@dataclass
class TransactionSendResult(SendResult):
    """A SendResult of the half message plus the transaction's outcome as
    the producer saw it. end_error is empty when the broker recorded
    local_state; otherwise it says why not (the broker will then ask the
    check listener)."""
    transaction_id: str = ""
    local_state: TransactionState = TransactionState.UNKNOWN
    end_error: str = ""

    @classmethod
    def from_core(cls, d):
        d = dict(d)
        d["local_state"] = TransactionState(d["local_state"])
        return cls(**d)


class TransactionProducer(Lifecycle):
    """Sends messages inside local transactions (RocketMQ's
    TransactionMQProducer).

    send_in_transaction() stores the message as a half message no consumer
    sees, runs local_executor(msg, arg) and tells the broker its answer:
    COMMIT delivers the message, ROLLBACK discards it, UNKNOWN (also when the
    executor raises) leaves it open. For open transactions the broker calls
    back check_listener(msg) -> TransactionState on a thread of this
    producer, every transactionCheckInterval, up to transactionCheckMax
    times before it discards the message. msg.msg_id is the transaction id.

    Each TransactionProducer has its own client connection (instance_name)
    so that its heartbeat_interval_ms applies: a broker only asks back
    producers that sent it a heartbeat since it started. From start() on it
    heartbeats every broker the name servers know, so it is also asked about
    the transactions an earlier producer of its group left open.
    """

    def __init__(self, group, namesrv, check_listener, send_timeout_ms=3000,
                 retry_times=2, heartbeat_interval_ms=30000,
                 instance_name=None):
        super().__init__()
        if not callable(check_listener):
            raise TypeError("check_listener must be callable: "
                            "fn(msg) -> TransactionState")
        _check_options(send_timeout_ms, retry_times)
        _positive("heartbeat_interval_ms", heartbeat_interval_ms)
        self.group = group
        # Not a bound method: the core's reference would keep this object.
        self._check_listener = Callback(check_listener)
        self._core = _core.TransactionProducer(
            group, namesrv,
            instance_name or f"pytx{os.getpid()}-{next(_instances)}",
            send_timeout_ms, retry_times, heartbeat_interval_ms,
            functools.partial(_check, self._check_listener))

    @translate
    def _start(self):
        self._core.start()

    def _shutdown(self):
        if getattr(_in_check, "active", False):
            # On the check thread the core refuses to shut down (it would
            # join this thread): another thread does it once the check
            # listener returned.
            shut_down_elsewhere(self._finish_shutdown,
                                "cometmq-producer-shutdown")
            return
        self._finish_shutdown()

    def _finish_shutdown(self):
        self._core.shutdown()
        self._check_listener.drop()

    def __del__(self):
        # Freed on the check thread (the check listener dropped the last
        # reference, or the garbage collector ran there): the core's
        # destructor would join that thread from itself.
        core = self.__dict__.get("_core")
        if core is not None and getattr(_in_check, "active", False):
            release_elsewhere(core, self.__dict__.get("_check_listener"),
                              "cometmq-producer-release")

    @translate
    def send_in_transaction(self, topic, body, local_executor, tags="",
                            keys=None, properties=None, arg=None):
        """Returns a TransactionSendResult; raises MQClientError when the
        half message could not be stored (the executor does not run then).
        A half stored with a status other than SEND_OK (not flushed or not
        replicated in time) is rolled back without running the executor, as
        in RocketMQ: local_state is then ROLLBACK. A KeyboardInterrupt or
        SystemExit from the executor is raised here once the broker was
        told UNKNOWN."""

        interrupted = []

        def execute(raw):
            msg = Message.from_core(raw)
            try:
                state = local_executor(msg, arg)
            except Exception:  # pylint: disable=broad-except
                _log.exception("local transaction executor failed on %s; "
                               "its state is UNKNOWN", msg.msg_id)
                return TransactionState.UNKNOWN.value
            except BaseException as e:  # pylint: disable=broad-except
                # Ctrl-C or sys.exit() on the caller's thread: the broker is
                # told UNKNOWN, then the exception goes on to the caller.
                interrupted.append(e)
                return TransactionState.UNKNOWN.value
            return _state(state, "local executor").value

        result = TransactionSendResult.from_core(
            self._core.send_in_transaction(topic, _body(body), _tags(tags),
                                           _keys(keys),
                                           _properties(properties), execute))
        if interrupted:
            raise interrupted[0]
        return result
