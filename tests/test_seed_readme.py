"""The project a new user builds from Flowmancer's README, word for word, runs as it says.

``seed_readme/`` holds exactly the files of the README's "Basic Usage" (its tree: ``job.yaml``,
``main.py``, ``tasks/mytasks.py``, no ``__init__.py``), byte for byte as printed: the tasks,
the job file (``final-fail-task`` fails by design, three attempts) and the driver (which raises
``RuntimeError`` when the job fails). It is excluded from ruff for that reason.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

SEED = Path(__file__).parent / "seed_readme"


def drive(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "main.py", *args],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_seed_readme_project_is_exactly_its_three_files() -> None:
    files = sorted(
        str(p.relative_to(SEED))
        for p in SEED.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    )
    assert files == ["job.yaml", "main.py", "tasks/mytasks.py"]


def test_the_seed_readme_project_fails_by_design_then_r_alone_resumes_it(tmp_path: Path) -> None:
    root = Path(shutil.copytree(SEED, tmp_path / "my_project"))

    first = drive(root, "-j", "./job.yaml")
    # final-fail-task fails on each of its 3 attempts; the driver then raises, as written.
    assert first.returncode == 1, first.stderr
    assert "no task class named" not in first.stderr
    assert "final-fail-task: FAILED: RuntimeError: Let this be caught by Flowmancer" in first.stderr
    assert first.stderr.rstrip().endswith("RuntimeError: Flowmancer job has failed!")
    (run1,) = (root / "logs" / "my-flowmancer-job").iterdir()
    assert "Done!" in (run1 / "succeed-task-a.log").read_text()
    assert "Success!" in (run1 / "succeed-task-b.log").read_text()
    failed = (run1 / "final-fail-task.log").read_text()
    assert failed.count("Printing `my_var` value: Hello from: My First Task!!") == 3

    # The README: "To run from point-of-failure (if any)", here without -j.
    again = drive(root, "-r")
    assert again.returncode == 1, again.stderr
    assert "2 completed kept; running 1 failed (final-fail-task)" in again.stderr
    run2 = max((root / "logs" / "my-flowmancer-job").iterdir())
    assert run2 != run1
    for name in ("succeed-task-a", "succeed-task-b"):
        log = run2 / f"{name}.log"
        kept = log.read_text() if log.exists() else ""
        assert "attempt" not in kept and "Starting up" not in kept and "Success!" not in kept
    # The value the first run's task shared is read back from the checkpoint.
    resumed = (run2 / "final-fail-task.log").read_text()
    assert resumed.count("Printing `my_var` value: Hello from: My First Task!!") == 3
