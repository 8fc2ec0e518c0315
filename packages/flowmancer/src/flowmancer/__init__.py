"""flowmancer: run Python tasks in a described order.

The meta-package: the ``Flowmancer`` driver (job files, the command line), wiring together
flowmancer_dag, flowmancer_exec, flowmancer_log and flowmancer_checkpoint. A driver script::

    import sys
    from flowmancer import Flowmancer
    if __name__ == "__main__":
        sys.exit(Flowmancer().start())

runs ``python main.py -j job.yaml`` (``-r`` resumes from the last checkpoint).
"""

from typing import TYPE_CHECKING, Any

from ._version import __version__ as __version__

if TYPE_CHECKING:
    from flowmancer_exec import Task, task

    from ._driver import Flowmancer
    from ._jobfile._problems import JobFileError
    from ._jobfile._schema import JobDefinition

__all__ = ["Flowmancer", "JobDefinition", "JobFileError", "Task", "task"]


if not TYPE_CHECKING:  # so that type checkers still see the names above, and only those
    # `task` is also 0.12's submodule flowmancer.task, which Python puts here whenever it is
    # imported: the module is the decorator too (callable), so `from flowmancer import task`
    # gets the same object whichever import style ran first.
    from . import task

    # Where each name is, imported when first asked for. Task comes from flowmancer_exec:
    # the driver reads the job file before the runner's modules (and asyncio) are imported, so
    # that they take the memory the YAML reading left free, and the process every task is
    # forked from is smaller; a job file with a mistake is also reported sooner. The driver's
    # names too: a module of tasks (``from flowmancer import Task, task``) then imports
    # neither the driver (argparse, the job file's modules) nor the runner, 40 ms of CPU
    # instead of 73 (tests/test_lean_imports.py). Import statements rather than
    # importlib.import_module, which `python -X importtime` does not show.
    def __getattr__(name: str) -> Any:
        if name == "Task":
            import flowmancer_exec

            return flowmancer_exec.Task
        if name == "Flowmancer":
            from ._driver import Flowmancer as value
        elif name == "JobDefinition":
            from ._jobfile._schema import JobDefinition as value
        elif name == "JobFileError":
            from ._jobfile._problems import JobFileError as value
        else:
            raise AttributeError(f"module 'flowmancer' has no attribute {name!r}", name=name)
        globals()[name] = value
        return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
