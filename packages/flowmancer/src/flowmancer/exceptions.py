"""``flowmancer.exceptions``: the exception names of Flowmancer 0.12, kept for imports.

This version reports problems with job files, parameters and checkpoints as one message with
an exit status instead (``JobFileError`` and friends when ``raise_exception_on_failure``).
"""

from __future__ import annotations

from collections.abc import Sequence

from ._jobfile._problems import JobFileError

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


class CannotStartError(Exception):
    """The job cannot start; ``problems`` says why, each at its file and place when known.

    Raised by ``Flowmancer.start(raise_exception_on_failure=True)``; otherwise the problems are
    printed and ``start`` returns 99.
    """

    def __init__(self, problems: Sequence[object]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class NoTasksLoadedError(Exception):
    """The job has no tasks."""


class ExtensionsDirectoryNotFoundError(Exception):
    """A folder in ``config.extension_directories`` does not exist."""


class NotAPackageError(Exception):
    """A folder to import classes from is not a package."""


class CheckpointInvalidError(Exception):
    """A checkpoint does not match the job."""


class TaskValidationError(Exception):
    """Tasks' parameters are wrong."""


class VarFormatError(Exception):
    """A ``--var`` is not ``KEY=VALUE``."""


class TaskClassNotFoundError(Exception):
    """No task class is registered under a name."""


class ModuleLoadError(Exception):
    """A user module failed to import."""
