"""0.12's import paths and this version's work side by side, in either order.

Some names are both a 0.12 submodule and a public attribute (``flowmancer.task`` is the module
of ``from flowmancer.task import Task, task`` and the decorator of ``from flowmancer import
task``). Importing the submodule must not take the attribute away from code that uses it.
"""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import flowmancer


def _both_submodule_and_attribute() -> list[tuple[str, str]]:
    """(package, name) for every public name of a flowmancer package that is also one of its
    submodules."""
    found = []
    for info in pkgutil.walk_packages(flowmancer.__path__, "flowmancer."):
        if not info.ispkg or "._" in info.name:
            continue
        package = importlib.import_module(info.name)
        public = getattr(package, "__all__", ())
        found += [(info.name, n) for n in public if f"{info.name}.{n}" in _modules()]
    found += [("flowmancer", n) for n in flowmancer.__all__ if f"flowmancer.{n}" in _modules()]
    return sorted(found)


def _modules() -> set[str]:
    return {i.name for i in pkgutil.walk_packages(flowmancer.__path__, "flowmancer.")}


BOTH = _both_submodule_and_attribute()


def test_the_names_that_are_both_are_those_of_0_12() -> None:
    assert BOTH == [
        ("flowmancer", "task"),
        ("flowmancer.checkpointer", "checkpointer"),
        ("flowmancer.extensions", "extension"),
        ("flowmancer.loggers", "logger"),
    ]


# For each such name: the base class it decorates, and how to make a subclass to decorate.
SUBCLASS = {
    "task": ("flowmancer_exec", "Task", "def run(self): pass"),
    "checkpointer": (
        "flowmancer.checkpointer",
        "Checkpointer",
        "async def write_checkpoint(self, name, content): pass\n"
        "    async def read_checkpoint(self, name): pass\n"
        "    async def clear_checkpoint(self, name): pass",
    ),
    "extension": ("flowmancer.extensions", "Extension", "async def update(self, e): pass"),
    "logger": ("flowmancer.loggers", "Logger", "async def update(self, m): pass"),
}


@pytest.mark.parametrize("submodule_first", [True, False], ids=["submodule-first", "attr-first"])
@pytest.mark.parametrize(("package", "name"), BOTH)
def test_the_attribute_decorates_whichever_import_came_first(
    package: str, name: str, submodule_first: bool
) -> None:
    base_module, base, body = SUBCLASS[name]
    submodule = f"import {package}.{name}\nfrom {package}.{name} import *\n"
    attribute = f"from {package} import {name} as decorate\n"
    code = (submodule + attribute) if submodule_first else (attribute + submodule)
    code += f"from {base_module} import {base}\n\n@decorate\nclass Mine({base}):\n"
    code += f"    {body}\n\nprint(Mine.__name__)\n"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "Mine"


OLD_STYLE = """
from flowmancer.task import Task, task


@task
class Old(Task):
    def run(self):
        print("old style ran")
"""

NEW_STYLE = """
from flowmancer import Task, task


@task
class New(Task):
    def run(self):
        print("new style ran")
"""

MODULE_STYLE = """
import flowmancer.task


@flowmancer.task.task
class Dotted(flowmancer.task.Task):
    def run(self):
        print("dotted style ran")
"""


@pytest.mark.parametrize(
    "order", [("a", "b", "c"), ("c", "b", "a")], ids=["old-first", "new-first"]
)
def test_one_project_imports_tasks_in_both_styles_in_either_order(
    tmp_path: Path, order: tuple[str, str, str]
) -> None:
    tasks = tmp_path / "tasks"
    tasks.mkdir()
    # Discovery imports modules in name order.
    for prefix, text in zip(order, (OLD_STYLE, NEW_STYLE, MODULE_STYLE), strict=True):
        (tasks / f"{prefix}_tasks.py").write_text(text)
    (tmp_path / "job.yaml").write_text(
        "tasks:\n  old: {task: Old}\n  new: {task: New}\n  dotted: {task: Dotted}\n"
        "extensions: {}\nloggers:\n  c: {logger: ConsoleLogger}\n"
    )
    (tmp_path / "main.py").write_text(
        "import sys\nfrom flowmancer import Flowmancer\nsys.exit(Flowmancer().start())\n"
    )
    done = subprocess.run(
        [sys.executable, "main.py"], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    for style in ("old", "new", "dotted"):
        assert f"{style} style ran" in done.stderr
