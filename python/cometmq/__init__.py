"""CometMQ: a RocketMQ-class message queue. Python client over the C++ core."""

from cometmq import _core

__version__ = _core.__version__

__all__ = ["__version__"]
