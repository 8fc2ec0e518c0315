"""``flowmancer.loggers.file``: the file logger (now ``flowmancer_log.FileLogger``)."""

from flowmancer_log import FileLogger

__all__ = ["FileLogger"]
