"""A logger as 0.12's own FileLogger is: a task's log opens on LogStartEvent, closes on
LogEndEvent, and anything out of that order is an error. Every event is kept in a file."""

from flowmancer.eventbus.log import LogEndEvent, LogStartEvent, LogWriteEvent, SerializableLogEvent
from flowmancer.loggers.logger import Logger, logger


class LogFileIsAlreadyOpen(Exception):
    pass


class LogFileNotOpen(Exception):
    pass


@logger
class StrictLogger(Logger):
    path: str = "./events.txt"

    async def on_create(self):
        self._open = set()
        self._lines = []

    async def update(self, msg: SerializableLogEvent):
        if isinstance(msg, LogStartEvent):
            if msg.name in self._open:
                raise LogFileIsAlreadyOpen(f"Log file is already open for {msg.name}")
            self._open.add(msg.name)
            self._lines.append(f"start {msg.name}")
        elif isinstance(msg, LogEndEvent):
            self._open.discard(msg.name)
            self._lines.append(f"end {msg.name}")
        elif isinstance(msg, LogWriteEvent):
            if msg.name not in self._open:
                raise LogFileNotOpen(f"Log file is not open for {msg.name}: {msg.message}")
            self._lines.append(f"write {msg.name} {msg.severity.value} {msg.message}")

    async def on_destroy(self):
        if self._open:
            self._lines.append(f"left open: {sorted(self._open)}")
        with open(self.path, "w") as f:
            f.write("\n".join(self._lines) + "\n")
