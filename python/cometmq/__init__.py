"""CometMQ: a RocketMQ-class message queue. Python client over the C++ core.

    p = cometmq.Producer(group="pg", namesrv="127.0.0.1:9876")
    p.start()
    p.send("TopicTest", b"hello", tags="TagA")
"""

from cometmq import _core
from cometmq.admin import Admin
from cometmq.consumer import PullConsumer, PushConsumer
from cometmq.errors import (MessageIllegalError, MQClientError,
                            NoPermissionError, ServiceNotAvailableError,
                            TimeoutError, TopicNotExistError)
from cometmq.message import Message, SendResult
from cometmq.producer import Producer
from cometmq.transaction import (TransactionProducer, TransactionSendResult,
                                 TransactionState)

__version__ = _core.__version__

__all__ = [
    "Admin", "Message", "MessageIllegalError", "MQClientError",
    "NoPermissionError", "Producer",
    "PullConsumer", "PushConsumer", "SendResult", "ServiceNotAvailableError",
    "TimeoutError", "TopicNotExistError", "TransactionProducer",
    "TransactionSendResult", "TransactionState", "__version__",
]
