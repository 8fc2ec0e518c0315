"""Partial runs keep the order of what remains, DEFAULTED reasons name what failed, and cleanup
(`trigger_rule: finally`) is really last: as a user runs them, `python main.py` in a project,
on the process and the thread executor."""

from __future__ import annotations

import itertools
import json
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

MAIN = """
import sys
from flowmancer import Flowmancer
if __name__ == "__main__":
    sys.exit(Flowmancer().start())
"""

TASKS = '''
import json, time
from pathlib import Path
from flowmancer import Task, task


def note(kind, name):
    with open("events.txt", "a") as f:
        f.write(f"{kind} {name} {time.time()!r}\\n")


@task
class Step(Task):
    """Notes its start and end in events.txt; sleeps; fails while the file `fail_if` exists."""

    seconds: float = 0.0
    fail_if: str = ""

    def run(self) -> None:
        note("start", self.metadata.name)
        if self.fail_if and Path(self.fail_if).exists():
            raise RuntimeError(f"{self.fail_if} exists")
        deadline = time.monotonic() + self.seconds
        while time.monotonic() < deadline:  # short naps: a thread stops between instructions
            time.sleep(0.02)
        note("end", self.metadata.name)


@task
class Part(Step):
    """One member of a fan-out."""

    n: str


@task
class Witness(Step):
    """A Step that also writes what it was told of the tasks upstream to <name>.json."""

    def run(self) -> None:
        told = {n: [u.state.value, u.reason] for n, u in self.upstream_states.items()}
        Path(f"{self.metadata.name}.json").write_text(json.dumps(told))
        super().run()
'''

PIPELINE = """
config: {name: pipeline}
tasks:
  prep: {task: Step}
  extract: {task: Step, dependencies: [prep], parameters: {seconds: 0.6}}
  transform: {task: Step, dependencies: [extract]}
  load: {task: Step, dependencies: [transform]}
  report: {task: Step, dependencies: [load]}
loggers: {}
extensions: {}
"""


def project(tmp_path: Path, job: str) -> Path:
    root = tmp_path / "project"
    (root / "tasks").mkdir(parents=True)
    (root / "main.py").write_text(MAIN)
    (root / "tasks" / "__init__.py").write_text("")
    (root / "tasks" / "steps.py").write_text(TASKS)
    (root / "job.yaml").write_text(textwrap.dedent(job))
    return root


def drive(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(root / "main.py"), "-j", "job.yaml", *args],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
    )


def plan(root: Path, *args: str) -> list[str]:
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from flowmancer._cli import main; sys.exit(main())",
            "plan",
            "job.yaml",
            *args,
        ],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()[1:]


def spans(root: Path) -> dict[str, tuple[float, float]]:
    """Each task's (start, end) from events.txt; end is inf when it never ended."""
    starts: dict[str, float] = {}
    ends: dict[str, float] = {}
    path = root / "events.txt"
    for line in path.read_text().splitlines() if path.exists() else []:
        kind, name, when = line.split()
        (starts if kind == "start" else ends)[name] = float(when)
    return {n: (at, ends.get(n, float("inf"))) for n, at in starts.items()}


def checkpoint(root: Path, job: str) -> dict[str, tuple[str, str | None]]:
    data = json.loads((root / ".flowmancer" / f"{job}.json").read_text())
    return {name: (t["state"], t.get("reason")) for name, t in data["tasks"].items()}


def after(times: dict[str, tuple[float, float]], later: str, earlier: str) -> bool:
    return times[later][0] >= times[earlier][1]


@pytest.fixture(params=["process", "thread"])
def executor(request: pytest.FixtureRequest) -> str:
    return str(request.param)


# -- leaving a task out keeps the order of the rest (issue 23) ---------------------------------


def test_skip_keeps_load_after_extract(tmp_path: Path, executor: str) -> None:
    root = project(tmp_path, PIPELINE)
    done = drive(root, "--executor", executor, "--skip", "transform")
    assert done.returncode == 0, done.stderr
    times = spans(root)
    assert set(times) == {"prep", "extract", "load", "report"}
    assert after(times, "load", "extract")  # not beside it: transform passed the order through
    assert after(times, "report", "load")


@pytest.mark.parametrize(
    ("flags", "ran", "order"),
    [
        (["--run-to", "load", "--skip", "transform"], {"prep", "extract", "load"}, ["extract"]),
        (
            [
                "--run-from",
                "extract",
                "--run-to",
                "report",
                "--skip",
                "transform",
                "--skip",
                "load",
            ],
            {"extract", "report"},
            ["extract"],
        ),
        (["--run-from", "extract", "--skip", "load"], {"extract", "transform", "report"}, []),
    ],
)
def test_run_from_and_run_to_with_skip_keep_the_order(
    tmp_path: Path, executor: str, flags: list[str], ran: set[str], order: list[str]
) -> None:
    root = project(tmp_path, PIPELINE)
    done = drive(root, "--executor", executor, *flags)
    assert done.returncode == 0, done.stderr
    times = spans(root)
    assert set(times) == ran
    names = sorted(ran, key=lambda n: times[n][0])
    for earlier, later in itertools.pairwise(names):
        assert after(times, later, earlier), (earlier, later)  # a chain: one after the other
    for name in order:
        assert times[name][1] <= min(t[0] for n, t in times.items() if n != name and n != "prep")


def test_a_resume_with_skip_keeps_the_order_of_what_runs_again(
    tmp_path: Path, executor: str
) -> None:
    root = project(
        tmp_path,
        PIPELINE.replace(
            "extract: {task: Step, dependencies: [prep], parameters: {seconds: 0.6}}",
            "extract: {task: Step, dependencies: [prep], "
            "parameters: {seconds: 0.6, fail_if: ./broken}}",
        ),
    )
    (root / "broken").touch()
    failed = drive(root, "--executor", executor)
    assert failed.returncode == 4, failed.stderr  # extract FAILED, three DEFAULTED
    assert checkpoint(root, "pipeline")["transform"] == (
        "DEFAULTED",
        "upstream did not complete: extract",
    )
    (root / "broken").unlink()
    (root / "events.txt").unlink()
    resumed = drive(root, "--executor", executor, "-r", "--skip", "transform")
    assert resumed.returncode == 0, resumed.stderr
    times = spans(root)
    assert set(times) == {"extract", "load", "report"}
    assert after(times, "load", "extract")


def test_plan_says_what_a_task_waits_for_through_a_left_out_task(tmp_path: Path) -> None:
    root = project(tmp_path, PIPELINE)
    assert plan(root, "--skip", "transform", "--skip", "load") == [
        "  prep: run",
        "  extract: run",
        "  transform: skip: left out by --skip/--run-from/--run-to",
        "  load: skip: left out by --skip/--run-from/--run-to",
        "  report: run (waits for extract through left-out transform, load)",
    ]
    assert plan(root, "--run-from", "transform") == [
        "  prep: skip: left out by --skip/--run-from/--run-to",
        "  extract: skip: left out by --skip/--run-from/--run-to",
        "  transform: run",  # nothing before it runs: it waits for nothing
        "  load: run",
        "  report: run",
    ]


# -- a DEFAULTED task names what let it down (issue 24, point 7) --------------------------------

FAN = """
config: {name: fan}
tasks:
  part:
    task: Part
    matrix: {n: [a, b, c, d, e, f]}
    parameters: {seconds: 0.4}
  bad: {task: Step, parameters: {fail_if: ./job.yaml}}
  merge: {task: Step, dependencies: [part, bad]}
loggers: {}
extensions: {}
"""


def test_a_defaulted_task_names_only_what_failed_in_its_reason_and_checkpoint(
    tmp_path: Path, executor: str
) -> None:
    root = project(tmp_path, FAN)
    done = drive(root, "--executor", executor, "--log-format", "text")
    assert done.returncode == 2, done.stderr  # bad FAILED, merge DEFAULTED
    saved = checkpoint(root, "fan")
    assert all(saved[f"part[{n}]"][0] == "COMPLETED" for n in "abcdef")
    assert saved["merge"] == ("DEFAULTED", "upstream did not complete: bad")
    assert "→ DEFAULTED (upstream did not complete: bad)\n" in done.stderr


# -- cleanup that is really last (issue 24, point 8) -------------------------------------------

NIGHTLY = """
config: {name: nightly}
tasks:
  extract: {task: Step, parameters: {fail_if: ./broken}}
  load: {task: Step, dependencies: [extract]}
  side:
    task: Step
    parameters:
      seconds: $VAR{side:0.6}
  alert:
    task: Witness
    dependencies: [load]
    trigger_rule: one_failed
  cleanup:
    task: Witness
    dependencies: [load]
    trigger_rule: finally
    parameters:
      seconds: $VAR{cleanup:0}
loggers: {}
extensions: {}
"""


def test_cleanup_runs_after_every_other_task_and_the_failure_still_counts(
    tmp_path: Path, executor: str
) -> None:
    root = project(tmp_path, NIGHTLY)
    (root / "broken").touch()
    done = drive(root, "--executor", executor)
    assert done.returncode == 2, done.stderr  # extract FAILED, load DEFAULTED: not hidden
    times = spans(root)
    assert after(times, "cleanup", "side")  # load was DEFAULTED at once; side still ran
    assert after(times, "cleanup", "alert")
    told = json.loads((root / "cleanup.json").read_text())
    assert told == {
        "extract": ["FAILED", "RuntimeError: ./broken exists"],
        "load": ["DEFAULTED", "upstream did not complete: extract"],
        "side": ["COMPLETED", None],
        "alert": ["COMPLETED", None],
    }
    assert json.loads((root / "alert.json").read_text()) == {
        "extract": ["FAILED", "RuntimeError: ./broken exists"],
        "load": ["DEFAULTED", "upstream did not complete: extract"],
    }


def test_cleanup_runs_again_on_a_resume_that_runs_anything(tmp_path: Path, executor: str) -> None:
    root = project(tmp_path, NIGHTLY)
    (root / "broken").touch()
    drive(root, "--executor", executor, "--var", "side=0")
    (root / "broken").unlink()
    (root / "events.txt").unlink()
    # cleanup depends on load, which runs again: that is the reason given (a resume judges
    # every task alike); a finally task with no such upstream is "finally again" (below).
    assert plan(root, "-r", "--var", "side=0")[-1] == "  cleanup: run: upstream load runs again"
    resumed = drive(root, "--executor", executor, "-r", "--var", "side=0")
    assert resumed.returncode == 0, resumed.stderr
    assert (
        "1 completed kept; running 1 failed (extract), 1 not run (upstream failed) (load), "
        "2 downstream of a task that runs again (alert, cleanup)"
    ) in resumed.stderr
    # the alert is judged anew (nothing upstream failed this time: SKIPPED, so it never starts)
    assert set(spans(root)) == {"extract", "load", "cleanup"}


def start_while_side_runs(root: Path, executor: str, *variables: str) -> subprocess.Popen[str]:
    """``python main.py`` started in the background, returned once the task `side` runs."""
    flags = [f for v in variables for f in ("--var", v)]
    process = subprocess.Popen(
        [sys.executable, "main.py", "-j", "job.yaml", "--executor", executor, *flags],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    events = root / "events.txt"
    while "start side" not in (events.read_text() if events.exists() else ""):
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "side never started"
        time.sleep(0.02)
    return process


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_an_aborted_run_cleans_up_within_its_grace_period_and_resumes(
    tmp_path: Path, executor: str, sig: int
) -> None:
    root = project(
        tmp_path,
        NIGHTLY.replace(
            "config: {name: nightly}", "config: {name: nightly, finally_grace_period: 20}"
        ),
    )
    process = start_while_side_runs(root, executor, "side=60")
    process.send_signal(sig)
    _, err = process.communicate(timeout=60)
    assert "Traceback" not in err
    saved = checkpoint(root, "nightly")
    assert saved["cleanup"] == ("COMPLETED", None)
    assert saved["side"] == ("ABORTED", "the run was aborted")
    bad = [n for n, (state, _) in saved.items() if state not in ("COMPLETED", "SKIPPED")]
    assert process.returncode == len(bad) > 0  # the exit status agrees with the checkpoint
    told = json.loads((root / "cleanup.json").read_text())
    assert told["side"] == ["ABORTED", "the run was aborted"]

    (root / "events.txt").unlink()
    resumed = drive(root, "--executor", executor, "-r", "--var", "side=0")
    assert resumed.returncode == 0, resumed.stderr
    assert "cleanup" in spans(root)  # the resume ran something: the cleanup runs again


def test_the_grace_period_for_cleanup_after_an_abort_is_bounded(
    tmp_path: Path, executor: str
) -> None:
    job = NIGHTLY.replace(
        "config: {name: nightly}", "config: {name: nightly, finally_grace_period: 1}"
    )
    root = project(tmp_path, job)
    process = start_while_side_runs(root, executor, "side=60", "cleanup=60")
    events = root / "events.txt"
    sent = time.monotonic()
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=60)
    assert time.monotonic() - sent < 15  # 1 s of grace, and the executor's own to stop it
    assert "start cleanup" in events.read_text()
    saved = checkpoint(root, "nightly")
    assert saved["cleanup"] == (
        "ABORTED",
        "the run was aborted and its finally tasks' grace period (1 s) ran out",
    )
    bad = [n for n, (state, _) in saved.items() if state not in ("COMPLETED", "SKIPPED")]
    assert process.returncode == len(bad)  # the exit status agrees with the checkpoint
    assert {"side", "cleanup"} <= set(bad)  # (load and alert too, if the stop came that soon)
