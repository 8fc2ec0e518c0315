"""A job whose checkpoint the checkpoint fault tests damage, and how they judge the outcome.

The job `damaged` is a chain t1 -> ... -> t8 of `Mark` tasks, one at a time. Each appends its name
to `ran.txt` when it completes, so the file says exactly what ran. A flag file `fail-<task>` makes
that task fail; `kill-<task>` makes it kill its driver with SIGKILL (leaving the journal as a
crash leaves it); `big-<task>` makes it put a value of `BIG` characters into `shared_dict` (a
checkpoint too large for a small disk), after copying the checkpoint folder to `before/`.
"""

from __future__ import annotations

import concurrent.futures
import json
import shutil
import sqlite3
import subprocess
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from faults_support import assert_none_left, new_tag, run_driver, write_project

JOB = "damaged"
TASKS = [f"t{i}" for i in range(1, 9)]
BIG = 200_000

TASKS_CODE = """\
import os
import shutil
import signal
import time
from pathlib import Path

from flowmancer import Task, task


def _driver():
    # The forked attempt's parent, or its parent's when that is the fork server.
    parent = os.getppid()
    with open(f"/proc/{parent}/comm") as f:
        if f.read().strip() != "flowmancer-fork":
            return parent
    with open(f"/proc/{parent}/stat") as f:
        return int(f.read().rsplit(")", 1)[1].split()[1])


@task
class Mark(Task):
    \"\"\"Writes its name to ran.txt; its flag files make it fail, kill the driver or grow.\"\"\"

    def run(self) -> None:
        name = self.metadata.name
        if Path(f"fail-{name}").exists():
            raise RuntimeError("failing by its flag file")
        if Path(f"kill-{name}").exists():
            time.sleep(0.2)  # let the driver save what finished before (not needed: helps)
            os.kill(_driver(), signal.SIGKILL)
            os._exit(3)
        if Path(f"big-{name}").exists():
            if Path(".flowmancer").is_dir():
                shutil.copytree(".flowmancer", "before", dirs_exist_ok=True)
            self.shared_dict["blob"] = "x" * int(Path(f"big-{name}").read_text())
        self.shared_dict[name] = len(name)
        with open("ran.txt", "a") as f:
            f.write(name + "\\n")
"""


def job_yaml(checkpointer: str = "") -> str:
    """The chain of eight, with no progress display (its output is not under test here)."""
    lines = ["config:", f"  name: {JOB}", "  max_concurrency: 1", "tasks:"]
    for number, name in enumerate(TASKS):
        lines += [f"  {name}:", "    task: Mark"]
        if number:
            lines.append(f"    dependencies: [{TASKS[number - 1]}]")
    lines.append("extensions: {}")
    if checkpointer:
        lines.append(f"checkpointer: {{checkpointer: {checkpointer}}}")
    return "\n".join(lines) + "\n"


def make_project(folder: Path, kind: str = "file") -> Path:
    """The project in `folder` with a FileCheckpointer (`file`) or a SQLiteCheckpointer."""
    write_project(folder, TASKS_CODE, job_yaml("SQLiteCheckpointer" if kind == "sqlite" else ""))
    return folder


def checkpoint_dir(folder: Path) -> Path:
    return folder / ".flowmancer"


def json_path(folder: Path) -> Path:
    return checkpoint_dir(folder) / f"{JOB}.json"


def journal_path(folder: Path) -> Path:
    return checkpoint_dir(folder) / f"{JOB}.journal"


def db_path(folder: Path) -> Path:
    return checkpoint_dir(folder) / "checkpoint.db"


def ran(folder: Path) -> list[str]:
    """The tasks that completed in `folder` since ran.txt was last removed, in order."""
    path = folder / "ran.txt"
    return path.read_text().split() if path.exists() else []


def driver(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`python main.py -j job.yaml <args>` in `folder`; nothing it started may outlive it."""
    tag = new_tag()
    try:
        return run_driver(folder, "-j", "job.yaml", *args, tag=tag)
    finally:
        assert_none_left(tag)


def build_failed(folder: Path, kind: str = "file") -> None:
    """A checkpoint as a run that failed at t5 leaves it: t1-t4 completed, t5 failed, rest not
    run (for files: the whole checkpoint written at the end, the journal empty)."""
    make_project(folder, kind)
    (folder / "fail-t5").touch()
    result = driver(folder)
    assert result.returncode == 4, result.stderr  # t5 failed, t6-t8 defaulted
    (folder / "fail-t5").unlink()
    (folder / "ran.txt").unlink()


def build_killed(folder: Path) -> None:
    """A checkpoint as a driver killed (SIGKILL) while t5 runs leaves it: a whole checkpoint
    from the first save and a journal line for each save since."""
    make_project(folder)
    (folder / "kill-t5").touch()
    result = driver(folder)
    assert result.returncode == -9, result.stderr
    (folder / "kill-t5").unlink()
    (folder / "ran.txt").unlink()
    # t1-t3 finished one after another, each saved as a line: cuts must fall in several lines.
    lines = journal_path(folder).read_bytes().count(b"\n")
    assert lines >= 3, f"the killed run left a journal of {lines} lines"


def kept_files(folder: Path) -> dict[str, bytes]:
    """Every file of the checkpoint folder but the lock (it holds the last holder's pid), the
    driver's note of which job file a run came from (for -r without -j; it holds no state), and
    what SQLite's reader makes beside a WAL database: its shared-memory index and an empty log."""
    found = {}
    for path in sorted(checkpoint_dir(folder).iterdir()):
        if not path.is_file() or path.name.endswith((".lock", ".jobfile", "-shm")):
            continue
        data = path.read_bytes()
        if not (path.name.endswith("-wal") and not data):
            found[path.name] = data
    return found


def saved_completed(folder: Path) -> set[str]:
    """What the file checkpoint in `folder` says completed, read here without our package: the
    whole file, then each whole journal line of its generation (a cut last line is not a save)."""
    base = json.loads(json_path(folder).read_bytes())
    states = {name: entry["state"] for name, entry in base["tasks"].items()}
    journal = journal_path(folder).read_bytes() if journal_path(folder).exists() else b""
    early: dict[tuple[str, int], bool] = {}  # completion lines: (task, attempt) -> still valid
    for raw in journal.split(b"\n")[:-1]:
        line = json.loads(raw)
        if line.get("c") == base["run_id"]:  # recorded where the attempt ran; may be taken back
            if "revoked" in line:
                early[(line["revoked"][0], line["revoked"][1])] = False
            else:
                for name, entry in line["tasks"].items():
                    early.setdefault((name, entry["attempts"]), True)
        elif line.get("g") == base["generation"]:
            states.update({name: entry["state"] for name, entry in line["tasks"].items()})
    done = {name for name, state in states.items() if state == "COMPLETED"}
    return done | {name for (name, _), valid in early.items() if valid}


def sqlite_completed(folder: Path) -> set[str]:
    """The same for the SQLite checkpoint, read read-only with the standard library."""
    uri = f"{db_path(folder).as_uri()}?mode=ro"
    db = sqlite3.connect(uri, uri=True)
    try:
        (body,) = db.execute(
            "SELECT body FROM flowmancer_checkpoints WHERE job = ?", (JOB,)
        ).fetchone()
        lines = db.execute(
            "SELECT line FROM flowmancer_journal WHERE job = ? ORDER BY seq", (JOB,)
        ).fetchall()
    finally:
        db.close()
    base = json.loads(body)
    states = {name: entry["state"] for name, entry in base["tasks"].items()}
    for (text,) in lines:
        line = json.loads(text)
        if line["g"] == base["generation"]:
            states.update({name: entry["state"] for name, entry in line["tasks"].items()})
    return {name for name, state in states.items() if state == "COMPLETED"}


def problems_of_refusal(
    result: subprocess.CompletedProcess[str], folder: Path, names: str, says: Sequence[str]
) -> list[str]:
    """What is wrong with a run that had to refuse to start: exit 99, no traceback, one error
    line naming `names` (a path) and each of `says`, and no task run."""
    wrong = []
    output = result.stdout + result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("flowmancer: error")]
    if result.returncode != 99:
        wrong.append(f"exit {result.returncode}, not 99")
    if "Traceback" in output:
        wrong.append("a traceback")
    if len(errors) != 1:
        wrong.append(f"{len(errors)} error lines, not one")
    else:
        for word in (names, *says):
            if word not in errors[0]:
                wrong.append(f"the message does not say {word!r}")
    if ran(folder):
        wrong.append(f"tasks ran: {ran(folder)}")
    return [f"{w}\n    output: {output.strip()[:600]}" for w in wrong]


def problems_of_resume(
    result: subprocess.CompletedProcess[str], folder: Path, expected: Iterable[str]
) -> list[str]:
    """What is wrong with a resume that had to be clean: exit 0, no traceback, and exactly the
    `expected` tasks run, each once, in the chain's order."""
    wrong = []
    output = result.stdout + result.stderr
    if result.returncode != 0:
        wrong.append(f"exit {result.returncode}, not 0")
    if "Traceback" in output or "flowmancer: error" in output:
        wrong.append("an error or a traceback")
    want = [name for name in TASKS if name in set(expected)]
    if ran(folder) != want:
        wrong.append(f"ran {ran(folder)}, not {want}")
    return [f"{w}\n    output: {output.strip()[:600]}" for w in wrong]


@dataclass(frozen=True)
class Case:
    """One way to damage a checkpoint, and what a resume (`-r`) from it must do.

    `damage` changes the copy's checkpoint folder. `refuse`: the text the one error line must
    hold besides the path of `file` (relative to the project), or None when the resume must be
    clean. `clean_ok`: a clean resume is right too (for damage a reader may not notice, such as
    a database cut in pages it does not need). `why` says why this outcome is the right one.
    """

    name: str
    damage: Callable[[Path], None]
    refuse: str | None
    file: str
    why: str
    clean_ok: bool = False


def judge(
    template: Path,
    tmp: Path,
    cases: Sequence[Case],
    completed: Callable[[Path], set[str]],
    workers: int = 3,
) -> None:
    """Resume a copy of `template` damaged by each case, several at once, and fail naming every
    case that did not end as it must. `completed(folder)` says, before the resume, which tasks
    the damaged copy still records as completed: a clean resume runs exactly the others."""

    def one(number: int, case: Case) -> list[str]:
        folder = tmp / f"case{number}"
        shutil.copytree(template, folder)
        case.damage(folder)
        before = kept_files(folder)
        done = completed(folder) if case.refuse is None or case.clean_ok else set()
        result = driver(folder, "-r")
        if case.refuse is None or (case.clean_ok and result.returncode != 99):
            return problems_of_resume(result, folder, set(TASKS) - done)
        wrong = problems_of_refusal(result, folder, str(folder / case.file), [case.refuse])
        if "--fresh" not in result.stderr:
            wrong.append("the message does not say how to start over (--fresh)")
        if kept_files(folder) != before:
            wrong.append("the checkpoint folder was changed")
        return wrong

    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        outcomes = list(pool.map(one, range(len(cases)), cases))
    failures = [
        f"{case.name} ({case.why}): {problem}"
        for case, problems in zip(cases, outcomes, strict=True)
        for problem in problems
    ]
    assert not failures, f"{len(failures)} problems:\n" + "\n".join(failures)
