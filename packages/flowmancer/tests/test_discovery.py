"""Task, logger and extension folders are imported with or without ``__init__.py``, under
module names that clash with nothing, and a module that fails says where."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from driver_support import MAIN
from driver_support import drive as run_driver

STEP = """
from flowmancer import Task, task
{imports}


@task
class {name}(Task):
    def run(self):
        print("{name} ran" + {extra})
"""


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    if "main.py" not in files:
        (root / "main.py").write_text(MAIN)
    return root


def step(name: str, imports: str = "", extra: str = '""') -> str:
    return STEP.format(name=name, imports=imports, extra=extra)


def job(*names: str, extra: str = "") -> str:
    tasks = "".join(f"  {n.lower()}: {{task: {n}}}\n" for n in names)
    return f"{extra}tasks:\n{tasks}extensions: {{}}\nloggers:\n  c: {{logger: ConsoleLogger}}\n"


def drive(root: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return run_driver(root, "-j", "job.yaml", *args, **env)


def test_a_folder_without_init_is_imported_with_its_subfolders(tmp_path: Path) -> None:
    root = write(
        tmp_path,
        {
            "tasks/mytasks.py": step("Top"),
            "tasks/more/deeper.py": step("Deeper"),  # no __init__.py either
            "tasks/pkg/__init__.py": "",
            "tasks/pkg/inside.py": step("Inside"),
            "loggers/quiet.py": step("FromLoggers"),
            "job.yaml": job("Top", "Deeper", "Inside", "FromLoggers"),
        },
    )
    done = drive(root)
    assert done.returncode == 0, done.stderr
    for name in ("Top", "Deeper", "Inside", "FromLoggers"):
        assert f"{name} ran" in done.stderr
    assert "__init__" not in done.stderr


def test_folders_without_init_keep_their_own_same_named_modules(tmp_path: Path) -> None:
    # Two folders, each with its utils.py, imported relatively: each task sees its own.
    root = write(
        tmp_path,
        {
            "tasks/utils.py": "WHO = 'tasks utils'\n",
            "tasks/one.py": step("One", "from .utils import WHO", "' with ' + WHO"),
            "more/utils.py": "WHO = 'more utils'\n",
            "more/two.py": step("Two", "from . import utils", "' with ' + utils.WHO"),
            "job.yaml": job("One", "Two", extra="config: {extension_directories: [./more]}\n"),
        },
    )
    done = drive(root)
    assert done.returncode == 0, done.stderr
    assert "One ran with tasks utils" in done.stderr
    assert "Two ran with more utils" in done.stderr


def test_an_installed_package_named_like_the_folder_does_not_take_its_place(
    tmp_path: Path,
) -> None:
    installed = tmp_path / "site"
    write(installed, {"tasks/__init__.py": "", "tasks/other.py": step("Installed")})
    root = write(tmp_path / "project", {"tasks/mytasks.py": step("Mine"), "job.yaml": job("Mine")})
    done = drive(root, PYTHONPATH=str(installed))
    assert done.returncode == 0, done.stderr
    assert "Mine ran" in done.stderr


def test_a_package_folder_keeps_its_name_so_user_code_imports_the_same_class(
    tmp_path: Path,
) -> None:
    root = write(
        tmp_path,
        {
            "tasks/__init__.py": "",
            "tasks/load.py": step("Load"),
            "job.yaml": job("Load"),
            "main.py": """
                import sys
                from flowmancer import Flowmancer
                from flowmancer_exec import get_task_class
                if __name__ == '__main__':
                    code = Flowmancer().start()
                    from tasks.load import Load
                    print(get_task_class("Load") is Load, Load.__module__)
                    sys.exit(code)
            """,
        },
    )
    done = drive(root)
    assert done.returncode == 0, done.stderr
    summary, printed = done.stdout.split("\n", 1)  # the driver's summary line comes first
    assert summary.startswith("flowmancer: job ")
    assert printed.split() == ["True", "tasks.load"]


def test_a_module_that_fails_to_import_names_its_file_and_line(tmp_path: Path) -> None:
    root = write(
        tmp_path,
        {
            "tasks/good.py": step("Good"),
            "tasks/broken.py": "import os\n\nVALUE = undefined_name\n",
            "job.yaml": job("Good"),
        },
    )
    done = drive(root)
    assert done.returncode == 99
    assert (
        f"{root / 'tasks' / 'broken.py'}:3: cannot import tasks/broken.py: "
        "NameError: name 'undefined_name' is not defined" in done.stderr
    )
    assert "Traceback" not in done.stderr and "Good ran" not in done.stderr


def test_an_absolute_import_of_a_sibling_module_says_to_import_it_relatively(
    tmp_path: Path,
) -> None:
    root = write(
        tmp_path,
        {
            "tasks/helpers.py": "X = 1\n",
            "tasks/mine.py": step("Mine", "from helpers import X"),
            "job.yaml": job("Mine"),
        },
    )
    done = drive(root)
    assert done.returncode == 99
    assert "No module named 'helpers' (helpers is beside it" in done.stderr
    assert "from .helpers import ..." in done.stderr


@pytest.mark.parametrize(
    ("folder", "expected"),
    [("./absent", "no such folder"), ("./a_file.py", "not a folder")],
)
def test_an_extension_directory_that_is_not_a_folder_is_said(
    tmp_path: Path, folder: str, expected: str
) -> None:
    root = write(
        tmp_path,
        {
            "tasks/mine.py": step("Mine"),
            "a_file.py": "",
            "job.yaml": job("Mine", extra=f"config: {{extension_directories: [{folder}]}}\n"),
        },
    )
    done = drive(root)
    assert done.returncode == 99
    assert f"config.extension_directories.0: {expected}" in done.stderr


def test_dask_workers_import_task_classes_from_a_folder_without_init(tmp_path: Path) -> None:
    pytest.importorskip("distributed")
    root = write(
        tmp_path,
        {
            "tasks/utils.py": "WHO = 'a worker'\n",
            "tasks/mine.py": step("Mine", "from .utils import WHO", "' on ' + WHO"),
            "job.yaml": job("Mine", extra="config: {dask: {n_workers: 1}}\n"),
        },
    )
    done = drive(root, "--executor", "dask")
    assert done.returncode == 0, done.stderr
    assert "Mine ran on a worker" in done.stderr
