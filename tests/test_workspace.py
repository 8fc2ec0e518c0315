"""The monorepo's promises: five distributions moving together, dependencies one way only."""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import pytest

from flowmancer_dag import Graph

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
IMPORT_NAMES = {
    "flowmancer-dag": "flowmancer_dag",
    "flowmancer-log": "flowmancer_log",
    "flowmancer-checkpoint": "flowmancer_checkpoint",
    "flowmancer-exec": "flowmancer_exec",
    "flowmancer": "flowmancer",
}
# Which siblings each distribution may depend on (DESIGN.md): dag <- checkpoint, dag <- exec,
# and the meta-package wires everything. exec must not import log or checkpoint.
ALLOWED = {
    "flowmancer-dag": set(),
    "flowmancer-log": set(),
    "flowmancer-checkpoint": {"flowmancer-dag"},
    "flowmancer-exec": {"flowmancer-dag"},
    "flowmancer": {"flowmancer-dag", "flowmancer-log", "flowmancer-checkpoint", "flowmancer-exec"},
}


def project(dist: str) -> dict[str, object]:
    with open(ROOT / "packages" / dist / "pyproject.toml", "rb") as f:
        data = tomllib.load(f)
    return dict(data["project"])


def sibling_requirements(dist: str) -> dict[str, str]:
    found = {}
    for requirement in project(dist).get("dependencies", []):  # type: ignore[attr-defined]
        name = re.split(r"[<>=!~;\[ @]", requirement, maxsplit=1)[0]
        if name in IMPORT_NAMES:
            found[name] = requirement
    return found


def imported_siblings(dist: str) -> set[str]:
    by_import = {v: k for k, v in IMPORT_NAMES.items()}
    found = set()
    for path in (ROOT / "packages" / dist / "src").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                if top in by_import and by_import[top] != dist:
                    found.add(by_import[top])
    return found


@pytest.mark.parametrize("dist", IMPORT_NAMES)
def test_each_distribution_is_a_complete_project(dist: str) -> None:
    folder = ROOT / "packages" / dist
    meta = project(dist)
    assert meta["name"] == dist
    assert meta["version"] == "0.13.0"
    assert meta["requires-python"] == ">=3.10"
    assert (folder / "README.md").is_file()
    assert (folder / "src" / IMPORT_NAMES[dist] / "__init__.py").is_file()
    assert (folder / "src" / IMPORT_NAMES[dist] / "py.typed").is_file()
    assert list((folder / "tests").glob("test_*.py"))


@pytest.mark.parametrize("dist", IMPORT_NAMES)
def test_siblings_are_required_by_name_with_a_compatible_range(dist: str) -> None:
    for name, requirement in sibling_requirements(dist).items():
        assert requirement == f"{name}>=0.13,<0.14", requirement


@pytest.mark.parametrize("dist", IMPORT_NAMES)
def test_dependencies_flow_one_way(dist: str) -> None:
    declared = set(sibling_requirements(dist))
    assert declared <= ALLOWED[dist], f"{dist} may not depend on {declared - ALLOWED[dist]}"
    imported = imported_siblings(dist)
    assert imported <= declared, f"{dist} imports undeclared {imported - declared}"


def test_the_distributions_form_a_dag() -> None:
    graph = Graph({dist: list(sibling_requirements(dist)) for dist in IMPORT_NAMES})
    graph.validate()
    assert graph.order()[-1] == "flowmancer"


def test_installed_versions_match_the_checkout() -> None:
    import importlib

    for import_name in IMPORT_NAMES.values():
        module = importlib.import_module(import_name)
        assert module.__version__ == "0.13.0"
        # Installed editable from this checkout, never from the package index.
        assert Path(module.__file__ or "").resolve().is_relative_to(ROOT / "packages")
