"""The lifecycle hooks of Flowmancer 0.12 (``flowmancer.lifecycle``), kept for imports."""

from __future__ import annotations

__all__ = ["AsyncLifecycle", "Lifecycle"]


class Lifecycle:
    """Optional synchronous hooks: ``on_create``, ``on_restart``, ``on_success``,
    ``on_failure``, ``on_destroy``, ``on_abort``."""

    def on_create(self) -> None:
        """Before the run."""

    def on_restart(self) -> None:
        """After ``on_create`` when the run resumes an earlier one."""

    def on_success(self) -> None:
        """The run completed."""

    def on_failure(self) -> None:
        """The run did not complete."""

    def on_destroy(self) -> None:
        """Always, last."""

    def on_abort(self) -> None:
        """The run was aborted (SIGINT/SIGTERM)."""


class AsyncLifecycle:
    """The same hooks as coroutines, as 0.12's loggers, extensions and checkpointers have them."""

    async def on_create(self) -> None:
        """Before the run."""

    async def on_restart(self) -> None:
        """After ``on_create`` when the run resumes an earlier one."""

    async def on_success(self) -> None:
        """The run completed."""

    async def on_failure(self) -> None:
        """The run did not complete."""

    async def on_destroy(self) -> None:
        """Always, last."""

    async def on_abort(self) -> None:
        """The run was aborted (SIGINT/SIGTERM)."""
