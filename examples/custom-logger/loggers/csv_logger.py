import csv
from pathlib import Path
from typing import IO, Any

from flowmancer.eventbus.log import LogEndEvent, LogStartEvent, LogWriteEvent
from flowmancer.loggers import Logger, logger


@logger
class CSVLogger(Logger):
    """Every line every task writes, as one CSV row: time, task, severity, message.

    A job file names it under `loggers:`; `path` is relative to main.py's folder.
    """

    path: str = "./logs/lines.csv"

    async def on_create(self) -> None:
        # Settings arrive as attributes; the run is starting, so open the file now.
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._file: IO[str] = open(self.path, "w", newline="", encoding="utf-8")  # noqa: SIM115
        self._rows = csv.writer(self._file)
        self._rows.writerow(["time", "task", "severity", "message"])

    async def update(self, m: Any) -> None:
        if isinstance(m, LogWriteEvent):
            self._rows.writerow([m.timestamp.isoformat(), m.name, m.severity.value, m.message])
        elif isinstance(m, (LogStartEvent, LogEndEvent)):
            self._file.flush()  # a task began or ended: a good moment for `tail -f`

    async def on_destroy(self) -> None:
        self._file.close()
