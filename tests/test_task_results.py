"""What a task hands on is never silently lost: ``async def`` hooks are awaited, what ``run()``
returns is the task's result (read downstream as ``self.results``, saved in the checkpoint), and a
value that cannot be saved is kept for the run while its producer is run again on resume.

Through the driver, on the process and thread executors, and on Dask (a LocalCluster started
for the run) where the attempt runs elsewhere.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from project_support import EXECUTORS, checkpoint, lines, log_of, run, start, write_project

WITH_DASK = [*EXECUTORS, pytest.param("dask", marks=pytest.mark.timeout(300))]

ASYNC_TASKS = """\
import asyncio
from pathlib import Path
from flowmancer import Task, task


def note(text):
    with open("notes", "a") as f:
        f.write(text + "\\n")


@task
class Fetch(Task):
    async def on_create(self):
        await asyncio.sleep(0.01)
        note(f"{self.metadata.name}:on_create")

    async def run(self):
        await asyncio.sleep(0.05)
        note(f"{self.metadata.name}:run")
        return {"rows": 3, "from": self.metadata.name}

    async def on_success(self):
        note(f"{self.metadata.name}:on_success")

    async def on_destroy(self):
        note(f"{self.metadata.name}:on_destroy")


@task
class Double(Task):
    def run(self):
        return self.results["extract"]["rows"] * 2


@task
class Load(Task):
    def run(self):
        if Path("broken").exists():
            raise RuntimeError("broken on purpose")
        seen = {k: self.results[k] for k in sorted(self.results)}
        Path("loaded.txt").write_text(repr(seen))


@task
class Forgets(Task):
    async def run(self):
        return asyncio.sleep(0)  # a coroutine made and handed back, never awaited
"""

ASYNC_JOB = """\
config: {{name: results, executor: {executor}}}
extensions: {{}}
tasks:
  extract: {{task: Fetch}}
  transform: {{task: Double, dependencies: [extract]}}
  load: {{task: Load, dependencies: [transform]}}
  unrelated: {{task: Fetch}}
"""


@pytest.mark.parametrize("executor", WITH_DASK)
def test_async_hooks_are_awaited_and_return_values_reach_the_tasks_downstream(
    tmp_path: Path, executor: str
) -> None:
    folder = write_project(tmp_path / "p", ASYNC_TASKS, ASYNC_JOB.format(executor=executor))
    done = run(folder, timeout=280)  # a LocalCluster starts slowly on a busy machine
    assert done.returncode == 0, done.stderr
    notes = lines(folder / "notes")
    for name in ("extract", "unrelated"):
        hooks = [n.split(":")[1] for n in notes if n.startswith(f"{name}:")]
        assert hooks == ["on_create", "run", "on_success", "on_destroy"], notes
    # Only upstream results, indirect ones too; never those of a task that merely ran before.
    assert (folder / "loaded.txt").read_text() == (
        "{'extract': {'rows': 3, 'from': 'extract'}, 'transform': 6}"
    )
    assert "never awaited" not in log_of(folder, "results", "extract")


@pytest.mark.parametrize("executor", EXECUTORS)
def test_results_are_saved_in_the_checkpoint_and_read_again_on_resume(
    tmp_path: Path, executor: str
) -> None:
    folder = write_project(tmp_path / "p", ASYNC_TASKS, ASYNC_JOB.format(executor=executor))
    (folder / "broken").touch()
    assert run(folder).returncode == 1
    assert checkpoint(folder, "results")["results"] == {
        "extract": {"rows": 3, "from": "extract"},
        "transform": 6,
        "unrelated": {"rows": 3, "from": "unrelated"},
    }
    (folder / "broken").unlink()
    second = run(folder, "-r")
    assert second.returncode == 0, second.stderr
    assert "3 completed kept; running 1 failed (load)" in second.stderr
    assert (folder / "loaded.txt").read_text() == (
        "{'extract': {'rows': 3, 'from': 'extract'}, 'transform': 6}"
    )


@pytest.mark.parametrize("executor", EXECUTORS)
def test_a_coroutine_left_unawaited_fails_the_attempt(tmp_path: Path, executor: str) -> None:
    job = f"config: {{name: forgets, executor: {executor}}}\ntasks:\n  f: {{task: Forgets}}\n"
    folder = write_project(tmp_path / "p", ASYNC_TASKS, job)
    done = run(folder)
    assert done.returncode == 1
    assert "f: FAILED: NotAwaitedError: run() gave back coroutine" in done.stderr
    assert "RuntimeWarning" not in log_of(folder, "forgets", "f")  # said once, by us


SLOW_TASKS = """\
import asyncio, os
from pathlib import Path
from flowmancer import Task, task


@task
class Wait(Task):
    seconds: float = 60

    async def run(self):
        try:  # a stop may land in the very next instruction: started inside the try
            Path(f"{self.metadata.name}.started").write_text(str(os.getpid()))
            await asyncio.sleep(self.seconds)
        finally:
            Path(f"{self.metadata.name}.finally").touch()

    async def on_abort(self):
        await asyncio.sleep(0.01)
        Path(f"{self.metadata.name}.aborted").touch()
"""


@pytest.mark.parametrize("executor", EXECUTORS)
def test_a_timeout_stops_an_awaited_run_and_on_abort_is_awaited(
    tmp_path: Path, executor: str
) -> None:
    job = f"config: {{name: slow, executor: {executor}}}\ntasks:\n  w: {{task: Wait, timeout: 1}}\n"
    folder = write_project(tmp_path / "p", SLOW_TASKS, job)
    started = time.monotonic()
    done = run(folder)
    assert done.returncode == 1, done.stderr
    assert "w: FAILED: timed out after 1 s" in done.stderr
    assert time.monotonic() - started < 30
    assert (folder / "w.finally").exists()  # the coroutine was cancelled, not left hanging
    assert (folder / "w.aborted").exists()


@pytest.mark.parametrize("executor", EXECUTORS)
def test_sigterm_aborts_an_awaited_run_with_on_abort(tmp_path: Path, executor: str) -> None:
    job = f"config: {{name: slow, executor: {executor}}}\ntasks:\n  w: {{task: Wait}}\n"
    folder = write_project(tmp_path / "p", SLOW_TASKS, job)
    driver = start(folder)
    deadline = time.monotonic() + 60
    while not (folder / "w.started").exists():
        assert time.monotonic() < deadline and driver.poll() is None
        time.sleep(0.02)
    driver.send_signal(signal.SIGTERM)
    _, err = driver.communicate(timeout=60)
    assert driver.returncode == 1, err
    assert "Traceback" not in err
    assert (folder / "w.finally").exists() and (folder / "w.aborted").exists()
    assert checkpoint(folder, "slow")["tasks"]["w"]["state"] == "ABORTED"


LOSSY_TASKS = """\
from pathlib import Path
from flowmancer import Task, task


class Frame:
    # Picklable, so it reaches the runner; but it has no JSON form, so no checkpoint keeps it.
    def __init__(self, rows):
        self.rows = rows


def note(name):
    with open("runs", "a") as f:
        f.write(name + "\\n")


@task
class Produce(Task):
    def run(self):
        note("produce")
        self.shared_dict["frame"] = Frame([1, 2, 3])
        return Frame([4, 5])


@task
class Use(Task):
    def run(self):
        note("use")
        if Path("broken").exists():
            raise RuntimeError("broken on purpose")
        frame, result = self.shared_dict["frame"], self.results["produce"]
        Path("used.txt").write_text(f"{frame.rows} {result.rows}")


@task
class Plain(Task):
    def run(self):
        note("plain")
        self.shared_dict["plain"] = 1
"""

LOSSY_JOB = """\
config: {{name: lossy, executor: {executor}}}
extensions: {{}}
tasks:
  produce: {{task: Produce}}
  use: {{task: Use, dependencies: [produce]}}
  plain: {{task: Plain}}
"""


@pytest.mark.parametrize("executor", EXECUTORS)
def test_a_value_that_cannot_be_saved_is_kept_for_the_run_and_its_producer_runs_again(
    tmp_path: Path, executor: str
) -> None:
    folder = write_project(tmp_path / "p", LOSSY_TASKS, LOSSY_JOB.format(executor=executor))
    done = run(folder)
    assert done.returncode == 0, done.stderr
    assert (folder / "used.txt").read_text() == "[1, 2, 3] [4, 5]"  # kept for the run

    (folder / "broken").touch()
    (folder / "runs").unlink()
    assert run(folder).returncode == 1
    saved = checkpoint(folder, "lossy")
    assert set(saved["unrestorable"]) == {"produce"}
    (folder / "broken").unlink()
    plan = run(folder, "-r", "--dry-run")
    assert "  produce: run: not restorable: shared_dict['frame']" in plan.stdout
    assert "  plain: skip: completed in the checkpoint, unchanged" in plan.stdout
    second = run(folder, "-r")
    assert second.returncode == 0, second.stderr
    assert "1 not restorable (produce)" in second.stderr
    assert sorted(lines(folder / "runs")[3:]) == ["produce", "use"]
    assert (folder / "used.txt").read_text() == "[1, 2, 3] [4, 5]"


def test_the_loss_is_said_once_with_what_a_resume_does(tmp_path: Path) -> None:
    folder = write_project(tmp_path / "p", LOSSY_TASKS, LOSSY_JOB.format(executor="process"))
    (folder / "broken").touch()
    done = run(folder)
    assert done.returncode == 1
    said = [line for line in done.stderr.splitlines() if "left out of the checkpoint" in line]
    assert said == [
        "flowmancer: shared_dict['frame'] is left out of the checkpoint of job 'lossy': "
        "tasks.Frame cannot be saved as JSON; it is kept for the rest of this run, and a "
        "resume runs produce again (and what depends on it)"
    ]


UNPICKLABLE_TASKS = """\
import threading
from pathlib import Path
from flowmancer import Task, task


@task
class Lock(Task):
    def run(self):
        with open("runs", "a") as f:
            f.write("lock\\n")
        return threading.Lock()  # cannot leave the attempt's process


@task
class After(Task):
    def run(self):
        if Path("broken").exists():
            raise RuntimeError("broken on purpose")
        Path("after.txt").write_text(str(sorted(self.results)))
"""


def test_a_result_that_cannot_leave_its_process_is_said_and_its_task_runs_again(
    tmp_path: Path,
) -> None:
    job = """\
config: {name: locks}
tasks:
  lock: {task: Lock}
  after: {task: After, dependencies: [lock]}
"""
    folder = write_project(tmp_path / "p", UNPICKLABLE_TASKS, job)
    (folder / "broken").touch()
    assert run(folder).returncode == 1
    assert "its result cannot leave the process" in log_of(folder, "locks", "lock")
    (folder / "broken").unlink()
    second = run(folder, "-r")
    assert second.returncode == 0, second.stderr
    assert "1 not restorable (lock)" in second.stderr
    assert lines(folder / "runs") == ["lock", "lock"]
