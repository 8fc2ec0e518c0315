"""``Notifier``: when to notify, and what the message says; subclasses say how it is sent."""

from __future__ import annotations

import abc
import datetime
import sys
import threading
from typing import Any

from ..._counts import plural

__all__ = ["Notifier"]


class Notifier(abc.ABC):
    """Sends one message when the run starts, and one when it ends (success, failure or abort).

    Args:
        notify_on_create: when the run starts.
        notify_on_success: when every task completed.
        notify_on_failure: when a task did not complete.
        notify_on_abort: when the run was aborted (SIGINT/SIGTERM); then not also a failure.
        timeout: seconds a send may take.
    """

    def __init__(
        self,
        *,
        notify_on_create: bool = True,
        notify_on_success: bool = True,
        notify_on_failure: bool = True,
        notify_on_abort: bool = True,
        timeout: float = 10.0,
    ) -> None:
        self.notify_on_create = notify_on_create
        self.notify_on_success = notify_on_success
        self.notify_on_failure = notify_on_failure
        self.notify_on_abort = notify_on_abort
        self.timeout = timeout
        self._tasks = 0
        self._starting: threading.Thread | None = None

    @abc.abstractmethod
    def send(self, event: str, title: str, text: str, details: dict[str, Any]) -> None:
        """Deliver one message (raise on failure: it is reported, never fatal)."""

    # -- observer methods -----------------------------------------------------------------------

    def on_run_start(self, start: Any) -> None:
        """The STARTING message."""
        self._tasks = len(start.tasks)
        if self.notify_on_create:
            resumed = " (resuming an earlier run)" if start.resumed else ""
            message = (
                "create",
                f"Flowmancer job {start.job}: STARTING",
                f"Job {start.job!r} started at {_when(start.started)} with {self._tasks} "
                f"tasks{resumed}.",
                {"job": start.job, "run_id": start.run_id, "tasks": list(start.tasks)},
            )
            # Sent beside the run, not before it: a slow server must not hold the tasks up.
            # (The thread only does socket I/O, so the forks that start tasks meanwhile are
            # safe.) The end of the run waits for it.
            self._starting = threading.Thread(
                target=self._send, args=message, name="flowmancer-notify", daemon=True
            )
            self._starting.start()

    def on_run_end(self, result: Any) -> None:
        """The SUCCESS, FAILURE or ABORTED message (after the STARTING one is out)."""
        starting, self._starting = self._starting, None
        if starting is not None:
            # Its socket calls are bounded by ``timeout`` each (connecting, then reading).
            starting.join(2 * self.timeout + 1)
        states = {name: str(state) for name, state in result.states.items()}
        details = {
            "job": result.job,
            "run_id": result.run_id,
            "states": states,
            "exit_code": result.exit_code,
            "seconds": round(result.ended - result.started, 3),
        }
        took = f"{result.ended - result.started:.1f} s"
        if result.aborted:
            if self.notify_on_abort:
                self._send(
                    "abort",
                    f"Flowmancer job {result.job}: ABORTED",
                    f"Job {result.job!r} was aborted at {_when(result.ended)} after {took}."
                    + _problems(result),
                    details,
                )
        elif result.ok:
            if self.notify_on_success:
                self._send(
                    "success",
                    f"Flowmancer job {result.job}: SUCCESS",
                    f"Job {result.job!r} completed at {_when(result.ended)} in {took}.",
                    details,
                )
        elif self.notify_on_failure:
            self._send(
                "failure",
                f"Flowmancer job {result.job}: FAILURE",
                f"Job {result.job!r} failed at {_when(result.ended)} after {took}: "
                f"{plural(result.exit_code, 'task')} did not complete." + _problems(result),
                details,
            )

    def _send(self, event: str, title: str, text: str, details: dict[str, Any]) -> None:
        try:
            self.send(event, title, text, {"event": event, **details})
        except Exception as error:  # a notification must never fail the job
            print(
                f"flowmancer: {type(self).__name__} could not send the {event!r} notification: "
                f"{type(error).__name__}: {error}",
                file=sys.stderr,
                flush=True,
            )


def _when(seconds: float) -> str:
    return datetime.datetime.fromtimestamp(seconds).astimezone().isoformat(timespec="seconds")


def _problems(result: Any) -> str:
    lines = []
    for name, state in result.states.items():
        if not state.satisfies_dependents and str(state) != "INIT":
            reason = result.reasons.get(name, "").strip().splitlines()
            lines.append(f"\n- {name}: {state}" + (f" ({reason[-1][:200]})" if reason else ""))
    return "".join(lines[:20]) + ("\n- ..." if len(lines) > 20 else "")
