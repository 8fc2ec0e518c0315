"""flowmancer: run Python tasks in a described order.

The meta-package: it will hold the ``Flowmancer`` driver, job YAML loading, the command line and
the built-in extensions, wiring together flowmancer_dag, flowmancer_exec, flowmancer_log and
flowmancer_checkpoint. Today only the graph (``flowmancer_dag``) is built.
"""

__version__ = "0.13.0"

__all__: list[str] = []
