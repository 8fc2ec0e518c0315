"""flowmancer_log: Where a run's log records and state changes go: per-task files, JSON lines, the
console.

This distribution is laid out and versioned with the others; its public API is still to be
built (see the package README for what it will hold).
"""

__version__ = "0.13.0"

__all__: list[str] = []
