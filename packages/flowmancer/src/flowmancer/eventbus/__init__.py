"""The events of Flowmancer 0.12 (``flowmancer.eventbus``), as plain classes.

0.12's loggers and extensions receive these in ``async update(event)``; the driver builds them
from the run's records (see ``flowmancer._compat``). They carry the attributes 0.12's did.
"""

from __future__ import annotations

import dataclasses
import datetime

__all__ = ["SerializableEvent"]


@dataclasses.dataclass
class SerializableEvent:
    """Base of every event: the job's name and when it happened (local time, aware)."""

    job_name: str | None = dataclasses.field(default=None, kw_only=True)
    timestamp: datetime.datetime = dataclasses.field(
        default_factory=lambda: datetime.datetime.now(datetime.timezone.utc).astimezone(),
        kw_only=True,
    )

    @classmethod
    def event_group(cls) -> str:
        """The family of events this one belongs to."""
        return cls.__name__
