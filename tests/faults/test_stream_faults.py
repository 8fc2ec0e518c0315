"""The driver's standard streams never decide a job's fate: a pipe closed under it (``| head``)
changes neither the result, nor the exit status, nor the checkpoint; ``flowmancer`` commands
piped into ``head -1`` end quietly; ``--log-format json`` puts nothing but JSON lines on its
stream. And what a resumed partial run leaves out keeps its state for a later resume."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from faults_support import driver_env, new_tag, run_driver, write_project

TASKS = """\
from pathlib import Path

from flowmancer import Task, task


@task
class Talks(Task):
    n: int = 0

    def run(self) -> None:
        for i in range(200):
            print(f"line {i} of {self.metadata.name}")
        with open("ran.txt", "a") as f:
            f.write(self.metadata.name + "\\n")
        if Path(f"fail-{self.metadata.name}").exists():
            raise RuntimeError("failing by its flag file")

    def on_restart(self) -> None:
        Path(f"restarted-{self.metadata.name}").touch()
"""

JOB = """\
config: {name: piped}
tasks:
  a: {task: Talks}
  b: {task: Talks, dependencies: [a]}
  c: {task: Talks, dependencies: [b]}
"""


def piped(project: Path, command: str) -> subprocess.CompletedProcess[str]:
    """``command`` in a shell, its exit status the first command's (pipefail)."""
    return subprocess.run(
        ["bash", "-c", f"set -o pipefail; {command}"],
        cwd=project,
        env=driver_env(new_tag()),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("executor", ["process", "thread"])
@pytest.mark.parametrize("view", ["", "--log-format text", "--log-format json"])
def test_a_closed_pipe_changes_neither_result_nor_status_nor_checkpoint(
    tmp_path: Path, executor: str, view: str
) -> None:
    write_project(tmp_path, TASKS, JOB)
    py = sys.executable
    command = f"{py} main.py -j job.yaml --executor {executor} {view} 2>&1"
    ok = piped(tmp_path, f"{command} | head -c 20")
    assert ok.returncode == 0, ok.stderr
    assert ok.stderr == ""
    assert not list((tmp_path / ".flowmancer").glob("piped.j*"))
    assert (tmp_path / "ran.txt").read_text().split() == ["a", "b", "c"]
    (tmp_path / "ran.txt").unlink()
    (tmp_path / "fail-b").touch()
    failed = piped(tmp_path, f"{command} | head -1")
    assert failed.returncode == 2, failed.stderr  # b FAILED, c DEFAULTED
    (tmp_path / "fail-b").unlink()
    resumed = run_driver(tmp_path, "-j", "job.yaml", "-r")
    assert resumed.returncode == 0, resumed.stderr
    assert "1 completed kept; running 1 failed (b)" in resumed.stderr


# (`validate` says one line, "ok: N tasks", and `graph` says it all in one write that Python
# finishes before head is gone: those were quiet already.)
@pytest.mark.parametrize("command", ["tasks job.yaml", "plan job.yaml"])
def test_flowmancer_commands_piped_into_head_end_quietly(tmp_path: Path, command: str) -> None:
    # A job of many tasks and classes, so that every command says more than a pipe holds.
    lines = ["config: {name: many}", "tasks:"]
    lines += [f"  task_with_a_longer_name_{i}: {{task: Talks}}" for i in range(4000)]
    classes = (
        "\nfor i in range(3000):\n"
        "    task(type(f'Many{i}', (Task,), {'run': lambda self: None, '__module__': __name__}))\n"
    )
    write_project(tmp_path, TASKS + classes, "\n".join(lines) + "\n")
    cli = f"{sys.executable} -c 'import sys; from flowmancer._cli import main; sys.exit(main())'"
    done = piped(tmp_path, f"{cli} {command} | head -1")
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert done.stdout.count("\n") == 1


def test_log_format_json_puts_only_json_lines_on_stderr(tmp_path: Path) -> None:
    write_project(tmp_path, TASKS, JOB)
    (tmp_path / "fail-c").touch()
    done = run_driver(tmp_path, "-j", "job.yaml", "--log-format", "json")
    assert done.returncode == 1
    (tmp_path / "fail-c").unlink()
    resumed = run_driver(tmp_path, "-j", "job.yaml", "-r", "--log-format", "json")
    assert resumed.returncode == 0
    for text in (done.stderr, resumed.stderr):
        objects = [json.loads(line) for line in text.splitlines()]  # each line, JSON
        said = [o["event"] for o in objects if o["kind"] == "message"]
    # The summary line is the result, on stdout (as text); the rest is said on stderr.
    assert done.stdout.startswith("flowmancer: job 'piped' failed") and "piped" in resumed.stdout
    assert any(line.startswith("flowmancer: resuming job") for line in said), said


RAW = """\
import os
import subprocess
import sys

from flowmancer import Task, task


@task
class Raw(Task):
    def run(self) -> None:
        os.write(2, b"straight to descriptor 2\\nand a last line without its newline")
        subprocess.run(["sh", "-c", "echo from a child process >&2"], check=True)
        sys.__stderr__.write("through sys.__stderr__\\n")
"""


@pytest.mark.parametrize("executor", ["thread", "process"])
def test_log_format_json_turns_raw_writes_to_descriptor_2_into_json_lines(
    tmp_path: Path, executor: str
) -> None:
    # A thread task shares the driver's descriptor 2: what it (or a child it starts, or a C
    # library) writes there must not break the stream's one-JSON-object-per-line rule.
    write_project(tmp_path, RAW, "config: {name: raw}\ntasks:\n  r: {task: Raw}\n")
    done = run_driver(tmp_path, "-j", "job.yaml", "--executor", executor, "--log-format", "json")
    assert done.returncode == 0, done.stderr
    objects = [json.loads(line) for line in done.stderr.splitlines()]  # each line, JSON
    said = " ".join(o["event"] for o in objects)
    for text in (
        "straight to descriptor 2",
        "and a last line without its newline",
        "from a child process",
        "through sys.__stderr__",
    ):
        assert text in said, done.stderr
    assert done.stdout.startswith("flowmancer: job 'raw' succeeded"), done.stdout  # the result


def test_a_resumed_partial_run_keeps_the_failed_state_of_what_it_leaves_out(
    tmp_path: Path,
) -> None:
    write_project(tmp_path, TASKS, JOB)
    (tmp_path / "fail-b").touch()
    assert run_driver(tmp_path, "-j", "job.yaml").returncode == 2
    (tmp_path / "fail-b").unlink()
    # Only a: b and c are left out, and must stay FAILED and DEFAULTED for the next resume.
    partial = run_driver(tmp_path, "-j", "job.yaml", "-r", "--run-to", "a")
    assert partial.returncode == 0, partial.stderr
    later = run_driver(tmp_path, "-j", "job.yaml", "-r")
    assert later.returncode == 0, later.stderr
    assert "running 1 failed (b), 1 not run (upstream failed) (c)" in later.stderr, later.stderr
    assert (tmp_path / "restarted-b").exists()  # on_restart: b is resumed as FAILED
    assert (tmp_path / "ran.txt").read_text().split() == ["a", "b", "b", "c"]


def test_names_with_newlines_and_escape_codes_are_printed_escaped(tmp_path: Path) -> None:
    write_project(
        tmp_path,
        TASKS,
        'config: {name: "odd\\nname"}\n'
        "tasks:\n"
        '  "a\\e[31mb\\nc": {task: Talks}\n'
        '  "d\\re": {task: Talks, dependencies: ["a\\e[31mb\\nc"]}\n',
    )
    (tmp_path / "fail-a\x1b[31mb\nc").touch()
    done = run_driver(tmp_path, "-j", "job.yaml", "--log-format", "text")
    assert done.returncode == 2, done.stderr
    # The driver's own lines (task output is the task's, escape codes and all: ` | `).
    own = [line for line in done.stderr.splitlines() if " | " not in line]
    assert not [line for line in own if "\x1b" in line or "\r" in line], own
    assert "  a\\x1b[31mb\\nc: FAILED: RuntimeError: failing by its flag file" in done.stderr
    assert re.search(r"^d\\re +→ DEFAULTED", done.stderr, re.MULTILINE), done.stderr
    plan = run_driver(tmp_path, "-j", "job.yaml", "-r", "--dry-run")
    assert "  a\\x1b[31mb\\nc: run" in plan.stdout, plan.stdout
    assert "running 1 failed (a\\x1b[31mb\\nc)" in plan.stderr, plan.stderr
