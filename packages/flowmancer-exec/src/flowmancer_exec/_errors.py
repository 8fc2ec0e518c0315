"""Every exception flowmancer_exec raises on purpose.

Each carries its data as attributes and renders a message a user can act on without reading our
code. ``JobError`` gathers every problem found before a run, so nothing runs until all are fixed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

__all__ = [
    "ExecutorStartError",
    "ExecutorUnavailableError",
    "JobError",
    "ParameterError",
    "Problem",
    "StartInterruptedError",
    "TaskNotFoundError",
    "TaskRegistrationError",
    "unknown_parameter",
]


def unknown_parameter(cls: type, name: str, known: Iterable[str]) -> str:
    """The message for a parameter ``cls`` does not declare: the closest known one, then all.

    ``unknown parameter of Load; did you mean 'batch_size'? (known: table, batch_size)``
    """
    import difflib

    names = list(known)
    close = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"unknown parameter of {cls.__name__}{hint} (known: {', '.join(names) or 'none'})"


class Problem:
    """One thing wrong with a job, at a place (``tasks.load.parameters.count``)."""

    __slots__ = ("message", "place")

    def __init__(self, place: str, message: str) -> None:
        self.place = place
        self.message = message

    def __str__(self) -> str:
        return f"{self.place}: {self.message}" if self.place else self.message

    def __repr__(self) -> str:
        return f"Problem({self.place!r}, {self.message!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Problem) and (self.place, self.message) == (
            other.place,
            other.message,
        )

    def __hash__(self) -> int:
        return hash((self.place, self.message))


class JobError(ValueError):
    """A job cannot run as defined; ``problems`` lists everything wrong, each with its place."""

    problems: tuple[Problem, ...]

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        if len(self.problems) == 1:
            message = str(self.problems[0])
        else:
            message = f"{len(self.problems)} problems:\n" + "\n".join(
                f"  {p}" for p in self.problems
            )
        super().__init__(message)

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.problems,))


class ParameterError(JobError):
    """A task's parameters do not match its annotations (every mismatch in ``problems``)."""


class TaskNotFoundError(LookupError):
    """No task class is registered under ``name``."""

    def __init__(self, name: str, known: Sequence[str] = ()) -> None:
        import difflib

        self.name = name
        close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.75)
        hint = f" (did you mean {close[0]}?)" if close else ""
        self.message = f"no task class named {name!r} is registered with @task{hint}"
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.name,))


class TaskRegistrationError(TypeError):
    """Two different classes were registered under one task name."""

    def __init__(self, name: str, existing: str, new: str) -> None:
        self.name = name
        self.existing = existing
        self.new = new
        super().__init__(
            f"task name {name!r} is already registered by {existing}; {new} cannot take it "
            "(rename one of the classes)"
        )

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.name, self.existing, self.new))


class ExecutorUnavailableError(RuntimeError):
    """An executor was asked for whose optional dependencies are not installed."""

    def __init__(self, name: str, fix: str) -> None:
        self.name = name
        self.fix = fix
        super().__init__(f"the {name} executor is not installed: {fix}")

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.name, self.fix))


class ExecutorStartError(ConnectionError):
    """An executor could not start: the cluster named by ``address`` was not reachable, or
    what answered there was not one (``reason`` says what was found)."""

    def __init__(self, address: str, reason: str) -> None:
        self.address = address
        self.reason = reason
        super().__init__(f"cannot connect to the dask scheduler at {address}: {reason}")

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.address, self.reason))


class StartInterruptedError(Exception):
    """The run was interrupted (SIGINT, SIGTERM, ``Runner.abort()``) while its executor was
    starting, before any attempt: nothing ran. ``signal`` is the signal's number, or None."""

    def __init__(self, signal: int | None = None) -> None:
        import signal as signals

        self.signal = signal
        name = signals.Signals(signal).name if signal else "abort()"
        super().__init__(f"interrupted ({name}) while the executor was starting: nothing ran")

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.signal,))
