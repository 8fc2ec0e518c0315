"""flowmancer: run Python tasks in a described order.

The meta-package: the ``Flowmancer`` driver (job files, the command line), wiring together
flowmancer_dag, flowmancer_exec, flowmancer_log and flowmancer_checkpoint. A driver script::

    import sys
    from flowmancer import Flowmancer
    if __name__ == "__main__":
        sys.exit(Flowmancer().start())

runs ``python main.py -j job.yaml`` (``-r`` resumes from the last checkpoint).
"""

from flowmancer_exec import Task, task

from ._driver import Flowmancer
from ._jobfile._problems import JobFileError
from ._jobfile._schema import JobDefinition

__version__ = "0.13.0"

__all__ = ["Flowmancer", "JobDefinition", "JobFileError", "Task", "task"]
