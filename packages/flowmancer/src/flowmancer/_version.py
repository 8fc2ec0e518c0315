"""The package's version, and ``--version``: what is installed of the five distributions that
make up Flowmancer. A module of its own so that the driver's modules (the run record writes the
version) can read it without importing the package's ``__init__``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

__all__ = ["DISTRIBUTIONS", "VersionAction", "__version__", "versions"]

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


class VersionAction(argparse.Action):
    """``--version``/``-V``: print :func:`versions` on stdout and exit 0.

    argparse's own ``version`` action wants the text when the parser is built; this one reads
    the metadata only when the flag is given.
    """

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: object) -> None:
        super().__init__(
            option_strings,
            dest,
            nargs=0,
            default=argparse.SUPPRESS,
            help="print the versions of Flowmancer's five packages and of Python, and exit",
        )

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: object,
        option_string: str | None = None,
    ) -> None:
        sys.stdout.write(versions())
        parser.exit()
