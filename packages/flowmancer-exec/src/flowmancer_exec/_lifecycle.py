"""One attempt's lifecycle, in whatever process or thread the executor chose.

on_create, on_restart (when resuming a failed task), run, on_success or on_failure, on_destroy
always; on_abort instead of on_success/on_failure when the attempt is told to stop. An exception
in any hook fails the attempt; its traceback goes to the task's log in full. A hook that is a
coroutine function is awaited (see ``_awaiting``); what ``run()`` returns is the task's result.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import pickle
import traceback
from collections.abc import Callable, Mapping
from typing import Any, NoReturn

from ._awaiting import Awaiter, is_awaitable
from ._task import Task

__all__ = [
    "EarlyRecord",
    "Outcome",
    "Shield",
    "StopRequested",
    "describe_error",
    "error_text",
    "run_lifecycle",
    "shared_changes",
    "shared_fingerprints",
]


class StopRequested(BaseException):
    """Raised inside a running task to stop it (timeout or abort).

    A ``BaseException`` so that a task's ``except Exception`` does not swallow it.
    """


class Shield:
    """Set once ``run()`` has returned: from then on a stop request waits for the attempt's
    remaining hooks instead of interrupting them.

    The work is done by then; stopping would mark it ABORTED and a resume would do it again.
    The executor's grace period (then SIGKILL) still bounds a hook that hangs.
    """

    __slots__ = ("then", "up")

    def __init__(self, then: Callable[[Any], None] | None = None) -> None:
        self.up = False
        # Called with run()'s result right after ``up`` is set (the early completion record).
        self.then = then


@dataclasses.dataclass
class Outcome:
    """How the lifecycle ended, before the executor adds what it knows (exit codes, ...);
    ``value`` is what ``run()`` returned (awaited, for a coroutine)."""

    ok: bool = True
    reason: str | None = None
    error_types: tuple[str, ...] = ()
    stopped: bool = False
    value: Any = None


def error_text(error: BaseException) -> str:
    """``str(error)``, or a stand-in when the exception's own ``__str__`` fails: a task's
    broken exception must still fail its attempt with a reason, not break the runner."""
    try:
        return str(error)
    except Exception:
        return "<exception str() failed>"


def describe_error(error: BaseException) -> str:
    """``ValueError: bad input``; ``sys.exit(3)`` for a SystemExit."""
    if isinstance(error, SystemExit):
        try:
            return f"sys.exit({error.code!r})"
        except Exception:
            return "sys.exit(<code whose repr() failed>)"
    text = error_text(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def run_lifecycle(
    instance: Task,
    restart: bool,
    log_error: Callable[[str], None],
    shield: Shield | None = None,
    awaiter: Awaiter | None = None,
) -> Outcome:
    """Run every hook of one attempt in order and report how it went.

    ``log_error`` receives each failure's message with its full traceback; ``shield`` is
    raised as soon as ``run()`` has returned (see ``Shield``). A hook that hands back a
    coroutine is awaited on ``awaiter``'s loop (without one: a loop made for this attempt).
    """
    outcome = Outcome()
    awaiting = awaiter  # made when a hook first hands back something to await
    # Only the process that started the attempt reports it: a child a hook forked (os.fork,
    # multiprocessing's "fork") that returns or raises out of the hook would otherwise go on as
    # a second copy of the attempt, report for it, and could turn a failure into a success.
    owner = os.getpid()

    def fail(hook: str, error: BaseException) -> None:
        trace = "".join(traceback.format_exception(type(error), error, error.__traceback__))
        where = "" if hook == "run" else f" in {hook}"
        log_error(f"{describe_error(error)}{where}\n{trace.rstrip()}")
        if outcome.ok:  # the first failure is the reason; later ones are only logged
            outcome.ok = False
            outcome.reason = describe_error(error) + where
            outcome.error_types = tuple(c.__name__ for c in type(error).__mro__)

    def hook(name: str) -> bool:
        """Call one hook; False if it failed or a stop arrived during it."""
        try:
            value = getattr(instance, name)()
            if value is not None and is_awaitable(value):
                nonlocal awaiting
                if awaiting is None:
                    awaiting = Awaiter()
                value = awaiting(value, name)
            if name == "run":
                outcome.value = value
        except BaseException as error:
            if os.getpid() != owner:
                _leave_stray(name)
            if isinstance(error, StopRequested):
                outcome.stopped = True
            else:
                fail(name, error)
            return False
        if os.getpid() != owner:
            _leave_stray(name)
        return True

    stages = ["on_create", *(["on_restart"] if restart else []), "run"]
    for stage in stages:
        if not hook(stage):
            break
        if stage == "run" and shield is not None:
            # An attribute store: no signal handler or async exception can run between run()
            # returning and this (they are checked on calls and backward jumps).
            shield.up = True
            if shield.then is not None:
                shield.then(outcome.value)
    if not outcome.stopped:
        hook("on_success" if outcome.ok else "on_failure")
    if outcome.stopped:
        # A second stop request while on_abort runs cannot cut it short (the flag is already
        # set); the executor's grace period, then SIGKILL, is what bounds it.
        hook("on_abort")
    hook("on_destroy")
    if awaiting is not None and awaiting.loop is not None:
        awaiting.close()  # leftovers cancelled; the loop closed unless the thread keeps it
    if not outcome.ok:
        outcome.value = None  # a failed attempt has no result
    if outcome.stopped:
        outcome.ok = False
        outcome.reason = outcome.reason or "stopped"
    return outcome


def _leave_stray(hook: str) -> NoReturn:
    """End a process forked inside a hook that came back out of it: its result is not the
    attempt's, and its exit does not end the attempt (the process that started it reports)."""
    with contextlib.suppress(OSError):
        os.write(
            2,
            f"flowmancer: a process forked inside {hook}() (pid {os.getpid()}) returned from it; "
            "it is ended and what it did is not the attempt's result\n".encode(),
        )
    os._exit(0)


class EarlyRecord:
    """Tells the checkpoint store's recorder (``Attempt.completed``) of a completion the moment
    ``run()`` returns, and takes it back if a later hook fails. Failures to record are reported
    through ``warn`` and never fail the attempt: the runner still saves it in its own time."""

    def __init__(
        self,
        attempt: Any,
        before: Mapping[str, bytes | _Opaque],
        shared: Mapping[str, Any],
        warn: Callable[[str], None],
    ) -> None:
        self.attempt = attempt
        self.before = before
        self.shared = shared
        self.warn = warn
        self.recorded = False

    @property
    def hook(self) -> Callable[[Any], None] | None:
        """What the attempt's ``Shield`` calls once ``run()`` returned (None: nothing to do)."""
        return self.record if self.attempt.completed is not None else None

    def record(self, value: Any) -> None:
        attempt = self.attempt
        try:
            updates, deleted = shared_changes(self.before, self.shared)
            if value is None:
                attempt.completed.completed(attempt.task, attempt.number, updates, deleted)
            else:  # a recorder that keeps results takes run()'s as its fifth argument
                attempt.completed.completed(attempt.task, attempt.number, updates, deleted, value)
            self.recorded = True
        except Exception as error:
            self.warn(f"could not record the completion in the checkpoint early: {error}")

    def settle(self, outcome: Outcome) -> None:
        """After the last hook: take the record back if the attempt failed after all."""
        if self.recorded and not outcome.ok:
            try:
                self.attempt.completed.revoked(self.attempt.task, self.attempt.number)
            except Exception as error:
                self.warn(f"could not take back the early completion record: {error}")


class _Opaque:
    """A value that cannot be pickled: compared by identity instead."""

    __slots__ = ("value",)

    def __init__(self, value: object) -> None:
        self.value = value


def _fingerprint(value: object) -> bytes | _Opaque:
    try:
        return pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:
        return _Opaque(value)


def shared_fingerprints(shared: Mapping[str, Any]) -> dict[str, bytes | _Opaque]:
    """What each ``shared_dict`` value looked like when the attempt started.

    Pickled bytes, not the objects: a task may change a value in place, and values that went
    through a copy or a pickle no longer compare equal by ``==`` (or raise, like arrays).
    """
    return {key: _fingerprint(value) for key, value in shared.items()}


def shared_changes(
    before: Mapping[str, bytes | _Opaque], after: Mapping[str, Any]
) -> tuple[dict[str, Any], tuple[str, ...]]:
    """The keys an attempt added or changed (with their values), and the keys it removed."""
    updates: dict[str, Any] = {}
    for key, value in after.items():
        old = before.get(key)
        if old is None:
            updates[key] = value
        elif isinstance(old, _Opaque):
            if old.value is not value:
                updates[key] = value
        elif _fingerprint(value) != old:
            updates[key] = value
    deleted = tuple(key for key in before if key not in after)
    return updates, deleted
