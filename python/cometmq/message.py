"""Message and SendResult value types."""

from dataclasses import dataclass, field


@dataclass
class Message:
    """A message as consumed (or queried) from a broker. Timestamps are
    milliseconds since the epoch; born_host and store_host are "ip:port" of
    the producer's connection and of the storing broker, as RocketMQ's
    MessageExt.getBornHost() and getStoreHost()."""
    topic: str = ""
    body: bytes = b""
    tags: str = ""
    keys: list = field(default_factory=list)
    properties: dict = field(default_factory=dict)
    msg_id: str = ""
    offset_msg_id: str = ""
    broker_name: str = ""
    queue_id: int = 0
    queue_offset: int = 0
    commit_log_offset: int = 0
    reconsume_times: int = 0
    born_timestamp: int = 0
    store_timestamp: int = 0
    born_host: str = ""
    store_host: str = ""
    delay_level: int = 0

    @classmethod
    def from_core(cls, d):
        return cls(**d)


@dataclass
class SendResult:
    """Outcome of a send: status is SEND_OK, FLUSH_DISK_TIMEOUT,
    FLUSH_SLAVE_TIMEOUT or SLAVE_NOT_AVAILABLE (all mean stored)."""
    status: str
    msg_id: str
    offset_msg_id: str
    broker_name: str
    queue_id: int
    queue_offset: int

    @classmethod
    def from_core(cls, d):
        return cls(**d)
