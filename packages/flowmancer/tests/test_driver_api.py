"""The driver's Python API, as 0.12 users call it, and the behaviours the review found wrong."""

from __future__ import annotations

import shlex
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from driver_support import MAIN, TASKS

EMBED = """
import sys
sys.path.insert(0, ".")
from flowmancer import Flowmancer
from flowmancer.exceptions import CannotStartError
import tasks.steps

f = Flowmancer(test=True)
f.add_executor("one", "Step", parameters={"marker": "./runs.txt"})
f.add_executor("two", tasks.steps.Step, deps=["one"], parameters={"marker": "./runs.txt"},
               max_attempts=2, backoff=0)
print("definition", sorted(f.get_job_definition().tasks))
print("exit", f.start())
bad = Flowmancer(test=True)
bad.add_executor("x", "NoSuchTask")
try:
    bad.start(raise_exception_on_failure=True)
except CannotStartError as error:
    print("raised", error.problems[0])
"""


def project(tmp_path: Path, job: str = "") -> Path:
    root = tmp_path / "project"
    (root / "tasks").mkdir(parents=True)
    (root / "tasks" / "__init__.py").write_text("")
    (root / "tasks" / "steps.py").write_text(TASKS)
    (root / "main.py").write_text(MAIN)
    if job:
        (root / "job.yaml").write_text(textwrap.dedent(job))
    return root


def run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=120)


def test_test_mode_runs_tasks_added_in_python_without_loggers(tmp_path: Path) -> None:
    root = project(tmp_path)
    (root / "embed.py").write_text(EMBED)
    done = run([sys.executable, "embed.py"], root)
    assert done.returncode == 0, done.stderr
    assert "definition ['one', 'two']" in done.stdout and "exit 0" in done.stdout
    assert "raised " in done.stdout and "NoSuchTask" in done.stdout
    assert (root / "runs.txt").read_text().split() == ["one", "two"]
    assert not (root / "logs").exists()  # test mode: no loggers, as in 0.12


def test_a_default_job_path_is_found_from_the_drivers_folder(tmp_path: Path) -> None:
    root = project(tmp_path, "tasks:\n  t: {task: Step, parameters: {marker: ./runs.txt}}\n")
    (root / "main.py").write_text(
        "import sys\nfrom flowmancer import Flowmancer\n"
        "if __name__ == '__main__':\n    sys.exit(Flowmancer().start('job.yaml'))\n"
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    done = run([sys.executable, str(root / "main.py")], elsewhere)
    assert done.returncode == 0, done.stderr
    assert (root / "runs.txt").read_text() == "t\n"


def test_variables_set_in_python_fill_the_job_file(tmp_path: Path) -> None:
    root = project(
        tmp_path, "tasks:\n  t:\n    task: Step\n    parameters:\n      marker: $VAR{out}\n"
    )
    (root / "main.py").write_text(
        "import sys\nfrom flowmancer import Flowmancer\n"
        "if __name__ == '__main__':\n    f = Flowmancer()\n    f.set_jobdef_var('out', 'x.txt')\n"
        "    f.set_jobdef_var('gone', '1')\n    f.unset_jobdef_var('gone')\n"
        "    sys.exit(f.start())\n"
    )
    done = run([sys.executable, "main.py", "-j", "job.yaml"], root)
    assert done.returncode == 0, done.stderr
    assert (root / "x.txt").read_text() == "t\n"


JOB = """
tasks:
  first: {task: Step, parameters: {marker: ./runs.txt}}
  second: {task: Step, dependencies: [first], parameters: {marker: ./runs.txt, fail_if: ./broken}}
  third: {task: Step, dependencies: [second], parameters: {marker: ./runs.txt}}
"""


def test_a_partial_resume_keeps_the_checkpoint_for_the_rest(tmp_path: Path) -> None:
    root = project(tmp_path, JOB)
    (root / "broken").touch()
    assert run([sys.executable, "main.py", "-j", "job.yaml"], root).returncode == 2
    (root / "broken").unlink()
    partial = run([sys.executable, "main.py", "-j", "job.yaml", "-r", "--run-to", "first"], root)
    assert partial.returncode == 0, partial.stderr
    rest = run([sys.executable, "main.py", "-j", "job.yaml", "-r"], root)
    assert rest.returncode == 0, rest.stderr
    assert (root / "runs.txt").read_text().split() == ["first", "second", "third"]


def test_run_to_runs_only_what_the_task_needs(tmp_path: Path) -> None:
    root = project(tmp_path, JOB)
    done = run([sys.executable, "main.py", "-j", "job.yaml", "--run-to", "second"], root)
    assert done.returncode == 0, done.stderr
    assert (root / "runs.txt").read_text().split() == ["first", "second"]


def test_a_matrix_task_is_selected_by_its_name(tmp_path: Path) -> None:
    job = """
    tasks:
      fan: {task: Step, parameters: {marker: ./runs.txt}, matrix: {fail_if: [./a, ./b]}}
      after: {task: Step, dependencies: [fan], parameters: {marker: ./runs.txt}}
    """
    root = project(tmp_path, job)
    done = run([sys.executable, "main.py", "-j", "job.yaml", "--skip", "fan"], root)
    assert done.returncode == 0, done.stderr
    assert (root / "runs.txt").read_text().split() == ["after"]
    typo = run([sys.executable, "main.py", "-j", "job.yaml", "--skip", "fann"], root)
    assert typo.returncode == 2  # a usage error
    assert "--skip: no task named 'fann' in this job (did you mean" in typo.stderr


def test_an_unusable_log_folder_stops_the_job_before_it_runs(tmp_path: Path) -> None:
    job = JOB + "loggers:\n  f: {logger: FileLogger, parameters: {base_log_dir: ./blocked/logs}}\n"
    root = project(tmp_path, job)
    (root / "blocked").write_text("a file, not a folder")
    done = run([sys.executable, "main.py", "-j", "job.yaml"], root)
    assert done.returncode == 99
    assert "cannot write to" in done.stderr and "Traceback" not in done.stderr
    assert not (root / "runs.txt").exists()


def test_json_lines_to_a_redirected_stderr_stay_whole(tmp_path: Path) -> None:
    import json

    root = project(tmp_path, JOB)
    (root / "broken").touch()  # a failure: the driver has lines to say after the run
    with open(tmp_path / "err.txt", "w") as err, open(tmp_path / "out.txt", "w") as out:
        done = subprocess.run(
            [sys.executable, "main.py", "-j", "job.yaml", "--log-format", "json"],
            cwd=root,
            stdout=out,
            stderr=err,
            timeout=120,
        )
    assert done.returncode == 2  # second failed, third defaulted
    lines = (tmp_path / "err.txt").read_text().splitlines()
    objects = [json.loads(line) for line in lines]  # every line whole, and JSON
    logged = [o for o in objects if o["kind"] != "message"]
    assert logged[0]["kind"] == "run_start" and logged[-1]["kind"] == "run_end"
    # The driver's lines came after, nothing overwritten; the summary line is on stdout.
    assert objects[-1]["event"] == "flowmancer: resume with: " + shlex.join(
        [sys.executable, "main.py", "-r", "-j", "job.yaml", "--log-format", "json"]
    )
    assert (tmp_path / "out.txt").read_text().startswith("flowmancer: job 'flowmancer' failed")


NAP = """
import os, time
from flowmancer import Task, task


@task
class Nap(Task):
    folder: str

    def run(self):
        mark = os.path.join(self.folder, self.metadata.name)
        open(mark + ".s", "w").write(repr(time.time()))
        time.sleep(0.2)
        open(mark + ".e", "w").write(repr(time.time()))
"""


@pytest.mark.parametrize("executor", ["process", "thread"])
def test_max_concurrency_from_the_command_line_limits_side_by_side_tasks(
    tmp_path: Path, executor: str
) -> None:
    tasks = "".join(f"  t{i}: {{task: Nap, parameters: {{folder: ./marks}}}}\n" for i in range(4))
    root = project(tmp_path, "tasks:\n" + tasks)
    (root / "marks").mkdir()
    (root / "tasks" / "nap.py").write_text(NAP)
    done = run(
        [
            sys.executable,
            "main.py",
            "-j",
            "job.yaml",
            "--max-concurrency",
            "2",
            "--executor",
            executor,
        ],
        root,
    )
    assert done.returncode == 0, done.stderr
    spans = [
        (
            float((root / "marks" / f"t{i}.s").read_text()),
            float((root / "marks" / f"t{i}.e").read_text()),
        )
        for i in range(4)
    ]
    most = max(sum(1 for s, e in spans if s <= t < e) for t, _ in spans)
    assert most <= 2


def test_an_extension_folder_named_like_tasks_is_read_too(tmp_path: Path) -> None:
    job = (
        "config: {extension_directories: [./more/tasks]}\n"
        "tasks:\n  t: {task: More, parameters: {marker: ./runs.txt}}\n"
    )
    root = project(tmp_path, job)
    more = root / "more" / "tasks"
    more.mkdir(parents=True)
    (more / "__init__.py").write_text("")
    (more / "extra.py").write_text(TASKS.replace("class Step", "class More"))
    done = run([sys.executable, "main.py", "-j", "job.yaml"], root)
    assert done.returncode == 0, done.stderr
    assert (root / "runs.txt").read_text() == "t\n"


PROBE = """
import gc
from flowmancer import Task, task

AT_IMPORT = gc.isenabled()  # the driver imports this module while it builds the job


@task
class Probe(Task):
    marker: str

    def run(self) -> None:
        with open(self.marker, "a") as f:
            frozen = gc.get_freeze_count() > 0
            f.write(f"import {AT_IMPORT} run {gc.isenabled()} frozen {frozen}\\n")
"""

GC_MAIN = """
import gc, sys
from flowmancer import Flowmancer
if {disable}:
    gc.disable()
print("before", gc.get_freeze_count())  # Python 3.12 starts with objects of its own frozen
code = Flowmancer().start()
print("after", gc.isenabled(), gc.get_freeze_count())
sys.exit(code)
"""


@pytest.mark.parametrize("executor", ["process", "thread"])
@pytest.mark.parametrize("disabled_by_the_program", [False, True])
def test_the_collector_is_put_off_while_the_job_is_built_and_given_back_as_it_was(
    tmp_path: Path, executor: str, disabled_by_the_program: bool
) -> None:
    root = project(tmp_path, "tasks:\n  p: {task: Probe, parameters: {marker: ./gc.txt}}\n")
    (root / "tasks" / "probe.py").write_text(PROBE)
    (root / "main.py").write_text(GC_MAIN.format(disable=disabled_by_the_program))
    done = run([sys.executable, "main.py", "-j", "job.yaml", "--executor", executor], root)
    assert done.returncode == 0, done.stderr
    collecting = not disabled_by_the_program
    before = done.stdout.split()[1]
    # Off while the task modules are imported, on during the run with what was built frozen
    # (unless something was frozen already), as before once it ended; a program that turned it
    # off itself keeps it off throughout. (A forked child freezes what it inherited itself.)
    frozen = (collecting and before == "0") or executor == "process" or before != "0"
    assert (root / "gc.txt").read_text() == f"import False run {collecting} frozen {frozen}\n"
    printed = [line for line in done.stdout.splitlines() if not line.startswith("flowmancer: ")]
    assert " ".join(printed).split() == ["before", before, "after", str(collecting), before]
