"""``flowmancer.loggers`` as in Flowmancer 0.12: the ``Logger`` base and ``@logger``."""

from .logger import Logger, logger

__all__ = ["Logger", "logger"]
