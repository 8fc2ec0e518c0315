"""``flowmancer.exceptions``: why a job cannot start, under the exception names of 0.12.

``Flowmancer.start()`` prints the problems and returns an exit status;
``start(raise_exception_on_failure=True)`` raises them instead, as 0.12 did: the type 0.12 had
for the case (``TaskValidationError`` for tasks' parameters and classes, ``NoTasksLoadedError``
when there is nothing to run, ``ModuleLoadError`` for a module that fails to import, ...), with
the message the driver prints. Each is a ``CannotStartError``, which carries ``problems``; a
problem in the job file itself is a ``JobFileError``.
"""

from __future__ import annotations

from collections.abc import Sequence

from ._jobfile._problems import JobFileError, Problem, describe

__all__ = [
    "CannotStartError",
    "CheckpointInvalidError",
    "ExtensionsDirectoryNotFoundError",
    "JobFileError",
    "ModuleLoadError",
    "NoTasksLoadedError",
    "NotAPackageError",
    "TaskClassNotFoundError",
    "TaskValidationError",
    "VarFormatError",
]

CANNOT_START = 99
USAGE = 2  # a bad command line, as argparse exits for one


class CannotStartError(Exception):
    """The job cannot start; ``problems`` says why, each at its file and place when known.

    Raised by ``Flowmancer.start(raise_exception_on_failure=True)``; otherwise the problems are
    printed and ``start`` returns ``exit_status`` (99; 2 for a usage error such as no job file).

    Args:
        problems: what is wrong (a text is one problem).
        exit_status: what ``start`` returns instead of raising.
    """

    def __init__(
        self, problems: Sequence[object] | str = (), *, exit_status: int = CANNOT_START
    ) -> None:
        self.problems: list[object] = [problems] if isinstance(problems, str) else list(problems)
        self.exit_status = exit_status
        super().__init__(describe(self.problems))

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild, (type(self), self.problems, self.exit_status))


def _rebuild(kind: type[CannotStartError], problems: list[object], status: int) -> object:
    return kind(problems, exit_status=status)


class NoTasksLoadedError(CannotStartError):
    """There is nothing to run: no job file, or a job without tasks."""


class ExtensionsDirectoryNotFoundError(CannotStartError):
    """A folder in ``config.extension_directories`` does not exist."""


class NotAPackageError(CannotStartError):
    """A path in ``config.extension_directories`` is not a folder."""


class CheckpointInvalidError(CannotStartError):
    """The checkpoint to resume from cannot be read or is not this job's."""


class TaskValidationError(CannotStartError):
    """Tasks' parameters, classes or dependencies are wrong.

    ``errors`` lists them as 0.12 did: ``{"field": place, "msg": message}``.
    """

    @property
    def errors(self) -> list[dict[str, str]]:
        """Each problem's place (``tasks.load.parameters.count``) and message."""
        return [
            {"field": p.place, "msg": p.message}
            if isinstance(p, Problem)
            else {"field": "", "msg": str(p)}
            for p in self.problems
        ]

    def add_error(self, field: str, msg: str) -> None:
        """Add a problem at ``field`` (as 0.12's did)."""
        self.problems.append(Problem(msg, field))
        self.args = (describe(self.problems),)


class VarFormatError(CannotStartError):
    """A ``--var`` is not ``KEY=VALUE``."""


class TaskClassNotFoundError(CannotStartError):
    """No task class is registered under a name."""


class ModuleLoadError(CannotStartError):
    """A user module failed to import."""
