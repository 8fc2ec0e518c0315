"""Each example runs as a user would run it, and does what it says."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_example(name: str) -> str:
    """Run ``examples/<name>/main.py`` as a user would; its output, after checking it exited 0."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / name / "main.py")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_the_graph_demo_runs_the_quickstart_shape_and_shows_the_failure() -> None:
    out = run_example("graph")
    assert "do-something-3 FAILED: do-something-3 fails by design" in out
    assert "publish DEFAULTED (without running)" in out
    assert "cleanup COMPLETED" in out  # all_done runs after a failure
    assert "alert COMPLETED" in out  # one_failed runs because of it
    assert "finished: 2 task(s) did not complete: do-something-3, publish" in out
    assert out.index("do-something-1 COMPLETED") < out.index("do-something-3 RUNNING")
    assert out.index("do-something-2 COMPLETED") < out.index("do-something-3 RUNNING")
    assert "do-something-3, publish, cleanup" in out
    assert "dependency cycle: extract -> load -> extract" in out
    assert "report depends on laod (did you mean load?)" in out


def test_the_runner_demo_runs_the_quickstart_in_real_processes() -> None:
    out = run_example("runner")
    lines = out.splitlines()

    def first(text: str) -> int:
        return next(i for i, line in enumerate(lines) if text in line)

    assert first("do-something-1 | COMPLETED") < first("do-something-3 | RUNNING")
    assert first("do-something-2 | COMPLETED") < first("do-something-3 | RUNNING")
    assert "upstream wrote: {'do-something-1': 'HELLO', 'do-something-2': 'WORLD'}" in out
    assert "attempt 1 of 2 failed (RuntimeError: fails by design); next in 0.2 s" in out
    assert "do-something-3 | FAILED  (RuntimeError: fails by design)" in out
    assert "cleanup > INFO    removing temporary files" in out
    assert "exit code 1: one task did not complete, by design." in out
