"""The READMEs' "How it works" name the modules a job's data passes through: each one named must
exist, so the text cannot go on naming a module that was renamed, split or removed; and the
flowmancer-exec one names every part of the run (``_run_*``), so a new part gets its place in
the story."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXEC = ROOT / "packages" / "flowmancer-exec"
READMES = [ROOT / "README.md", EXEC / "README.md"]

_MODULE = re.compile(r"`(flowmancer(?:_dag|_exec|_log|_checkpoint)?(?:\.\w+)+)`")


def how_it_works(readme: Path) -> str:
    """The README's "## How it works" section, or its paragraph that starts "How it works"."""
    text = readme.read_text(encoding="utf-8")
    section = re.search(r"^## How it works\n(.*?)(?=^## |\Z)", text, re.MULTILINE | re.DOTALL)
    if section is not None:
        return section.group(1)
    paragraph = re.search(r"^How it works\b(.*?)(?:\n\n|\Z)", text, re.MULTILINE | re.DOTALL)
    assert paragraph is not None, f"{readme.relative_to(ROOT)} has no 'How it works'"
    return paragraph.group(0)


def module_path(name: str) -> Path | None:
    """The file of module ``name`` in this checkout, if there is one."""
    top, *rest = name.split(".")
    for source in ROOT.glob("packages/*/src"):
        base = source.joinpath(top, *rest)
        for candidate in (base.with_suffix(".py"), base / "__init__.py"):
            if candidate.is_file():
                return candidate
    return None


@pytest.mark.parametrize("readme", READMES, ids=lambda r: str(r.relative_to(ROOT)))
def test_every_module_named_in_how_it_works_exists(readme: Path) -> None:
    named = _MODULE.findall(how_it_works(readme))
    assert len(named) >= 8, f"expected the modules named in order, found {named}"
    missing = [name for name in named if module_path(name) is None]
    assert not missing, f"{readme.relative_to(ROOT)} names modules that do not exist: {missing}"


def test_the_exec_readme_names_every_part_of_the_run() -> None:
    named = set(_MODULE.findall(how_it_works(EXEC / "README.md")))
    parts = sorted(p.stem for p in (EXEC / "src" / "flowmancer_exec").glob("_run*.py"))
    assert parts, "no _run* modules found: the test would say nothing"
    unnamed = [p for p in parts if f"flowmancer_exec.{p}" not in named]
    assert not unnamed, f"flowmancer-exec's README 'How it works' does not name {unnamed}"


def test_a_module_that_does_not_exist_is_caught() -> None:
    assert module_path("flowmancer_exec._run_state") is not None
    assert module_path("flowmancer._jobfile") is not None
    assert module_path("flowmancer_exec._no_such_module") is None
