"""The bad-input corpus: its cases on disk, a project to run each in, and golden files.

A case named ``NAME`` in ``corpus/`` is

- its job: ``NAME.yaml`` (copied to ``job.yaml``), or a folder ``NAME/`` copied whole into the
  project (includes, a damaged checkpoint, ...), or a generator in ``GENERATED`` for files too
  big or too odd to keep in the repository;
- its command line: ``NAME.args``, one argument a line (default ``-j job.yaml``), run in the
  project's folder;
- its golden file ``NAME.expected``: ``exit: N``, then everything the driver wrote on stderr,
  with the project's folder shown as ``<project>``.

``FLOWMANCER_UPDATE_GOLDEN=1`` rewrites the golden files from what the driver says now. Read
every changed one before committing it: a golden file holding a bad message is a bug to fix in
the driver, not a result to keep.
"""

from __future__ import annotations

import dataclasses
import os
import random
import shlex
import shutil
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from faults_support import driver_env, new_tag, run_driver, write_project

from flowmancer._jobfile._read import MAX_JOB_FILE_BYTES

CORPUS = Path(__file__).parent / "corpus"
PLACEHOLDER = "<project>"
UPDATE = os.environ.get("FLOWMANCER_UPDATE_GOLDEN") == "1"

# Every task leaves a marker file when it runs: after a refused job, none may exist.
TASKS = """\
from pathlib import Path
from typing import Literal

from flowmancer import Task, task


@task
class Touch(Task):
    label: str = ""

    def run(self) -> None:
        Path(f"ran-{self.metadata.name}").write_text("ran")


@task
class Typed(Task):
    count: int
    mode: Literal["append", "replace"] = "append"
    ratio: float = 1.0

    def run(self) -> None:
        Path(f"ran-{self.metadata.name}").write_text("ran")
"""

GOOD_JOB = """\
config:
  name: corpus
tasks:
  first:
    task: Touch
  second:
    task: Typed
    dependencies: [first]
    parameters: {count: 3}
"""


def _huge(project: Path) -> None:
    # ~250 KB: 5 000 tasks in a chain, the last depending on one that is not there.
    lines = ["tasks:"]
    lines += [f"  t{i}: {{task: Touch, dependencies: [t{i + 1}]}}" for i in range(5_000)]
    (project / "job.yaml").write_text("\n".join(lines) + "\n")


def _deep(project: Path) -> None:
    # 500 mappings inside each other, in block style (the parser itself allows that deep).
    lines = ["tasks:", "  first: {task: Touch}", "aliases:"]
    lines += ["  " * (i + 1) + f"k{i}:" for i in range(500)]
    (project / "job.yaml").write_text("\n".join(lines) + " 1\n")


def _garbage(project: Path) -> None:
    (project / "job.yaml").write_bytes(random.Random(9).randbytes(4096))


def _unreadable(project: Path) -> None:
    job = project / "job.yaml"
    job.write_text(GOOD_JOB)
    job.chmod(0)


def _no_job_file(project: Path) -> None:
    # Without -j the driver runs job.yaml beside it: here there is none.
    (project / "job.yaml").unlink()


def _fifo(project: Path) -> None:
    # A FIFO nobody writes to: reading it would wait forever.
    (project / "job.yaml").unlink()
    os.mkfifo(project / "job.yaml")


def _too_big(project: Path) -> None:
    # One byte past the bound, as a comment after a good job: it is the size that is refused.
    text = GOOD_JOB + "#"
    (project / "job.yaml").write_text(text + "x" * (MAX_JOB_FILE_BYTES + 1 - len(text)))


def _alias_text_bomb(project: Path) -> None:
    # A 1 MiB text referred to 3,000 times: 3 GB once expanded, from a file of 1 MiB.
    refs = ", ".join(["*big"] * 3000)
    text = f"aliases:\n  big: &big {'x' * (1 << 20)}\n  uses: [{refs}]\n"
    (project / "job.yaml").write_text(text + "tasks:\n  first:\n    task: Touch\n")


def _linked_journal(project: Path) -> None:
    # Someone else's file, and a link to it where the checkpoint's journal goes: a run would
    # have emptied it through the link.
    (project / "victim").write_text("someone else's file\n")
    (project / ".flowmancer").mkdir(mode=0o700)
    (project / ".flowmancer" / "corpus.journal").symlink_to(project / "victim")


def _linked_lock(project: Path) -> None:
    (project / "victim").write_text("someone else's file\n")
    (project / ".flowmancer").mkdir(mode=0o700)
    (project / ".flowmancer" / "corpus.lock").symlink_to(project / "victim")


GENERATED: dict[str, Callable[[Path], None]] = {
    "cli_no_job_file": _no_job_file,
    "huge_file": _huge,
    "deeply_nested": _deep,
    "binary_garbage": _garbage,
    "unreadable_job_file": _unreadable,
    "job_file_is_a_fifo": _fifo,
    "job_file_too_big": _too_big,
    "alias_text_bomb": _alias_text_bomb,
    "checkpoint_journal_is_a_link": _linked_journal,
    "checkpoint_lock_is_a_link": _linked_lock,
}
# Cases that prove nothing as root, who reads a file whatever its mode says.
NOT_AS_ROOT = {"unreadable_job_file"}


@dataclasses.dataclass
class Outcome:
    """What one case did: its exit status and output, and whether it touched its project."""

    name: str
    status: int
    stdout: str
    stderr: str
    changed: list[str]
    job: str = ""  # the -j argument, when one was given

    def golden(self) -> str:
        """The golden-file text of this outcome."""
        return f"exit: {self.status}\n{self.stderr}"


def case_names() -> list[str]:
    """Every case of the corpus, by name (those with a golden file, and any job without one)."""
    names = {p.name.removesuffix(".expected") for p in CORPUS.glob("*.expected")}
    names |= {p.stem for p in CORPUS.glob("*.yaml")} | {p.stem for p in CORPUS.glob("*.args")}
    names |= {p.name for p in CORPUS.iterdir() if p.is_dir()}
    names |= set(GENERATED)
    return sorted(names)


def prepare(name: str, project: Path) -> list[str]:
    """A project holding case ``name``; returns its command line."""
    write_project(project, TASKS, GOOD_JOB)
    if (CORPUS / f"{name}.yaml").is_file():
        shutil.copyfile(CORPUS / f"{name}.yaml", project / "job.yaml")
    elif (CORPUS / name).is_dir():
        shutil.copytree(CORPUS / name, project, dirs_exist_ok=True)
    if name in GENERATED:
        GENERATED[name](project)
    args_file = CORPUS / f"{name}.args"
    if args_file.is_file():
        return [line for line in args_file.read_text().splitlines() if line]
    return ["-j", "job.yaml"]


def snapshot(project: Path) -> dict[str, bytes | None]:
    """Every file and folder under ``project``: its bytes (None for a folder or unreadable)."""
    found: dict[str, bytes | None] = {}
    for path in sorted(project.rglob("*")):
        key = str(path.relative_to(project))
        if (path.suffix == ".lock" and not path.is_symlink()) or "__pycache__" in path.parts:
            continue  # a run's lock file holds nothing (the kernel lock on it is what counts)
        if path.is_symlink():
            found[key] = os.readlink(path).encode()  # the link itself, not what it points to
        elif (
            not path.is_file()  # a folder, a FIFO (reading one would wait for a writer)
            or not os.access(path, os.R_OK)
            or not path.stat().st_mode & stat.S_IRUSR
        ):
            found[key] = None
        else:
            found[key] = path.read_bytes()
    return found


def without_coverage(folder: Path) -> str:
    """A PYTHONPATH under which the test environment's ``coverage_enable_subprocess.pth`` finds
    no coverage to import: ~0.15 s of CPU less per driver started, half of what a refused job
    costs. The driver's processes are not measured anyway (``driver_env`` drops COVERAGE_*)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "coverage.py").write_text("raise ImportError('not measured in these processes')\n")
    return os.pathsep.join(p for p in (str(folder), os.environ.get("PYTHONPATH", "")) if p)


def run_case(name: str, project: Path, pythonpath: str = "") -> Outcome:
    """Run the driver on case ``name`` in ``project``; say what it did."""
    args = prepare(name, project)
    before = snapshot(project)
    extra = {"PYTHONPATH": pythonpath} if pythonpath else {}
    done = run_driver(project, *args, timeout=60, **extra)
    after = snapshot(project)
    gone = b"\0absent"  # neither bytes a file holds here nor a folder's None
    changed = [k for k in before.keys() | after.keys() if before.get(k, gone) != after.get(k, gone)]
    root = str(project)
    # The commands a message shows start as this one was typed: with this interpreter.
    python = shlex.quote(sys.executable)
    return Outcome(
        name,
        done.returncode,
        done.stdout.replace(root, PLACEHOLDER).replace(python, "python"),
        done.stderr.replace(root, PLACEHOLDER).replace(python, "python"),
        sorted(set(changed)),
        args[args.index("-j") + 1] if "-j" in args[:-1] else "",
    )


def problems_with(outcome: Outcome) -> list[str]:
    """Everything wrong with an outcome (empty when the case behaved); updates the golden file
    instead of comparing with it under FLOWMANCER_UPDATE_GOLDEN=1."""
    wrong = []
    if outcome.status == 0:
        wrong.append("exit status 0: the bad input was accepted")
    if "Traceback" in outcome.stdout + outcome.stderr:
        wrong.append("a traceback in the output")
    if outcome.stdout:
        wrong.append(f"wrote on stdout: {outcome.stdout[:300]!r}")
    if outcome.changed:
        wrong.append(f"files created or changed: {outcome.changed[:10]}")
    cli = outcome.name.startswith("cli_")
    # A job file given as an absolute path is named as given; any other lies in the project.
    named = outcome.job if outcome.job.startswith("/") else f"{PLACEHOLDER}/"
    if not cli and named not in outcome.stderr:
        wrong.append("the message does not name the file")
    if cli and " -" not in outcome.stderr and "--" not in outcome.stderr:
        wrong.append("the message does not name the flag")
    golden = CORPUS / f"{outcome.name}.expected"
    if UPDATE:
        golden.write_text(outcome.golden())
    elif not golden.is_file():
        wrong.append("no golden file (FLOWMANCER_UPDATE_GOLDEN=1 writes it; then read it)")
    elif golden.read_text() != outcome.golden():
        wrong.append(
            f"output differs from {golden.name}:\n--- expected\n{golden.read_text()}"
            f"--- got\n{outcome.golden()}"
        )
    return wrong


def validate_says(name: str, project: Path, pythonpath: str) -> tuple[int, str]:
    """``flowmancer validate job.yaml`` on case ``name``: its exit status and stderr (the
    project shown as ``<project>``). Its checks are the driver's: so must its words be."""
    prepare(name, project)
    command = [
        sys.executable,
        "-c",
        "import sys; from flowmancer._cli import main; sys.exit(main(sys.argv[1:]))",
        "validate",
        "job.yaml",
    ]
    done = subprocess.run(
        command,
        cwd=project,
        env=driver_env(new_tag(), PYTHONPATH=pythonpath),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return done.returncode, done.stderr.replace(str(project), PLACEHOLDER)
