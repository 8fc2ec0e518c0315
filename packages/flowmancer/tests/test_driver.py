"""The driver as users run it: ``python main.py -j job.yaml`` in a project folder."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from driver_support import MAIN, TASKS, drive

JOB = """
config:
  name: demo
tasks:
  first:
    task: Step
    parameters: {marker: ./runs.txt}
  second:
    task: Step
    dependencies: [first]
    parameters: {marker: ./runs.txt, fail_if: ./broken}
  third:
    task: Step
    dependencies: [second]
    parameters: {marker: ./runs.txt}
"""


def project(tmp_path: Path, job: str = JOB) -> Path:
    root = tmp_path / "project"
    (root / "tasks").mkdir(parents=True)
    (root / "main.py").write_text(MAIN)
    (root / "tasks" / "__init__.py").write_text("")
    (root / "tasks" / "steps.py").write_text(TASKS)
    (root / "job.yaml").write_text(textwrap.dedent(job))
    return root


def runs(root: Path) -> list[str]:
    path = root / "runs.txt"
    return path.read_text().split() if path.exists() else []


def test_a_job_runs_writes_logs_and_clears_its_checkpoint(tmp_path: Path) -> None:
    root = project(tmp_path)
    done = drive(root, "-j", "job.yaml")
    assert done.returncode == 0, done.stderr
    assert runs(root) == ["first", "second", "third"]
    assert "job 'demo' succeeded" in done.stdout  # the result: on stdout
    (run_folder,) = (root / "logs" / "demo").iterdir()
    assert "first ran" in (run_folder / "first.log").read_text()
    assert not (root / ".flowmancer" / "demo.json").exists()  # cleared by the clean finish


def test_a_failure_resumes_with_r_without_redoing_finished_tasks(tmp_path: Path) -> None:
    root = project(tmp_path)
    (root / "broken").touch()
    failed = drive(root, "-j", "job.yaml")
    assert failed.returncode == 2  # second FAILED, third DEFAULTED
    assert "second: FAILED: RuntimeError: failing as asked" in failed.stderr
    assert (root / ".flowmancer" / "demo.json").exists()
    (root / "broken").unlink()
    resumed = drive(root, "-j", "job.yaml", "-r")
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming job 'demo' from run" in resumed.stderr
    assert "1 completed kept; running 1 failed (second)" in resumed.stderr
    assert runs(root) == ["first", "second", "third"]  # first ran once
    (run_folder, _) = sorted((root / "logs" / "demo").iterdir())[::-1]
    assert "second restarted" in (run_folder / "second.log").read_text()


def test_the_driver_works_from_any_folder(tmp_path: Path) -> None:
    root = project(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "job.yaml").write_text(textwrap.dedent(JOB))
    done = drive(root, "-j", "job.yaml", cwd=elsewhere)  # the job file: from the caller's folder
    assert done.returncode == 0, done.stderr
    assert runs(root) == ["first", "second", "third"]  # relative paths: the driver's folder


def test_skip_run_from_run_to_and_dry_run(tmp_path: Path) -> None:
    root = project(tmp_path)
    plan = drive(root, "-j", "job.yaml", "--dry-run", "--skip", "second")
    assert plan.returncode == 0
    assert plan.stdout.splitlines() == [
        "dry run: nothing is run",
        "  first: run",
        "  second: skip: left out by --skip/--run-from/--run-to",
        "  third: run (waits for first through left-out second)",
    ]
    assert runs(root) == []
    done = drive(root, "-j", "job.yaml", "--run-from", "second")
    assert done.returncode == 0, done.stderr
    assert runs(root) == ["second", "third"]


def test_variables_from_the_command_line(tmp_path: Path) -> None:
    # Inside { } a variable cannot be a plain value, and quoted it is literal: block style.
    job = JOB.replace("parameters: {marker: ./runs.txt}", "parameters:\n      marker: $VAR{out}", 1)
    root = project(tmp_path, job)
    done = drive(root, "-j", "job.yaml", "--var", "out=./other.txt")
    assert done.returncode == 0, done.stderr
    assert (root / "other.txt").read_text() == "first\n"


@pytest.mark.parametrize(
    ("job", "expected"),
    [
        (
            JOB.replace("task: Step\n    dependencies", "task: Stp\n    dependencies", 1),
            "tasks.second.task: no task class named 'Stp' is registered with @task (did you mean "
            "Step?)",
        ),
        (
            JOB.replace("dependencies: [second]", "dependencies: [secnd]"),
            "tasks.third.dependencies",
        ),
        (
            JOB.replace("{marker: ./runs.txt}", "{marker: ./runs.txt, colour: red}", 1),
            "tasks.first.parameters.colour",
        ),
        (
            JOB + "  extra: {task: Step, parameters: {marker: x}, max_attempts: 0}\n",
            "tasks.extra.max_attempts: expected a whole number >= 1, got 0",
        ),
        (JOB.replace("config:", "config:\n  executor: dusk"), "(did you mean 'dask'?)"),
        (JOB + "loggers:\n  f: {logger: FileLoger}\n", "(did you mean 'FileLogger'?)"),
        (
            JOB + "extensions:\n  n: {extension: EmailNotifcation}\n",
            "(did you mean 'EmailNotification'?)",
        ),
    ],
)
def test_bad_jobs_give_one_clear_message_and_exit_99_without_traceback(
    tmp_path: Path, job: str, expected: str
) -> None:
    root = project(tmp_path, job)
    done = drive(root, "-j", "job.yaml")
    assert done.returncode == 99, done.stderr
    assert expected in done.stderr
    assert f"{root / 'job.yaml'}:" in done.stderr  # names the file (and line)
    assert "Traceback" not in done.stderr
    assert runs(root) == []


def test_plug_in_modules_are_imported_only_for_a_job_that_uses_them(tmp_path: Path) -> None:
    # smtplib, email and urllib.request cost tens of milliseconds at every start; sqlite3 is
    # 0.8 MB more in the process every attempt is forked from (sqlite3 itself may be loaded by
    # coverage's start-up hook in the test environment: ours is what is looked for).
    root = project(tmp_path, JOB + "extensions: {}\n")
    (root / "main.py").write_text(
        "import sys\n"
        "from flowmancer import Flowmancer\n"
        "code = Flowmancer().start()\n"
        "print('smtplib loaded:', 'smtplib' in sys.modules)\n"
        "print('sqlite3 loaded:', 'flowmancer_checkpoint._sqlite' in sys.modules)\n"
        "sys.exit(code)\n"
    )
    plain = drive(root, "-j", "job.yaml")
    assert plain.returncode == 0, plain.stderr
    assert "smtplib loaded: False" in plain.stdout
    assert "sqlite3 loaded: False" in plain.stdout
    notified = JOB + (
        "extensions:\n"
        "  mail: {extension: EmailNotification, parameters: {host: localhost, port: 1,"
        " sender: a@b.c, to: d@e.f}}\n"
        "checkpointer: {checkpointer: SQLiteCheckpointer}\n"
    )
    (root / "job.yaml").write_text(notified)
    validated = drive(root, "-j", "job.yaml", "--dry-run")
    assert validated.returncode == 0, validated.stderr
    assert "smtplib loaded: True" in validated.stdout
    assert "sqlite3 loaded: True" in validated.stdout


def test_a_corrupt_checkpoint_stops_a_resume_and_is_left_alone(tmp_path: Path) -> None:
    root = project(tmp_path)
    (root / ".flowmancer").mkdir()
    (root / ".flowmancer" / "demo.json").write_text('{"format": "flowmancer-checkpoint", "ver')
    done = drive(root, "-j", "job.yaml", "-r")
    assert done.returncode == 99
    assert "demo.json: not valid JSON" in done.stderr and "--fresh" in done.stderr
    assert "Traceback" not in done.stderr
    assert (root / ".flowmancer" / "demo.json").read_text().endswith('"ver')
    fresh = drive(root, "-j", "job.yaml", "-r", "--fresh")
    assert fresh.returncode == 0, fresh.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["-j", "job.yaml", "--max-concurrency", "-1"],
        ["-j", "job.yaml", "--var", "novalue"],
        ["-j", "job.yaml", "--bogus"],
    ],
)
def test_a_bad_command_line_exits_2_with_usage(tmp_path: Path, args: list[str]) -> None:
    root = project(tmp_path)
    done = drive(root, *args)
    assert done.returncode == 2
    assert "usage:" in done.stderr and "Traceback" not in done.stderr


def test_an_unknown_task_name_on_the_command_line_is_named(tmp_path: Path) -> None:
    root = project(tmp_path)
    done = drive(root, "-j", "job.yaml", "--skip", "secnd")
    assert done.returncode == 2  # a usage error
    assert "secnd" in done.stderr and "Traceback" not in done.stderr


def test_an_import_error_in_task_code_shows_the_users_file_and_line(tmp_path: Path) -> None:
    root = project(tmp_path)
    (root / "tasks" / "broken.py").write_text(
        "import os\n\nraise ValueError('oops in user code')\n"
    )
    done = drive(root, "-j", "job.yaml")
    assert done.returncode == 99
    assert f"{root / 'tasks' / 'broken.py'}:3: cannot import tasks.broken: ValueError: oops" in (
        done.stderr
    )


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from flowmancer._cli import main; sys.exit(main())",
            *args,
        ],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_command_validates_plans_graphs_lists_and_runs(tmp_path: Path) -> None:
    root = project(tmp_path)
    away = tmp_path / "away"
    away.mkdir()
    job = str(root / "job.yaml")
    assert cli("validate", job, cwd=away).stdout == "ok: 3 tasks\n"
    plan = cli("plan", job, "--skip", "first", cwd=away)
    assert plan.returncode == 0 and "  first: skip: left out" in plan.stdout
    graph = cli("graph", job, cwd=away)
    assert graph.stdout.startswith("flowchart") and "first" in graph.stdout
    dot = cli("graph", job, "--format", "dot", cwd=away)
    assert dot.stdout.startswith("digraph")
    listed = cli("tasks", job, cwd=away).stdout
    assert "Step\n  marker: str\n  fail_if: str = ''\n" in listed
    (root / "broken").touch()
    ran = cli("run", job, cwd=away)
    assert ran.returncode == 2 and runs(root) == ["first"]
    states = cli("graph", job, "--states", cwd=away)
    assert states.returncode == 0 and "FAILED" in states.stdout.upper()


def test_the_command_reports_bad_jobs_and_bad_commands(tmp_path: Path) -> None:
    root = project(tmp_path, JOB.replace("task: Step", "task: Stepp", 1))
    bad = cli("validate", str(root / "job.yaml"), cwd=tmp_path)
    assert bad.returncode == 99 and "did you mean Step?" in bad.stderr
    assert "Traceback" not in bad.stderr
    assert cli("frobnicate", cwd=tmp_path).returncode == 2
    # A problem in the file and one in the graph: validate, like the driver, says both.
    both = JOB + "    max_attempts: many\n"
    (root / "job.yaml").write_text(both.replace("dependencies: [first]", "dependencies: [zz]"))
    bad = cli("validate", str(root / "job.yaml"), cwd=tmp_path)
    assert "max_attempts: expected a whole number" in bad.stderr, bad.stderr
    assert "depends on zz" in bad.stderr, bad.stderr
    assert cli(cwd=tmp_path).returncode == 2
    assert "usage" in cli("run", "--help", cwd=tmp_path).stdout


def test_every_problem_in_a_job_is_reported_at_once_in_file_order(tmp_path: Path) -> None:
    job = """
    tasks:
      first:
        task: Step
        parameters: {marker: ./runs.txt, colour: red}
        max_attempts: many
      second:
        task: Stpe
        dependencies: [first]
      third:
        task: Step
        dependencies: [fourth]
        parameters: {marker: ./runs.txt}
        timeout: -1
    """
    root = project(tmp_path, job)
    done = drive(root, "-j", "job.yaml")
    assert done.returncode == 99
    lines = done.stderr.splitlines()
    assert lines[0] == "flowmancer: error: 5 problems:"
    places = [line.split(": ")[1] for line in lines[1:]]
    assert places == [
        "tasks.first.parameters.colour",
        "tasks.first.max_attempts",
        "tasks.second.task",
        "tasks.third.dependencies",
        "tasks.third.timeout",
    ], done.stderr
    assert runs(root) == []


SHAPES = """
include: [common.yaml]
config:
  name: shapes
  pools: {slots: 1}
tasks:
  fan:
    task: Step
    parameters: {marker: ./runs.txt}
    matrix: {fail_if: [./never-a, ./never-b]}
    pool: slots
  cleanup:
    task: Step
    dependencies: [fan, doomed]
    trigger_rule: all_done
    parameters: {marker: ./runs.txt}
"""

COMMON = """
tasks:
  doomed:
    task: Step
    parameters: {marker: ./runs.txt, fail_if: ./main.py}
    max_attempts: 2
"""


@pytest.mark.parametrize("executor", ["process", "thread"])
def test_matrix_pools_includes_retries_and_trigger_rules_from_a_job_file(
    tmp_path: Path, executor: str
) -> None:
    root = project(tmp_path, SHAPES)
    (root / "common.yaml").write_text(textwrap.dedent(COMMON))
    done = drive(root, "-j", "job.yaml", "--executor", executor, "--log-format", "text")
    assert done.returncode == 1, done.stderr  # doomed fails both attempts
    ran = runs(root)
    assert sorted(ran) == ["cleanup", "fan[./never-a]", "fan[./never-b]"]
    assert ran[-1] == "cleanup"  # all_done: after everything, failures included
    assert "doomed" in done.stderr and "FAILED" in done.stderr  # the console view


def test_log_format_json_and_max_concurrency(tmp_path: Path) -> None:
    import json

    root = project(tmp_path)
    done = drive(root, "-j", "job.yaml", "--log-format", "json", "--max-concurrency", "1")
    assert done.returncode == 0, done.stderr
    objects = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    assert {o["kind"] for o in objects} >= {"run_start", "log", "state", "run_end"}
    assert any(o.get("event") == "first ran" for o in objects)


def test_a_job_fails_on_dask_and_resumes_on_the_process_executor(tmp_path: Path) -> None:
    pytest.importorskip("distributed")
    root = project(tmp_path)
    (root / "broken").touch()
    first = drive(root, "-j", "job.yaml", "--executor", "dask")
    assert first.returncode == 2, first.stderr
    assert "second: FAILED: RuntimeError: failing as asked" in first.stderr
    (run_folder,) = (root / "logs" / "demo").iterdir()
    assert "first ran" in (run_folder / "first.log").read_text()  # output from the worker
    (root / "broken").unlink()
    second = drive(root, "-j", "job.yaml", "-r", "--executor", "process")
    assert second.returncode == 0, second.stderr
    assert runs(root) == ["first", "second", "third"]


def test_a_ctrl_c_while_the_driver_puts_things_back_after_the_run_is_no_traceback(
    tmp_path: Path,
) -> None:
    root = project(tmp_path)
    # Ctrl-C arriving after the job has ended, while the driver gives the collector back
    # (between unfreezing and enabling it): raised there, it left the collector off.
    (root / "main.py").write_text(
        "import gc, os, signal, sys\n"
        "from flowmancer import Flowmancer\n"
        "unfreeze = gc.unfreeze\n"
        "def unfreeze_then_ctrl_c():\n"
        "    unfreeze()\n"
        "    os.kill(os.getpid(), signal.SIGINT)\n"
        "gc.unfreeze = unfreeze_then_ctrl_c\n"
        "gc.freeze = lambda: None  # Python 3.12 starts with objects frozen: freeze as if not\n"
        "gc.get_freeze_count = lambda: 0\n"
        "code = Flowmancer().start()\n"
        "print('collecting', gc.isenabled())\n"
        "sys.exit(code)\n"
    )
    done = drive(root, "-j", "job.yaml")
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    summary, printed = done.stdout.split("\n", 1)
    assert "succeeded" in summary
    assert printed.split() == ["collecting", "True"]
    assert runs(root) == ["first", "second", "third"]


def test_ctrl_c_while_the_driver_reads_the_job_is_one_line_and_exit_130(tmp_path: Path) -> None:
    root = project(tmp_path)
    # Ctrl-C arriving while the task modules are imported, before the runner handles SIGINT.
    (root / "tasks" / "slow_import.py").write_text(
        "import os, signal\nos.kill(os.getpid(), signal.SIGINT)\n"
    )
    done = drive(root, "-j", "job.yaml")
    assert done.returncode == 130
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1] == "flowmancer: interrupted (SIGINT)"


def test_a_ctrl_c_while_the_runner_is_set_up_aborts_the_run_without_a_traceback(
    tmp_path: Path,
) -> None:
    root = project(tmp_path)
    # SIGINT arriving while asyncio makes the runner's event loop: raised in there it left a
    # half-made loop whose finalizer printed a traceback.
    (root / "main.py").write_text(
        textwrap.dedent(
            """
            import asyncio, os, signal, sys
            from flowmancer import Flowmancer

            class InterruptedWhileMade(asyncio.SelectorEventLoop):
                def __init__(self):
                    os.kill(os.getpid(), signal.SIGINT)
                    super().__init__()

            class Policy(asyncio.DefaultEventLoopPolicy):
                def new_event_loop(self):
                    return InterruptedWhileMade()

            asyncio.set_event_loop_policy(Policy())
            sys.exit(Flowmancer().start())
            """
        )
    )
    done = drive(root, "-j", "job.yaml")
    assert done.returncode != 0, done.stderr
    assert "Traceback" not in done.stderr and "Exception ignored" not in done.stderr
    assert "aborted" in done.stderr
    assert runs(root) != ["first", "second", "third"]
    (root / "main.py").write_text(MAIN)
    resumed = drive(root, "-j", "job.yaml", "-r")  # nothing was lost: it resumes and finishes
    assert resumed.returncode == 0, resumed.stderr
    assert sorted(set(runs(root))) == ["first", "second", "third"]


def test_a_ctrl_c_python_swallows_during_the_imports_still_stops_the_job(tmp_path: Path) -> None:
    root = project(tmp_path)
    # The KeyboardInterrupt is raised inside a finalizer, where Python prints "Exception ignored"
    # and goes on (as it does for the import system's weakref callbacks): the job must not run.
    (root / "tasks" / "swallowing_import.py").write_text(
        "import os, signal, time\n"
        "class Finalized:\n"
        "    def __del__(self):\n"
        "        os.kill(os.getpid(), signal.SIGINT)\n"
        "        time.sleep(0.05)\n"
        "Finalized()\n"
    )
    done = drive(root, "-j", "job.yaml")
    assert done.returncode == 130, done.stderr
    assert done.stderr.strip().splitlines() == ["flowmancer: interrupted (SIGINT)"]
    assert runs(root) == []
    assert runs(root) == []
