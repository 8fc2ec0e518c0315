"""What a task does to the process it runs in never changes what its attempt reports: a child it
forks inside a hook cannot report for it; processes a thread task leaves running are ended with
its attempt; limits a thread task lowers for the whole process are put back before the driver
writes again; a hook that overruns the timeout after run() completed fails the attempt without
losing run()'s work; shared_dict keys 1 and "1" stay two keys."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from faults_support import driver_env, no_leftovers, run_driver, write_project

TASKS = """\
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

from flowmancer import Task, task


def note(text):
    with open("notes.txt", "a") as f:
        f.write(text + "\\n")


@task
class ForkedChildReturns(Task):
    # The child a fork made returns from run() (it "succeeds"); the attempt's own process fails.
    def run(self) -> None:
        pid = os.fork()
        if pid == 0:
            return
        os.waitpid(pid, 0)
        raise RuntimeError("the attempt's own process fails")


@task
class ForkedChildRaises(Task):
    # The child raises; the attempt's own process succeeds.
    def run(self) -> None:
        pid = os.fork()
        if pid == 0:
            raise RuntimeError("from the forked child")
        os.waitpid(pid, 0)
        note(f"parent {os.getpid()}")


@task
class LeavesAChild(Task):
    def run(self) -> None:
        # A child holding the driver's output, and a grandchild of its own.
        child = subprocess.Popen(["sh", "-c", "sleep 60 & sleep 60"])
        Path("child.pid").write_text(str(child.pid))


@task
class LowersAddressSpace(Task):
    def run(self) -> None:
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        resource.setrlimit(resource.RLIMIT_AS, (64 * 1024 * 1024, hard))
        self.shared_dict["big"] = "x" * 100


@task
class Note(Task):
    def run(self) -> None:
        note(self.metadata.name)
        self.shared_dict[self.metadata.name] = "y" * 1_000_000


@task
class SlowOnSuccess(Task):
    def run(self) -> None:
        note("run")

    def on_success(self) -> None:
        time.sleep(2)


@task
class TwoKeys(Task):
    def run(self) -> None:
        self.shared_dict[1] = "the int"
        self.shared_dict["1"] = "the text"


@task
class ReadsKeys(Task):
    def run(self) -> None:
        note(repr(sorted(self.shared_dict.items(), key=repr)))
        if Path("fail").exists():
            raise RuntimeError("failing by its flag file")
"""


@pytest.mark.parametrize("executor", ["process", "thread"])
def test_a_child_forked_in_run_that_returns_cannot_turn_a_failure_into_success(
    tmp_path: Path, executor: str
) -> None:
    write_project(
        tmp_path,
        TASKS,
        f"""\
        config: {{name: forks, executor: {executor}}}
        tasks:
          forks: {{task: ForkedChildReturns}}
          after: {{task: Note, dependencies: [forks]}}
        extensions: {{}}
        """,
    )
    with no_leftovers() as tag:
        done = run_driver(tmp_path, "-j", "job.yaml", tag=tag)
    assert done.returncode == 2, done.stderr  # forks FAILED, after DEFAULTED
    assert "forks: FAILED: RuntimeError: the attempt's own process fails" in done.stderr
    assert not (tmp_path / "notes.txt").exists()
    resumed = run_driver(tmp_path, "-j", "job.yaml", "-r", "--dry-run")
    assert "  forks: run" in resumed.stdout, resumed.stdout


@pytest.mark.parametrize("executor", ["process", "thread"])
def test_a_child_forked_in_run_that_raises_does_not_fail_the_attempt(
    tmp_path: Path, executor: str
) -> None:
    write_project(
        tmp_path,
        TASKS,
        f"""\
        config: {{name: forks, executor: {executor}}}
        tasks:
          forks: {{task: ForkedChildRaises}}
        extensions: {{}}
        """,
    )
    with no_leftovers() as tag:
        done = run_driver(tmp_path, "-j", "job.yaml", tag=tag)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "notes.txt").read_text().count("parent") == 1


def test_a_thread_task_s_children_are_ended_with_its_attempt(tmp_path: Path) -> None:
    write_project(
        tmp_path,
        TASKS,
        """\
        config: {name: children, executor: thread}
        tasks:
          leaves: {task: LeavesAChild}
          after: {task: Note, dependencies: [leaves]}
        """,
    )
    with no_leftovers(wait=0.5) as tag:
        # `| cat`: the driver's pipes must not be held open by what the task left running.
        started = time.monotonic()
        done = subprocess.run(
            ["sh", "-c", f"{sys.executable} main.py -j job.yaml --log-format text 2>&1 | cat"],
            cwd=tmp_path,
            env=driver_env(tag),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        took = time.monotonic() - started
    assert done.returncode == 0, done.stdout
    assert took < 30, f"the pipe was held open for {took:.1f} s"
    assert "process(es) the attempt started and left running" in done.stdout, done.stdout
    assert (tmp_path / "notes.txt").read_text().split() == ["after"]


def test_a_thread_task_lowering_the_address_space_does_not_break_the_driver(
    tmp_path: Path,
) -> None:
    write_project(
        tmp_path,
        TASKS,
        """\
        config: {name: limits, executor: thread}
        tasks:
          lowers: {task: LowersAddressSpace}
          first: {task: Note, dependencies: [lowers]}
          second: {task: ReadsKeys, dependencies: [first]}
        """,
    )
    (tmp_path / "fail").touch()
    done = run_driver(tmp_path, "-j", "job.yaml", "--log-format", "text", timeout=60)
    assert done.returncode == 1, done.stderr
    assert "the task lowered RLIMIT_AS for the whole process" in done.stderr, done.stderr
    assert "could not be saved" not in done.stderr, done.stderr
    (tmp_path / "fail").unlink()
    resumed = run_driver(tmp_path, "-j", "job.yaml", "-r", timeout=60)
    assert resumed.returncode == 0, resumed.stderr
    assert "2 completed kept; running 1 failed (second)" in resumed.stderr


@pytest.mark.parametrize("executor", ["process", "thread"])
def test_on_success_overrunning_the_timeout_fails_the_attempt_and_run_is_not_repeated(
    tmp_path: Path, executor: str
) -> None:
    write_project(
        tmp_path,
        TASKS,
        f"""\
        config: {{name: overrun, executor: {executor}}}
        tasks:
          slow: {{task: SlowOnSuccess, timeout: 0.5, max_attempts: 3}}
          after: {{task: Note, dependencies: [slow]}}
        extensions: {{}}
        """,
    )
    done = run_driver(tmp_path, "-j", "job.yaml")
    assert done.returncode == 2, done.stderr
    assert "slow: FAILED: timed out after 0.5 s in a hook after run() had completed" in done.stderr
    resumed = run_driver(tmp_path, "-j", "job.yaml", "-r")
    assert resumed.returncode == 0, resumed.stderr
    assert "1 completed kept" in resumed.stderr
    # run() ran once: not retried (max_attempts 3), not run again by the resume.
    assert (tmp_path / "notes.txt").read_text().split() == ["run", "after"]


@pytest.mark.parametrize("executor", ["process", "thread"])
def test_shared_dict_keys_1_and_text_1_stay_two_keys(tmp_path: Path, executor: str) -> None:
    write_project(
        tmp_path,
        TASKS,
        f"""\
        config: {{name: keys, executor: {executor}}}
        tasks:
          writes: {{task: TwoKeys}}
          reads: {{task: ReadsKeys, dependencies: [writes]}}
        extensions: {{}}
        """,
    )
    (tmp_path / "fail").touch()
    done = run_driver(tmp_path, "-j", "job.yaml")
    assert done.returncode == 1, done.stderr
    # In the run both keys reach the task downstream, each with its own value...
    assert "('1', 'the text'), (1, 'the int')" in (tmp_path / "notes.txt").read_text()
    # ...and the checkpoint, which keeps text keys only, says which one it left out.
    assert "shared_dict['1 (int)'] is left out of the checkpoint" in done.stderr, done.stderr
    (tmp_path / "fail").unlink()
    resumed = run_driver(tmp_path, "-j", "job.yaml", "-r")
    assert resumed.returncode == 0, resumed.stderr
    assert "shared_dict lost '1 (int)' (not saved)" in resumed.stderr
    # What wrote the key left out is not restorable: it runs again, so nothing is missing.
    assert "1 not restorable (writes)" in resumed.stderr, resumed.stderr
    last = (tmp_path / "notes.txt").read_text().splitlines()[-1]
    assert last == "[('1', 'the text'), (1, 'the int')]"


def test_a_save_that_fails_without_words_is_reported_with_its_kind(
    capfd: pytest.CaptureFixture[str],
) -> None:
    from flowmancer_exec import Runner, Task, TaskSpec, ThreadExecutor

    class Quiet(Task):
        def run(self) -> None:
            pass

    class NoMemory:
        def save(self, snapshot: object) -> None:
            raise MemoryError

    Runner(
        [TaskSpec("quiet", Quiet)],
        executor=ThreadExecutor(),
        checkpoint=NoMemory(),
        handle_signals=False,
    ).run()
    said = capfd.readouterr().err
    assert "the checkpoint could not be saved: MemoryError; it keeps" in said, said
