"""``scripts/check_layers.py`` (run in CI) fails on an import circle and on an import against
the packages' direction, and passes a tree without either: each shown on a small tree of
packages made in a temporary folder, as the script reads this checkout's."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "check_layers.py"


def _tree(root: Path, files: dict[str, str]) -> Path:
    for relative, text in files.items():
        path = root / "packages" / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return root


def _check(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), str(root)], capture_output=True, text=True, timeout=120
    )


_CLEAN = {
    "flowmancer-dag/src/flowmancer_dag/__init__.py": "from ._graph import Graph\n",
    "flowmancer-dag/src/flowmancer_dag/_graph.py": "class Graph: ...\n",
    "flowmancer-exec/src/flowmancer_exec/__init__.py": "from ._a import a\n",
    "flowmancer-exec/src/flowmancer_exec/_a.py": "from ._b import b\n\ndef a(): return b\n",
    "flowmancer-exec/src/flowmancer_exec/_b.py": "from flowmancer_dag import Graph\nb = Graph\n",
}


def test_a_tree_without_circles_passes(tmp_path: Path) -> None:
    done = _check(_tree(tmp_path, _CLEAN))
    assert done.returncode == 0, done.stderr
    assert "layers ok: 5 modules" in done.stdout


def test_a_circle_between_two_modules_fails_naming_it(tmp_path: Path) -> None:
    # _b imports _a back, inside a function: still a circle a reader has to hold in their head.
    files = {
        **_CLEAN,
        "flowmancer-exec/src/flowmancer_exec/_b.py": """
            def b():
                from ._a import a
                return a
        """,
    }
    done = _check(_tree(tmp_path, files))
    assert done.returncode == 1
    assert "import circle: " in done.stderr
    assert "flowmancer_exec._a" in done.stderr and "flowmancer_exec._b" in done.stderr


def test_a_circle_through_type_checking_imports_fails(tmp_path: Path) -> None:
    files = {
        **_CLEAN,
        "flowmancer-exec/src/flowmancer_exec/_b.py": """
            from typing import TYPE_CHECKING
            if TYPE_CHECKING:
                from ._a import a
        """,
    }
    done = _check(_tree(tmp_path, files))
    assert done.returncode == 1
    assert "import circle: " in done.stderr


def test_an_import_against_the_packages_direction_fails(tmp_path: Path) -> None:
    files = {**_CLEAN, "flowmancer-dag/src/flowmancer_dag/_graph.py": "import flowmancer_exec\n"}
    done = _check(_tree(tmp_path, files))
    assert done.returncode == 1
    assert "flowmancer_dag must not import flowmancer_exec" in done.stderr


def test_a_root_without_packages_is_a_usage_error(tmp_path: Path) -> None:
    done = _check(tmp_path)
    assert done.returncode == 2
    assert "no packages/*/src" in done.stderr


def test_this_checkout_has_no_circle() -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPT)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
