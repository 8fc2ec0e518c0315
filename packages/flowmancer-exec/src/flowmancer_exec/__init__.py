"""flowmancer_exec: tasks, executors and the runner that drives a flowmancer_dag run.

Write ``Task`` subclasses (typed parameters as annotations, ``run()``, optional hooks), register
them with ``@task``, describe the job as ``TaskSpec``s and hand them to a ``Runner``. Attempts run
in forked processes (``ProcessExecutor``, the default) or threads (``ThreadExecutor``); loggers,
progress displays and checkpoint stores plug in through the ``Observer`` and
``CheckpointStore`` protocols.
"""

from typing import TYPE_CHECKING, Any

from ._errors import (
    ExecutorStartError,
    ExecutorUnavailableError,
    JobError,
    ParameterError,
    Problem,
    StartInterruptedError,
    TaskNotFoundError,
    TaskRegistrationError,
)
from ._fingerprint import code_digest, fingerprint, value_digest
from ._interface import (
    Attempt,
    AttemptResult,
    CheckpointStore,
    CompletionRecorder,
    Emit,
    Executor,
    Observer,
)
from ._job import PreparedJob, TaskSpec, prepare
from ._params import Parameter, validate_parameters
from ._records import (
    LogRecord,
    RunResult,
    RunSnapshot,
    RunStart,
    SharedDictConflict,
    StateChange,
    UpstreamState,
)
from ._task import Task, TaskLogger, TaskMetadata, get_task_class, registered_tasks, task

if TYPE_CHECKING:
    from ._dask import DaskExecutor
    from ._process import ProcessExecutor
    from ._runner import Runner, new_run_id
    from ._thread import ThreadExecutor

__version__ = "0.13.0"

# The executors are imported when first asked for: a job uses one of them, and each brings
# modules of its own (Dask's, ctypes, ...) that a one-task job would otherwise wait for. The
# runner too: it brings asyncio (about 14 ms of imports), which a module that only defines
# tasks (``from flowmancer import Task, task``) does not need (tests/test_lean_imports.py).
_LAZY = {
    "DaskExecutor": "._dask",
    "ProcessExecutor": "._process",
    "Runner": "._runner",
    "ThreadExecutor": "._thread",
    "new_run_id": "._runner",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}", name=name)
    # The import statement's own function (not importlib.import_module, which `python -X
    # importtime` does not show): a relative import of the module, level 1.
    value = getattr(__import__(module[1:], globals(), None, [name], 1), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


__all__ = [
    "Attempt",
    "AttemptResult",
    "CheckpointStore",
    "CompletionRecorder",
    "DaskExecutor",
    "Emit",
    "Executor",
    "ExecutorStartError",
    "ExecutorUnavailableError",
    "JobError",
    "LogRecord",
    "Observer",
    "Parameter",
    "ParameterError",
    "PreparedJob",
    "Problem",
    "ProcessExecutor",
    "RunResult",
    "RunSnapshot",
    "RunStart",
    "Runner",
    "SharedDictConflict",
    "StartInterruptedError",
    "StateChange",
    "Task",
    "TaskLogger",
    "TaskMetadata",
    "TaskNotFoundError",
    "TaskRegistrationError",
    "TaskSpec",
    "ThreadExecutor",
    "UpstreamState",
    "code_digest",
    "fingerprint",
    "get_task_class",
    "new_run_id",
    "prepare",
    "registered_tasks",
    "task",
    "validate_parameters",
    "value_digest",
]
