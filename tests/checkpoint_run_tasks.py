"""Task classes the checkpoint/resume tests run (a module name unique across test folders)."""

from __future__ import annotations

import os
import time
from pathlib import Path

from flowmancer_exec import Task


class Step(Task):
    """Appends its name to ``folder/runs`` after ``seconds``; fails while ``folder/broken`` exists.

    Writes ``folder/restarted-<name>`` from ``on_restart`` and sets ``shared_dict[<name>]``.
    """

    folder: str
    seconds: float = 0.0
    breakable: bool = False

    def run(self) -> None:
        time.sleep(self.seconds)
        if self.breakable and Path(self.folder, "broken").exists():
            raise RuntimeError("the folder says broken")
        self.shared_dict[self.metadata.name] = self.shared_dict.get("seen", 0)
        with open(os.path.join(self.folder, "runs"), "a") as f:
            f.write(self.metadata.name + "\n")

    def on_restart(self) -> None:
        Path(self.folder, f"restarted-{self.metadata.name}").touch()


class Churn(Task):
    """Changes ``shared_dict`` every way (adds, grows in place, deletes); fails ``fails`` times."""

    fails: int = 0

    def run(self) -> None:
        name = self.metadata.name
        self.shared_dict[name] = self.metadata.attempt
        self.shared_dict.setdefault("log", []).append(name)  # in place
        self.shared_dict.pop("scratch", None)
        if name.endswith("0"):
            self.shared_dict["scratch"] = {"by": name}
        if self.metadata.attempt <= self.fails:
            raise ConnectionError(f"attempt {self.metadata.attempt}")
