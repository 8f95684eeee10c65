"""Exceptions raised by cometmq. Each carries the broker's code and remark."""

import builtins

# Broker/NameServer status codes (proto StatusCode).
TOPIC_NOT_EXIST = 17
MESSAGE_ILLEGAL = 13
SERVICE_NOT_AVAILABLE = 14
NO_PERMISSION = 16


class MQClientError(Exception):
    """A request failed. `code` is the broker's status code (-1 when the
    failure happened in the client), `remark` the explanation."""

    def __init__(self, remark, code=-1, kind=""):
        super().__init__(remark)
        self.remark = remark
        self.code = code
        self.kind = kind


class TopicNotExistError(MQClientError):
    """The topic has no route and could not be created."""


class MessageIllegalError(MQClientError):
    """The message was refused: empty or oversized body, bad topic name."""


class ServiceNotAvailableError(MQClientError):
    """The broker cannot take the request now (disk full, shutting down)."""


class NoPermissionError(MQClientError):
    """The topic's or broker's perm forbids the request (a send to a
    read-only topic)."""


class TimeoutError(MQClientError, builtins.TimeoutError):
    """No answer within the timeout."""


def from_core(error):
    """Turns a _core.ClientError into the matching MQClientError subclass."""
    remark, code, kind = error.args if len(error.args) == 3 else (
        str(error), -1, "")
    if code == TOPIC_NOT_EXIST:
        cls = TopicNotExistError
    elif code == MESSAGE_ILLEGAL or (code == -1 and kind == "INVALID_ARGUMENT"):
        cls = MessageIllegalError
    elif code == SERVICE_NOT_AVAILABLE:
        cls = ServiceNotAvailableError
    elif code == NO_PERMISSION:
        cls = NoPermissionError
    elif kind == "DEADLINE_EXCEEDED" and code == -1:
        cls = TimeoutError
    else:
        cls = MQClientError
    return cls(remark, code, kind)
