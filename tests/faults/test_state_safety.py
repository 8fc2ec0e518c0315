"""State files stay inside their folder and private to their user: a symbolic link (or a FIFO)
planted where a state file or log file goes is refused, naming it, and the file it points to is
never touched, on a run, ``-r`` and ``-r --fresh``; the folder is 0700 and its files 0600 whatever
the umask; a state file never takes descriptors 0-2; any valid job name has a checkpoint that
resumes."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from faults_support import driver_env, new_tag, run_driver, write_project

TASKS = """\
import os
from pathlib import Path

from flowmancer import Task, task


@task
class Note(Task):
    def run(self) -> None:
        with open("ran.txt", "a") as f:
            f.write(self.metadata.name + "\\n")
        self.shared_dict[self.metadata.name] = "token-" + self.metadata.name


@task
class Fail(Task):
    def run(self) -> None:
        if Path("fail").exists():
            raise RuntimeError("failing by its flag file")
        with open("ran.txt", "a") as f:
            f.write(self.metadata.name + "\\n")


@task
class ClosesItsStderr(Task):
    # On the thread executor this closes the driver's own descriptor 2: the next file the
    # driver opens would take its number, and the progress display writes there.
    def run(self) -> None:
        print("before closing")
        os.close(2)


@task
class Echoes(Task):
    # On the thread executor, straight to the driver's descriptors, as a C extension writes.
    def run(self) -> None:
        os.write(1, b"from-the-task\\n")
        try:
            os.write(2, b"from-the-task\\n")
        except OSError:
            pass


@task
class KillsItsDriver(Task):
    def run(self) -> None:
        os.kill(os.getpid(), 9)
"""


def job(checkpointer: str = "", name: str = "safe", executor: str = "process") -> str:
    return f"""\
        config: {{name: {name!r}, executor: {executor}}}
        tasks:
          first: {{task: Note}}
          second: {{task: Fail, dependencies: [first]}}
        extensions: {{}}
        {checkpointer}
        """


SQLITE = "checkpointer: {checkpointer: SQLiteCheckpointer}"
VICTIM = "someone else's file\n"


def failed_once(project: Path, checkpointer: str = "") -> None:
    """A run whose second task failed: a checkpoint (and its journal) to resume."""
    write_project(project, TASKS, job(checkpointer))
    (project / "fail").touch()
    done = run_driver(project, "-j", "job.yaml")
    assert done.returncode == 1, done.stderr
    (project / "fail").unlink()


# (what is replaced by a link, how the checkpoint is kept, which run meets it)
LINKED = [
    ("safe.lock", "", ()),
    ("safe.lock", "", ("-r",)),
    ("safe.lock", "", ("-r", "--fresh")),
    ("safe.journal", "", ()),
    ("safe.journal", "", ("-r",)),
    ("safe.json", "", ()),
    ("safe.json", "", ("-r",)),
    ("checkpoint.db", SQLITE, ()),
    ("checkpoint.db", SQLITE, ("-r",)),
    ("checkpoint.db-wal", SQLITE, ()),
]


@pytest.mark.parametrize(("name", "checkpointer", "flags"), LINKED)
def test_a_link_in_place_of_a_state_file_is_refused_and_its_target_untouched(
    tmp_path: Path, name: str, checkpointer: str, flags: tuple[str, ...]
) -> None:
    project = tmp_path / "project"
    failed_once(project, checkpointer)
    victim = tmp_path / "victim"
    victim.write_text(VICTIM)
    victim.chmod(0o644)
    link = project / ".flowmancer" / name
    if link.exists():
        link.unlink()
    link.symlink_to(victim)
    done = run_driver(project, "-j", "job.yaml", *flags)
    assert victim.read_text() == VICTIM
    assert stat.S_IMODE(victim.stat().st_mode) == 0o644
    assert done.returncode == 99, done.stderr
    assert f"{link}: is a symbolic link" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    assert not (project / "ran.txt").read_text().count("second")  # nothing ran


def test_a_fifo_in_place_of_the_journal_is_refused_without_waiting(tmp_path: Path) -> None:
    project = tmp_path / "project"
    failed_once(project)
    journal = project / ".flowmancer" / "safe.journal"
    journal.unlink()
    os.mkfifo(journal)
    done = run_driver(project, "-j", "job.yaml", timeout=60)
    assert done.returncode == 99, done.stderr
    assert f"{journal}: is not a regular file" in done.stderr, done.stderr


def test_a_linked_checkpoint_folder_is_refused(tmp_path: Path) -> None:
    project = tmp_path / "project"
    write_project(project, TASKS, job())
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (project / ".flowmancer").symlink_to(elsewhere)
    done = run_driver(project, "-j", "job.yaml")
    assert done.returncode == 99, done.stderr
    assert "is a symbolic link, where the checkpoint folder should be" in done.stderr
    assert list(elsewhere.iterdir()) == []
    assert not (project / "ran.txt").exists()


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can give a folder to another user")
def test_a_checkpoint_folder_of_another_user_is_refused(tmp_path: Path) -> None:
    project = tmp_path / "project"
    write_project(project, TASKS, job())
    folder = project / ".flowmancer"
    folder.mkdir()
    os.chown(folder, 65534, 65534)
    done = run_driver(project, "-j", "job.yaml")
    assert done.returncode == 99, done.stderr
    assert f"{folder}: belongs to another user (uid 65534)" in done.stderr
    assert list(folder.iterdir()) == []


def test_a_linked_log_file_is_never_written_through(tmp_path: Path) -> None:
    project = tmp_path / "project"
    victim = tmp_path / "victim"
    victim.write_text(VICTIM)
    jsonl = 'loggers: {json: {logger: JSONLinesLogger, parameters: {path: "./run.jsonl"}}}'
    write_project(project, TASKS, job(jsonl))
    (project / "run.jsonl").symlink_to(victim)
    done = run_driver(project, "-j", "job.yaml")
    assert victim.read_text() == VICTIM
    assert "is a symbolic link" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("checkpointer", ["", SQLITE])
def test_state_is_private_whatever_the_umask(tmp_path: Path, checkpointer: str) -> None:
    project = tmp_path / "project"
    write_project(project, TASKS, job(checkpointer))
    (project / "fail").touch()
    done = subprocess.run(
        ["sh", "-c", f"umask 000 && exec {sys.executable} main.py -j job.yaml"],
        cwd=project,
        env=driver_env(new_tag()),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    folder = project / ".flowmancer"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    files = {p.name: stat.S_IMODE(p.stat().st_mode) for p in folder.iterdir()}
    assert files and all(mode == 0o600 for mode in files.values()), files
    # Log files follow the umask, as any program's would.
    logs = list((project / "logs").rglob("*.log"))
    assert logs and all(stat.S_IMODE(p.stat().st_mode) == 0o666 for p in logs)


def test_state_files_never_take_the_descriptors_a_thread_task_closed(tmp_path: Path) -> None:
    project = tmp_path / "project"
    write_project(
        project,
        TASKS,
        """\
        config: {name: safe, executor: thread}
        tasks:
          closer: {task: ClosesItsStderr}
          first: {task: Note, dependencies: [closer]}
          echoes: {task: Echoes, dependencies: [first]}
          killer: {task: KillsItsDriver, dependencies: [echoes]}
          second: {task: Note, dependencies: [killer]}
        loggers: {}
        """,
    )
    done = run_driver(project, "-j", "job.yaml")
    assert done.returncode == -9
    journal = (project / ".flowmancer" / "safe.journal").read_bytes()
    # What was written to fd 2 after it was closed went nowhere, never in here.
    assert all(line.startswith(b'{"') for line in journal.splitlines()), journal
    (project / "killed").touch()
    (project / "tasks" / "__init__.py").write_text(TASKS.replace("os.kill(os.getpid(), 9)", "pass"))
    resumed = run_driver(project, "-j", "job.yaml", "-r")
    assert resumed.returncode == 0, resumed.stderr
    assert "3 completed kept" in resumed.stderr, resumed.stderr


def test_a_driver_started_with_its_output_closed_writes_nothing_into_state(
    tmp_path: Path,
) -> None:
    project = tmp_path / "project"
    write_project(
        project,
        TASKS,
        """\
        config: {name: safe, executor: thread}
        tasks:
          first: {task: Note}
          echoes: {task: Echoes, dependencies: [first]}
          second: {task: Fail, dependencies: [echoes]}
        loggers: {}
        """,
    )
    (project / "fail").touch()
    done = subprocess.run(
        [
            "sh",
            "-c",
            f"{sys.executable} main.py -j job.yaml --dry-run >&- ; "
            f"exec {sys.executable} main.py -j job.yaml >&-",
        ],
        cwd=project,
        env=driver_env(new_tag()),
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    for path in (project / ".flowmancer").iterdir():
        # What a task wrote to the driver's (closed) standard output: never in here.
        assert b"from-the-task" not in path.read_bytes(), path
    lock = (project / ".flowmancer" / "safe.lock").read_bytes()
    assert lock.startswith(b'{"pid": '), lock


@pytest.mark.parametrize("length", [240, 300, 1000])
def test_any_valid_job_name_has_a_checkpoint_that_resumes(tmp_path: Path, length: int) -> None:
    project = tmp_path / "project"
    name = ("nightly-load-" * 100)[:length]
    write_project(project, TASKS, job(name=name))
    (project / "fail").touch()
    done = run_driver(project, "-j", "job.yaml")
    assert done.returncode == 1, done.stderr
    assert "could not be saved" not in done.stderr
    (project / "fail").unlink()
    resumed = run_driver(project, "-j", "job.yaml", "-r")
    assert resumed.returncode == 0, resumed.stderr
    assert "1 completed kept; running 1 failed (second)" in resumed.stderr
    assert (project / "ran.txt").read_text().split() == ["first", "second"]


def test_two_long_names_that_begin_alike_keep_two_checkpoints(tmp_path: Path) -> None:
    from flowmancer_checkpoint import FileCheckpointer

    store = FileCheckpointer(tmp_path)
    one, two = "x" * 300 + "1", "x" * 300 + "2"
    assert store.path(one) != store.path(two)
    assert all(len(store.path(n).name) < 200 for n in (one, two))
