"""The package's version, and what ``--version`` prints: what is installed of the five
distributions that make up Flowmancer. A module of its own so that the driver's modules (the run
record writes the version) can read it without importing the package's ``__init__``; the flag's
argparse action is in ``_args``, so that ``import flowmancer`` does not import argparse."""

from __future__ import annotations

import sys

__all__ = ["DISTRIBUTIONS", "__version__", "versions"]

__version__ = "0.13.0"

DISTRIBUTIONS = (
    "flowmancer",
    "flowmancer-dag",
    "flowmancer-exec",
    "flowmancer-log",
    "flowmancer-checkpoint",
)


def versions() -> str:
    """One line per distribution, ``name version``, then the Python running them.

    Read from the installed distributions' metadata (what pip sees), so a sibling left at an
    older version by a partial upgrade shows as such; nothing of ours is imported.
    """
    import platform
    from importlib import metadata

    lines = []
    for name in DISTRIBUTIONS:
        try:
            lines.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            lines.append(f"{name} (not installed)")
    lines.append(f"Python {platform.python_version()} ({sys.executable})")
    return "\n".join(lines) + "\n"
