"""0.12's ``Notification`` base class, for notifications users wrote against it."""

from __future__ import annotations

import abc
import datetime
from typing import Any

from ..._compat import LegacyExtension

__all__ = ["Notification"]


class Notification(LegacyExtension, abc.ABC):
    """Subclass, set the settings as annotations, implement ``send_notification``.

    The STARTING/SUCCESS/FAILURE/ABORTED messages are sent from the lifecycle hooks as in 0.12
    (``on_abort`` is delivered now; 0.12 never sent it).
    """

    notify_on_create: bool = True
    notify_on_success: bool = True
    notify_on_failure: bool = True
    notify_on_abort: bool = True

    async def update(self, _: Any) -> None:
        """Notifications are not sent per state change."""

    @abc.abstractmethod
    async def send_notification(self, title: str, msg: str) -> None:
        """Deliver one message."""

    async def on_create(self) -> None:
        """STARTING."""
        if self.notify_on_create:
            await self.send_notification(
                "Flowmancer Job Notification: STARTING", f"Job initiated at {_now()}"
            )

    async def on_success(self) -> None:
        """SUCCESS."""
        if self.notify_on_success:
            await self.send_notification(
                "Flowmancer Job Notification: SUCCESS", f"Job completed successfully at {_now()}"
            )

    async def on_failure(self) -> None:
        """FAILURE."""
        if self.notify_on_failure:
            await self.send_notification(
                "Flowmancer Job Notification: FAILURE", f"Job failed at {_now()}"
            )

    async def on_abort(self) -> None:
        """ABORTED."""
        if self.notify_on_abort:
            await self.send_notification(
                "Flowmancer Job Notification: ABORTED", f"Job aborted at {_now()}"
            )


def _now() -> str:
    return datetime.datetime.now().strftime("%Y-%m-%d %H:%M:%S")
