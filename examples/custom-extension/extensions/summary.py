import json
from datetime import datetime
from pathlib import Path
from typing import Any

from flowmancer.eventbus.execution import ExecutionState, ExecutionStateTransition
from flowmancer.extensions import Extension, extension

_FINAL = {
    ExecutionState.COMPLETED: "completed",
    ExecutionState.FAILED: "failed",
    ExecutionState.DEFAULTED: "defaulted",
    ExecutionState.ABORTED: "aborted",
    ExecutionState.SKIP: "skipped",
}


@extension
class RunSummary(Extension):
    """Writes a JSON summary of the run when it ends: outcome, and per task its final state,
    attempts and seconds spent running. A job file names it under `extensions:`."""

    path: str = "./summary.json"

    async def on_create(self) -> None:
        self._tasks: dict[str, dict[str, Any]] = {}
        self._started: dict[str, datetime] = {}
        self._outcome = "running"

    async def update(self, e: Any) -> None:
        if not isinstance(e, ExecutionStateTransition):
            return
        entry = self._tasks.setdefault(e.name, {"state": None, "attempts": 0, "seconds": 0.0})
        if e.to_state == ExecutionState.RUNNING:
            entry["attempts"] += 1
            self._started[e.name] = e.timestamp
        elif e.from_state == ExecutionState.RUNNING:  # an attempt ended (retry, or for good)
            spent = e.timestamp - self._started.pop(e.name)
            entry["seconds"] = round(entry["seconds"] + spent.total_seconds(), 3)
        if e.to_state in _FINAL:
            entry["state"] = _FINAL[e.to_state]

    async def on_success(self) -> None:
        self._outcome = "succeeded"

    async def on_failure(self) -> None:
        self._outcome = "failed"

    async def on_abort(self) -> None:
        self._outcome = "aborted"

    async def on_destroy(self) -> None:
        summary = {"outcome": self._outcome, "tasks": self._tasks}
        Path(self.path).write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
