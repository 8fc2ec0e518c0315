"""The project files the driver tests write, and how they start the driver (a module name
unique across test folders)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

MAIN = """
import sys
from flowmancer import Flowmancer
if __name__ == '__main__':
    sys.exit(Flowmancer().start())
"""

TASKS = """
import os, time
from pathlib import Path
from flowmancer import Task, task


@task
class Step(Task):
    marker: str
    fail_if: str = ""

    def run(self):
        if self.fail_if and Path(self.fail_if).exists():
            raise RuntimeError("failing as asked")
        self.shared_dict[self.metadata.name] = True
        print(f"{self.metadata.name} ran")
        with open(self.marker, "a") as f:
            f.write(self.metadata.name + "\\n")

    def on_restart(self):
        print(f"{self.metadata.name} restarted")
"""


def drive(
    root: Path, *args: str, cwd: Path | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    """``python ROOT/main.py ARGS`` from ``cwd`` (default: ``root``), with ``env`` added."""
    return subprocess.run(
        [sys.executable, str(root / "main.py"), *args],
        cwd=cwd or root,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **env},
    )
