"""flowmancer_dag: the dependency graph of a job, usable on its own.

Build a ``Graph``, ``validate()`` it (every problem at once), ``order()`` or ``levels()`` it,
``select()`` a partial run, and drive a ``Run``: ask what is ``ready()``, execute it however you
like, report each result with ``finish()``. Nothing here executes anything.
"""

from ._errors import (
    CycleError,
    FinallyDependencyError,
    GraphError,
    MissingDependencyError,
    RunError,
    SelectionError,
    UnknownNodeError,
)
from ._graph import Graph
from ._run import Run
from ._state import TaskState, TriggerRule

__version__ = "0.13.0"

__all__ = [
    "CycleError",
    "FinallyDependencyError",
    "Graph",
    "GraphError",
    "MissingDependencyError",
    "Run",
    "RunError",
    "SelectionError",
    "TaskState",
    "TriggerRule",
    "UnknownNodeError",
]
