"""``start(raise_exception_on_failure=True)`` raises 0.12's exception for each case, with the
message the driver prints otherwise."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from driver_support import TASKS, drive

MAIN = """
import os, sys
from flowmancer import Flowmancer
from flowmancer.exceptions import CannotStartError

if __name__ == '__main__':
    if not os.environ.get("RAISE"):
        sys.exit(Flowmancer().start())
    try:
        Flowmancer().start(raise_exception_on_failure=True)
    except CannotStartError as error:
        print(type(error).__name__)
        print(getattr(error, "errors", None))
        print(error, end="")
"""

GOOD = "tasks:\n  t: {task: Step, parameters: {marker: ./runs.txt}}\n"


@pytest.mark.parametrize(
    ("name", "files", "args", "exception", "status"),
    [
        (
            "bad parameter",
            {"job.yaml": "tasks:\n  t: {task: Step, parameters: {marker: 1, fail_if: [2]}}\n"},
            ["-j", "job.yaml"],
            "TaskValidationError",
            99,
        ),
        (
            "unknown class",
            {"job.yaml": "tasks:\n  t: {task: Stpe}\n"},
            ["-j", "job.yaml"],
            "TaskValidationError",
            99,
        ),
        ("no job file", {}, [], "NoTasksLoadedError", 2),
        (
            "module fails",
            {"job.yaml": GOOD, "tasks/broken.py": "raise ValueError('no')\n"},
            ["-j", "job.yaml"],
            "ModuleLoadError",
            99,
        ),
        (
            "missing folder",
            {"job.yaml": "config: {extension_directories: [./gone]}\n" + GOOD},
            ["-j", "job.yaml"],
            "ExtensionsDirectoryNotFoundError",
            99,
        ),
        (
            "damaged checkpoint",
            {"job.yaml": GOOD, ".flowmancer/flowmancer.json": '{"damaged'},
            ["-j", "job.yaml", "-r"],
            "CheckpointInvalidError",
            99,
        ),
    ],
)
def test_each_case_raises_0_12s_exception_with_the_printed_message(
    tmp_path: Path, name: str, files: dict[str, str], args: list[str], exception: str, status: int
) -> None:
    (tmp_path / "tasks").mkdir()
    (tmp_path / "tasks" / "steps.py").write_text(TASKS)
    (tmp_path / "main.py").write_text(MAIN)
    for file, text in files.items():
        (tmp_path / file).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / file).write_text(text)

    printed = drive(tmp_path, *args)
    assert printed.returncode == status, printed.stderr
    raised = drive(tmp_path, *args, RAISE="1")
    assert raised.returncode == 0, raised.stderr
    kind, errors, message = raised.stdout.split("\n", 2)
    assert kind == exception
    assert printed.stderr.strip() == f"flowmancer: error: {message}"
    if exception == "TaskValidationError":  # 0.12's list of fields and messages
        assert errors.startswith("[{'field': 'tasks.t.")
    assert not (tmp_path / "runs.txt").exists()


def test_the_0_12_exceptions_are_importable_and_catchable_as_before() -> None:
    from flowmancer.exceptions import (
        CannotStartError,
        CheckpointInvalidError,
        ExtensionsDirectoryNotFoundError,
        ModuleLoadError,
        NotAPackageError,
        NoTasksLoadedError,
        TaskClassNotFoundError,
        TaskValidationError,
        VarFormatError,
    )

    for kind in (
        CheckpointInvalidError,
        ExtensionsDirectoryNotFoundError,
        ModuleLoadError,
        NoTasksLoadedError,
        NotAPackageError,
        TaskClassNotFoundError,
        TaskValidationError,
        VarFormatError,
    ):
        error = kind("what 0.12 code raised")
        assert isinstance(error, CannotStartError) and str(error) == "what 0.12 code raised"
    validation = TaskValidationError("Errors exist")
    validation.add_error("tasks.t.parameters.n", "not a number")
    assert validation.errors[-1] == {"field": "tasks.t.parameters.n", "msg": "not a number"}
    assert "tasks.t.parameters.n: not a number" in str(validation)
