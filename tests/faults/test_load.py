"""Big jobs through the driver: a seeded random graph of no-op tasks, thousands on the thread
executor and hundreds on the process executor (ten thousand and two thousand under --soak).
Every task must complete, nothing may be left running, and the driver's peak memory must stay
within a generous bound (benchmarks/load.py measures it properly).
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from faults_support import no_leftovers, write_project
from tasks_support import LOGGERS, PEAK_MAIN, run_job

TASKS = """\
from flowmancer import Task, task


@task
class Noop(Task):
    def run(self):
        pass
"""


def random_job(n: int, seed: int) -> str:
    """``n`` no-op tasks, each depending on up to three earlier ones."""
    rng = random.Random(seed)
    lines = ["config: {name: load}", "extensions: {}", "tasks:"]
    for i in range(n):
        deps = sorted(rng.sample(range(i), min(i, rng.randint(0, 3))))
        after = f", dependencies: [{', '.join(f't{d}' for d in deps)}]" if deps else ""
        lines.append(f"  t{i}: {{task: Noop{after}}}")
    return "\n".join(lines) + "\n" + LOGGERS


@pytest.mark.parametrize(
    ("executor", "default", "soaked"), [("thread", 2_000, 10_000), ("process", 300, 2_000)]
)
def test_a_big_random_job_completes_every_task_in_bounded_memory(
    tmp_path: Path, soak: bool, executor: str, default: int, soaked: int
) -> None:
    n = soaked if soak else default
    write_project(tmp_path, TASKS, random_job(n, seed=n))
    with no_leftovers() as tag:
        run = run_job(
            tmp_path, "-j", "job.yaml", "--executor", executor, tag=tag, timeout=600, main=PEAK_MAIN
        )
    run.check_clean()
    assert run.returncode == 0
    assert len(run.states) == n
    assert set(run.states.values()) == {"COMPLETED"}, run.reasons
    # Measured: about 90 MiB for 10,000 tasks, most of it the loaded job. Far above that means
    # something holds on to what each task did.
    bound_kib = 100 * 1024 + 12 * n
    assert run.peak_rss_kib() < bound_kib, (run.peak_rss_kib(), bound_kib)
