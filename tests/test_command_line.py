"""The command line behaves like the tools people know (issue 19, items 4-7 and 9): results on
stdout and the rest on stderr, exit statuses as documented (the README, ``--help`` and the real
statuses agree), a failure or a Ctrl-C ends with the command that resumes, a Ctrl-C is said once,
counts that agree, plurals, and a progress line that fits an 80-column terminal.

Every case runs the real entry points in subprocesses: ``python main.py`` in a project folder
and the ``flowmancer`` console script installed beside this Python; the progress display on a
real pseudo-terminal, with Ctrl-C typed into it.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from terminal_support import Screen, run_on_terminal

REPO = Path(__file__).resolve().parent.parent
FLOWMANCER = Path(sys.executable).with_name("flowmancer")

MAIN = """\
import sys
from flowmancer import Flowmancer
if __name__ == '__main__':
    sys.exit(Flowmancer().start())
"""

TASKS = """\
import os, time
from pathlib import Path
from flowmancer import Task, task


@task
class Ok(Task):
    def run(self):
        print("ok")


@task
class Bad(Task):
    def run(self):
        if Path("broken").exists():
            raise RuntimeError("broken, as asked")


@task
class Slow(Task):
    def run(self):
        Path(f"started-{self.metadata.name}").write_text("")
        time.sleep(120)
"""

# On a first run (with a file named `broken`): a completes, b fails, c is defaulted, d completes.
JOB = """\
config: {name: demo}
tasks:
  a: {task: Ok}
  b: {task: Bad, dependencies: [a]}
  c: {task: Ok, dependencies: [b]}
  d: {task: Ok}
"""

SLOW_NAMES = [
    "extract_the_customers_from_the_warehouse_in_europe",
    "extract_the_customers_from_the_warehouse_in_america",
    "s3",
]
# One task that fails and its dependent, defaulted; then (all_done: whatever came before) three
# slow tasks to interrupt, with long names that must not widen the progress line, and three
# that have not started when Ctrl-C comes.
SLOW_JOB = (
    "config: {name: a_job_with_a_rather_long_name_for_an_eighty_column_terminal}\n"
    "tasks:\n"
    "  a: {task: Ok}\n"
    "  bad: {task: Bad}\n"
    "  bad_after: {task: Ok, dependencies: [bad]}\n"
    + "".join(
        f"  {n}: {{task: Slow, dependencies: [a, bad_after], trigger_rule: all_done}}\n"
        for n in SLOW_NAMES
    )
    + "".join(f"  after{i}: {{task: Ok, dependencies: [{n}]}}\n" for i, n in enumerate(SLOW_NAMES))
)
SLOW_COUNTS = "1 completed, 1 failed, 1 defaulted, 6 aborted"


def project(tmp_path: Path, job: str = JOB, broken: bool = True) -> Path:
    root = tmp_path / "project"
    (root / "tasks").mkdir(parents=True)
    (root / "main.py").write_text(MAIN)
    (root / "tasks" / "steps.py").write_text(TASKS)
    (root / "job.yaml").write_text(job)
    if broken:
        (root / "broken").touch()
    return root


def environment(**extra: str) -> dict[str, str]:
    """Ours, with the console script's folder first on PATH (so it is `flowmancer` by name)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COV_", "COVERAGE"))}
    env["PATH"] = f"{FLOWMANCER.parent}{os.pathsep}{env.get('PATH', '')}"
    env.pop("COLUMNS", None)
    return {**env, **extra}


def run(
    root: Path, *argv: str, tracebacks: bool = False, **extra: str
) -> subprocess.CompletedProcess[str]:
    """``argv`` in ``root``, to its end; no traceback on stderr unless ``tracebacks`` (a JSON
    log line may hold a task's)."""
    done = subprocess.run(
        list(argv),
        cwd=root,
        capture_output=True,
        text=True,
        timeout=180,
        env=environment(**extra),
    )
    assert tracebacks or "Traceback" not in done.stderr, done.stderr
    return done


def driver(root: Path, *args: str, **extra: Any) -> subprocess.CompletedProcess[str]:
    return run(root, sys.executable, "main.py", *args, **extra)


def command(root: Path, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    return run(root, str(FLOWMANCER), *args, **extra)


SUMMARY = re.compile(r"^flowmancer: job 'demo' failed in [\d.]+s: (.*)$")


# -- item 4: streams ----------------------------------------------------------------------------


@pytest.mark.parametrize("entry", ["python main.py -j job.yaml", "flowmancer run job.yaml"])
def test_redirecting_stdout_keeps_just_the_summary_line(tmp_path: Path, entry: str) -> None:
    root = project(tmp_path)
    program = entry.replace("python", shlex.quote(sys.executable), 1)
    done = subprocess.run(
        f"{program} > summary.txt",
        shell=True,
        cwd=root,
        capture_output=True,
        text=True,
        timeout=180,
        env=environment(),
    )
    assert done.returncode == 2, done.stderr  # b failed, c defaulted
    summary = (root / "summary.txt").read_text()
    assert summary.count("\n") == 1
    said = SUMMARY.match(summary.strip())
    assert said and said.group(1) == "2 completed, 1 failed, 1 defaulted", summary
    # Progress, what failed and how to resume: on stderr, and not the summary itself.
    assert "demo: 4 tasks" in done.stderr
    assert "  b: FAILED: RuntimeError: broken, as asked" in done.stderr
    assert done.stderr.splitlines()[-1].startswith("flowmancer: resume with: ")
    assert "job 'demo' failed" not in done.stderr


def test_log_format_json_puts_only_json_lines_on_stderr(tmp_path: Path) -> None:
    root = project(tmp_path)
    done = driver(root, "-j", "job.yaml", "--log-format", "json", tracebacks=True)
    assert done.returncode == 2
    objects = [json.loads(line) for line in done.stderr.splitlines()]  # each line JSON
    assert all(isinstance(o, dict) for o in objects)
    events = [o["event"] for o in objects if o.get("kind") == "message"]
    assert "  b: FAILED: RuntimeError: broken, as asked" in events
    assert events[-1].startswith("flowmancer: resume with: ")
    assert SUMMARY.match(done.stdout.strip()) and done.stdout.count("\n") == 1


# -- item 5: exit statuses ----------------------------------------------------------------------


def readme_table() -> list[tuple[str, str]]:
    text = (REPO / "README.md").read_text()
    section = text[text.index("## The command line") :]
    section = section[: section.index("\n## ", 1)]
    table = section[section.index("| status | meaning |") :].split("\n\n", 1)[0]
    rows = [line.strip("|").split("|") for line in table.splitlines()[2:]]
    return [(status.strip(), meaning.strip()) for status, meaning in rows]


def help_table(text: str) -> list[tuple[str, str]]:
    """The exit status table at the end of a --help, its wrapped lines joined."""
    rows: list[tuple[str, str]] = []
    for line in text[text.index("exit status:\n") :].splitlines()[1:]:
        if not line.strip():
            break
        if line.startswith("  ") and not line.startswith("   "):
            status, meaning = line.split(maxsplit=1)
            rows.append((status, meaning))
        else:
            rows[-1] = (rows[-1][0], f"{rows[-1][1]} {line.strip()}")
    return rows


INTERRUPT_ON_IMPORT = """\
import os, signal
os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C while the task modules are imported
"""


def test_the_exit_statuses_are_as_the_readme_and_help_say(tmp_path: Path) -> None:
    table = readme_table()
    assert [status for status, _ in table] == ["0", "N", "2", "99", "128+N"]
    for shown in (
        driver(project(tmp_path / "help"), "--help"),
        command(tmp_path, "--help"),
        command(tmp_path, "run", "--help"),
    ):
        assert shown.returncode == 0
        assert help_table(shown.stdout) == table, shown.stdout

    # And what the driver and the command really exit with, for each row.
    root = project(tmp_path / "p")
    statuses = {
        "0": [
            driver(root, "-j", "job.yaml", "--dry-run"),
            command(root, "--version"),
        ],
        "N": [driver(root, "-j", "job.yaml"), command(root, "run", "job.yaml")],
        "2": [
            driver(root, "-j", "job.yaml", "--no-such-flag"),
            driver(root, "-j", "job.yaml", "--fresh"),
            driver(root, "-j", "job.yaml", "--skip", "nothing"),
            driver(root, "-j", "job.yaml", "--run-from", "c", "--run-to", "a"),
            driver(root, "-j", "job.yaml", "--dask-address", "tcp://h:1", "--executor", "thread"),
            driver(root, "-j", "nothing.yaml"),
            driver(root, "-j", "tasks"),
            command(root, "validate", "nothing.yaml"),
            command(root),
            command(root, "run"),
            command(root, "run", "job.yaml", "--fresh"),
            command(root, "validate"),
            command(root, "no-such-command"),
        ],
    }
    assert [d.returncode for d in statuses["0"]] == [0, 0]
    assert [d.returncode for d in statuses["N"]] == [2, 2]  # b failed, c defaulted: 2 tasks
    assert [d.returncode for d in statuses["2"]] == [2] * len(statuses["2"])
    for usage in statuses["2"]:
        assert usage.stdout == "" and usage.stderr.strip()
    (root / "broken").unlink()
    assert driver(root, "-j", "job.yaml").returncode == 0

    (root / "job.yaml").write_text("tasks:\n  a: {task: NoSuchClass}\n")
    refused = [driver(root, "-j", "job.yaml"), command(root, "run", "job.yaml")]
    assert [d.returncode for d in refused] == [99, 99]
    (root / "job.yaml").write_text(JOB)
    (root / "tasks" / "stop.py").write_text(INTERRUPT_ON_IMPORT)
    stopped = driver(root, "-j", "job.yaml")
    assert stopped.returncode == 128 + signal.SIGINT
    assert stopped.stderr.strip().splitlines()[-1] == "flowmancer: interrupted (SIGINT)"


def test_flowmancer_alone_is_a_usage_error_on_stderr(tmp_path: Path) -> None:
    alone = command(tmp_path)
    assert alone.returncode == 2
    assert alone.stdout == ""
    assert alone.stderr.startswith("flowmancer COMMAND ...")
    assert alone.stderr.splitlines()[-1] == "flowmancer: error: give a command"
    helped = command(tmp_path, "--help")
    assert helped.returncode == 0 and helped.stderr == ""
    assert helped.stdout.startswith("flowmancer COMMAND ...")


# -- item 6: how to resume, Ctrl-C said once, --fresh -------------------------------------------


@pytest.mark.parametrize(
    ("typed", "resume"),
    [
        (["-j", "job.yaml"], ["-r", "-j", "job.yaml"]),
        (["-j", "job.yaml", "--var", "where=a b"], ["-r", "-j", "job.yaml", "--var", "where=a b"]),
        (["-dj", "job.yaml"], ["-r", "-dj", "job.yaml"]),
        (["--restart", "-j", "job.yaml"], ["--restart", "-j", "job.yaml"]),
        (["-j", "job.yaml", "-r", "--fresh"], ["-j", "job.yaml", "-r"]),
        (["-j", "job.yaml", "--var", "password=hunter2"], None),  # masked: see below
    ],
)
def test_a_failure_ends_with_the_command_that_resumes(
    tmp_path: Path, typed: list[str], resume: list[str] | None
) -> None:
    root = project(tmp_path)
    failed = driver(root, *typed)
    assert failed.returncode == 2, failed.stderr
    last = failed.stderr.splitlines()[-1]
    assert last.startswith("flowmancer: resume with: ")
    said = shlex.split(last[len("flowmancer: resume with: ") :])
    if resume is None:  # a secret's value is never shown: a resume asks for it again
        assert said == [sys.executable, "main.py", "-r", *typed[:-1], "password=***"]
        assert "hunter2" not in failed.stderr + failed.stdout
        return
    assert said == [sys.executable, "main.py", *resume]
    # As it says: run it (the failure mended), and only what did not complete runs again.
    (root / "broken").unlink()
    resumed = run(root, *said)
    assert resumed.returncode == 0, resumed.stderr
    assert "2 completed kept; running 1 failed (b)" in resumed.stderr
    assert "resume with" not in resumed.stderr  # it succeeded: nothing to resume


def test_flowmancer_run_says_how_to_resume_in_its_own_form(tmp_path: Path) -> None:
    root = project(tmp_path)
    failed = command(root, "run", "job.yaml", "--max-concurrency", "1")
    assert failed.returncode == 2
    assert failed.stderr.splitlines()[-1] == (
        "flowmancer: resume with: flowmancer run job.yaml -r --max-concurrency 1"
    )
    (root / "broken").unlink()
    resumed = run(root, *shlex.split(failed.stderr.splitlines()[-1].split(": ", 2)[2]))
    assert resumed.returncode == 0 and "running 1 failed (b)" in resumed.stderr


@pytest.mark.parametrize("entry", ["driver", "command"])
def test_fresh_without_r_is_a_usage_error_that_clears_nothing(tmp_path: Path, entry: str) -> None:
    root = project(tmp_path)
    assert driver(root, "-j", "job.yaml").returncode == 2
    checkpoint = (root / ".flowmancer" / "demo.json").read_bytes()
    if entry == "driver":
        done = driver(root, "-j", "job.yaml", "--fresh")
    else:
        done = command(root, "run", "job.yaml", "--fresh")
    assert done.returncode == 2
    assert done.stderr.splitlines()[-1].endswith(
        "error: --fresh only has meaning with -r: give -r --fresh to start over"
    )
    assert done.stdout == ""
    assert (root / ".flowmancer" / "demo.json").read_bytes() == checkpoint


def wait_until(condition: object, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.05)


def started(root: Path) -> bool:
    """The three slow tasks are running (and the bad one has failed)."""
    return all((root / f"started-{n}").exists() for n in SLOW_NAMES)


def test_ctrl_c_says_once_what_was_aborted_and_how_to_resume(tmp_path: Path) -> None:
    root = project(tmp_path, SLOW_JOB)
    running = subprocess.Popen(
        [sys.executable, "main.py", "-j", "job.yaml"],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environment(),
    )
    try:
        wait_until(lambda: started(root))
        running.send_signal(signal.SIGINT)
        out, err = running.communicate(timeout=120)
    finally:
        if running.poll() is None:
            running.kill()
            running.wait()
    assert running.returncode == 8, err  # 6 aborted, 1 failed, 1 defaulted
    assert "Traceback" not in err
    assert out.count("\n") == 1
    assert re.fullmatch(rf"flowmancer: job '\w+' failed in [\d.]+s: {SLOW_COUNTS}\n", out), out
    lines = err.splitlines()
    aborted = [line for line in lines if "ABORTED" in line or line.startswith("  aborted")]
    assert aborted == [
        f"  aborted: 6 tasks: {', '.join(SLOW_NAMES)}, after0, after1, after2",
    ], aborted  # one line: none for each task, none from the progress lines
    assert lines[-1] == "flowmancer: resume with: " + shlex.join(
        [sys.executable, "main.py", "-r", "-j", "job.yaml"]
    )
    # The progress lines count as the summary does.
    assert re.search(rf"\] a_job_\w+: {SLOW_COUNTS} in \d+:\d\d$", "\n".join(lines), re.M)


# -- item 7: counts and plurals -----------------------------------------------------------------


def test_the_progress_lines_count_each_state_apart_as_the_summary_does(tmp_path: Path) -> None:
    job = JOB + "  e: {task: Ok}\n  f: {task: Ok, dependencies: [e]}\n"
    root = project(tmp_path, job)
    done = driver(root, "-j", "job.yaml", "--skip", "e")
    assert done.returncode == 2
    counts = "3 completed, 1 failed, 1 defaulted, 1 skipped"
    said = SUMMARY.match(done.stdout.strip())
    assert said and said.group(1) == counts
    progress = [line for line in done.stderr.splitlines() if line.startswith("[")]
    assert progress[0].endswith("] demo: 6 tasks")
    assert re.search(rf"\] demo: {counts} in \d:\d\d$", progress[-1]), progress[-1]


def test_one_task_is_one_task(tmp_path: Path) -> None:
    root = project(tmp_path, "config: {name: demo}\ntasks:\n  b: {task: Bad}\n")
    done = driver(root, "-j", "job.yaml")
    assert done.returncode == 1
    assert any(line.endswith("] demo: 1 task") for line in done.stderr.splitlines())
    assert SUMMARY.match(done.stdout.strip()).group(1) == "1 failed"  # type: ignore[union-attr]
    checked = command(root, "validate", "job.yaml")
    assert checked.stdout == "ok: 1 task\n"
    for said in (done.stdout, done.stderr, checked.stdout):
        assert "task(s)" not in said and "1 tasks" not in said


# -- item 9: the progress line on an 80-column terminal, Ctrl-C, head -1 --------------------------


@pytest.mark.parametrize("width_from", ["terminal", "COLUMNS"])
def test_at_80_columns_the_progress_line_fits_and_ctrl_c_leaves_no_stale_frame(
    tmp_path: Path, width_from: str
) -> None:
    root = project(tmp_path, SLOW_JOB)
    env = environment(TERM="xterm-256color")
    env.pop("NO_COLOR", None)
    columns = 80
    if width_from == "COLUMNS":  # a wider terminal, but COLUMNS says 80: COLUMNS wins
        env["COLUMNS"] = "80"
        columns = 132
    status, data = run_on_terminal(
        [sys.executable, "main.py", "-j", "job.yaml"],
        root,
        columns,
        env,
        ctrl_c_when=lambda: started(root),
    )
    assert status == 8
    assert b"^C" in data  # the terminal echoed the Ctrl-C typed into it
    screen = Screen(data, 80)
    assert screen.wrapped_while_live == []  # no frame was ever wider than the terminal
    shown = screen.text()
    assert "Traceback" not in "\n".join(shown)
    frames = [line for line in shown if line.startswith("a_job_with_a_")]
    # One frame left on screen, the last, before the summary: with the summary's counts.
    assert len(frames) == 1, shown
    assert frames[0].startswith("a_job_with_a_r…") and "^C" not in frames[0]
    assert f" 9/9 {SLOW_COUNTS} · " in frames[0]
    at = shown.index(frames[0])
    assert shown[at + 1].startswith("flowmancer: job 'a_job_with_a_rather_long_name_for_an_")
    summary = "".join(shown[at + 1 :])  # the summary line, wrapped at 80 columns
    assert "failed in" in summary and SLOW_COUNTS in summary
    assert b"\x1b[?25h" in data[data.rindex(b"\x1b[?25l") :]  # the cursor shown again


def test_output_cut_short_by_head_leaves_no_traceback(tmp_path: Path) -> None:
    # Far more than a pipe holds, so the driver is still writing when `head` has gone.
    job = "config: {name: demo}\ntasks:\n" + "".join(f"  t{i}: {{task: Ok}}\n" for i in range(5000))
    root = project(tmp_path, job, broken=False)
    for line in (
        f"{shlex.quote(sys.executable)} main.py -j job.yaml --dry-run",
        f"{shlex.quote(sys.executable)} main.py --help",
        f"{shlex.quote(str(FLOWMANCER))} --help",
        f"{shlex.quote(str(FLOWMANCER))} validate job.yaml",
    ):
        cut = subprocess.run(
            f"{line} | head -1; exit ${{PIPESTATUS[0]}}",
            shell=True,
            executable="/bin/bash",
            cwd=root,
            capture_output=True,
            text=True,
            timeout=180,
            env=environment(),
        )
        assert cut.stderr == "", f"{line}: {cut.stderr}"
        assert len(cut.stdout.splitlines()) == 1
        assert cut.returncode == 0, line


def test_output_to_a_pipe_already_closed_leaves_no_traceback(tmp_path: Path) -> None:
    # `| head -1` may leave before or after short output is written; a pipe whose reading end is
    # closed before the command starts makes every write to stdout fail, every time.
    job = "config: {name: demo}\ntasks:\n" + "".join(f"  t{i}: {{task: Ok}}\n" for i in range(50))
    root = project(tmp_path, job, broken=False)
    for command in (
        [sys.executable, "main.py", "--help"],
        [sys.executable, "main.py", "--version"],
        [sys.executable, "main.py", "-j", "job.yaml", "--dry-run"],
        [str(FLOWMANCER), "--help"],
        [str(FLOWMANCER), "--version"],
        [str(FLOWMANCER), "validate", "job.yaml"],
        [str(FLOWMANCER), "tasks", "job.yaml"],
    ):
        read_end, write_end = os.pipe()
        os.close(read_end)
        try:
            done = subprocess.run(
                command,
                cwd=root,
                stdout=write_end,
                stderr=subprocess.PIPE,
                text=True,
                timeout=180,
                env=environment(),
            )
        finally:
            os.close(write_end)
        assert "Traceback" not in done.stderr, f"{command}: {done.stderr}"
        assert "Exception ignored" not in done.stderr, f"{command}: {done.stderr}"
        assert done.returncode == 0, f"{command}: {done.returncode} {done.stderr}"


# -- the other resume hints say the command as typed, as the driver's line does -----------------


def report_data(html: Path) -> dict[str, Any]:
    """The data a report page is drawn from (its ``run-data`` JSON)."""
    text = html.read_text(encoding="utf-8")
    said = re.search(r'<script type="application/json" id="run-data">(.*?)</script>', text, re.S)
    assert said, "no run-data in the page"
    data: dict[str, Any] = json.loads(said.group(1))
    return data


RESUME = "flowmancer: resume with: "


@pytest.mark.parametrize("entry", ["driver", "command"])
def test_the_report_says_the_resume_command_the_driver_said(tmp_path: Path, entry: str) -> None:
    root = project(tmp_path)
    flags = ["--max-concurrency", "1", "--var", "password=hunter2"]
    if entry == "driver":
        failed = driver(root, "-j", "job.yaml", *flags)
    else:
        failed = command(root, "run", "job.yaml", *flags)
    assert failed.returncode == 2, failed.stderr
    said = failed.stderr.splitlines()[-1]
    assert said.startswith(RESUME) and "hunter2" not in said
    written = command(root, "report", "job.yaml", "-o", "report.html")
    assert written.returncode == 0, written.stderr
    assert report_data(root / "report.html")["run"]["resume"] == said[len(RESUME) :]
    masked = [*flags[:3], "password=***"]

    # A record that does not keep the command as typed: -r still where the driver puts it.
    (record,) = (root / "logs" / "demo").glob("*/run.jsonl")
    head, rest = record.read_text().split("\n", 1)
    start = json.loads(head)
    del start["typed"]
    record.write_text(json.dumps(start) + "\n" + rest)
    assert command(root, "report", "job.yaml", "-o", "old.html").returncode == 0
    resume = shlex.split(report_data(root / "old.html")["run"]["resume"])
    if entry == "driver":
        assert resume == [sys.executable, "main.py", "-r", "-j", "job.yaml", *masked]
    else:
        assert resume[-7:] == ["run", "job.yaml", "-r", *masked]


def test_r_finding_several_unfinished_runs_lists_the_commands_as_typed(tmp_path: Path) -> None:
    root = project(tmp_path)
    (root / "other.yaml").write_text(JOB.replace("name: demo", "name: other"))
    assert driver(root, "-j", "job.yaml").returncode == 2
    assert driver(root, "-j", "other.yaml").returncode == 2
    asked = driver(root, "-r", "--max-concurrency", "1")
    assert asked.returncode == 2 and asked.stdout == ""
    lines = asked.stderr.splitlines()
    assert lines[-3] == (
        "flowmancer: error: -r: 2 jobs have an unfinished run here; say which one to resume:"
    )
    program = shlex.quote(sys.executable)
    assert lines[-2:] == [
        f"  {program} main.py -r --max-concurrency 1 -j job.yaml    (job 'demo')",
        f"  {program} main.py -r --max-concurrency 1 -j other.yaml    (job 'other')",
    ]
    # As it says: run one (the failure mended), and it resumes that job.
    (root / "broken").unlink()
    resumed = run(root, *shlex.split(lines[-1].strip().rsplit("    (", 1)[0]))
    assert resumed.returncode == 0, resumed.stderr
    assert "2 completed kept; running 1 failed (b)" in resumed.stderr


# -- runs and report: a run or a job file named wrongly -----------------------------------------


def test_report_of_a_run_that_is_not_there_is_a_usage_error(tmp_path: Path) -> None:
    root = project(tmp_path)
    logs = root / "logs"
    nothing_yet = command(root, "report", "job.yaml", "--run", "nope")
    assert nothing_yet.returncode == 2 and nothing_yet.stdout == ""
    assert nothing_yet.stderr == (
        f"flowmancer report: error: --run nope: no such run of job 'demo' under {logs} "
        "(flowmancer runs lists them)\n"
    )
    assert driver(root, "-j", "job.yaml").returncode == 2
    assert driver(root, "-j", "job.yaml").returncode == 2
    wrong = [("nope", "no such run of job 'demo'"), ("2", "more than one run starts so")]
    for wanted, why in wrong:  # run ids are times: both of today's start with "2"
        unknown = command(root, "report", "job.yaml", "--run", wanted)
        assert unknown.returncode == 2 and unknown.stdout == ""
        (line,) = unknown.stderr.splitlines()
        assert line.startswith(f"flowmancer report: error: --run {wanted}: {why}"), line
    assert command(root, "report", "--run", "nope").returncode == 2  # every job under ./logs
    # Nothing to report is not a usage error; runs names no run (it has no --run).
    assert command(tmp_path, "report").returncode == 1
    assert command(root, "runs", "--run", "nope").returncode == 2


@pytest.mark.parametrize(
    "argv",
    [
        ["report", "--run", "nope", "job.yaml"],
        ["report", "-o", "out.html", "job.yaml"],
        ["runs", "--limit", "3", "job.yaml"],
        ["runs", "--logs", "logs", "job.yaml"],
        ["validate", "--var", "a=b", "job.yaml"],
        ["graph", "--format", "dot", "job.yaml"],
    ],
)
def test_a_bad_job_file_after_a_flag_value_is_99_and_a_missing_one_2(
    tmp_path: Path, argv: list[str]
) -> None:
    root = project(tmp_path)
    (root / "job.yaml").write_text("tasks: [\n")
    bad = command(root, *argv)
    assert bad.returncode == 99, bad.stderr
    assert bad.stderr.startswith(f"flowmancer: error: {root / 'job.yaml'}:2:1: YAML syntax error")
    missing = command(root, *argv[:-1], "nothing.yaml")
    assert missing.returncode == 2, missing.stderr
    assert missing.stderr == f"flowmancer: error: {root / 'nothing.yaml'}: no such file\n"
