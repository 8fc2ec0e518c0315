"""flowmancer_exec: tasks, executors and the runner that drives a flowmancer_dag run.

Write ``Task`` subclasses (typed parameters as annotations, ``run()``, optional hooks), register
them with ``@task``, describe the job as ``TaskSpec``s and hand them to a ``Runner``. Attempts run
in forked processes (``ProcessExecutor``, the default) or threads (``ThreadExecutor``); loggers,
progress displays and checkpoint stores plug in through the ``Observer`` and
``CheckpointStore`` protocols.
"""

from ._dask import DaskExecutor
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
from ._process import ProcessExecutor
from ._records import (
    LogRecord,
    RunResult,
    RunSnapshot,
    RunStart,
    SharedDictConflict,
    StateChange,
    UpstreamState,
)
from ._runner import Runner, new_run_id
from ._task import Task, TaskLogger, TaskMetadata, get_task_class, registered_tasks, task
from ._thread import ThreadExecutor

__version__ = "0.13.0"

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
