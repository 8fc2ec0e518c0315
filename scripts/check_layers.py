"""Check the import layering of the five packages: no circle between modules, and packages that
depend one way only.

Reads every module's imports with ``ast`` (nothing is imported or run), those inside functions
too: an import moved into a function to dodge a circular import at load time is still a circle
a reader has to hold in their head; so is one under ``if TYPE_CHECKING:`` (a module that needs
another's type to be read depends on it, even if Python never loads it). A package's
``__init__`` counts as a module like the others, so a module that imports its own package's
public names (``from flowmancer_exec import Task`` inside flowmancer_exec) is a
circle through ``__init__``.

    python scripts/check_layers.py        # exit 1, naming each circle and each wrong-way import
    python scripts/check_layers.py ROOT   # the same for the packages/*/src under ROOT
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Which of our packages each may import (the direction DESIGN.md gives: flowmancer -> exec,
# log, checkpoint -> dag; exec declares Protocols for what log and checkpoint provide).
ALLOWED = {
    "flowmancer_dag": set(),
    "flowmancer_exec": {"flowmancer_dag"},
    "flowmancer_log": {"flowmancer_dag"},
    "flowmancer_checkpoint": {"flowmancer_dag"},
    "flowmancer": {"flowmancer_dag", "flowmancer_exec", "flowmancer_log", "flowmancer_checkpoint"},
}


def modules(root: Path = ROOT) -> dict[str, Path]:
    """Every module of the five packages, by dotted name."""
    found: dict[str, Path] = {}
    for source in sorted(root.glob("packages/*/src")):
        for path in sorted(source.rglob("*.py")):
            parts = list(path.relative_to(source).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _imports(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement of a module, wherever it is."""
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        stack.extend(ast.iter_child_nodes(node))


def imported_by(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The modules of ours that module ``name`` imports."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets: set[str] = set()
    for node in _imports(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            candidates = [alias.name for alias in node.names]
        else:
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                stem = ".".join([*base, node.module] if node.module else base)
            else:
                stem = node.module or ""
            # `from . import x` names a submodule, or else a name the package itself defines.
            candidates = [
                f"{stem}.{alias.name}" if f"{stem}.{alias.name}" in known else stem
                for alias in node.names
            ]
        for candidate in candidates:
            # `import a.b.c` loads a, a.b and a.b.c: the deepest one of ours is what is meant.
            while candidate and candidate not in known:
                candidate = candidate.rpartition(".")[0]
            if candidate and candidate != name:
                targets.add(candidate)
    return targets


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One circle per group of modules that import each other (as ``a -> b -> a``), found by
    flowmancer-dag itself: the graph package has no dependencies, so its source is read from
    the checkout whatever Python runs this script."""
    sys.path.insert(0, str(ROOT / "packages" / "flowmancer-dag" / "src"))
    from flowmancer_dag import CycleError, Graph, GraphError

    try:
        Graph({name: sorted(targets) for name, targets in graph.items()}).validate()
    except GraphError as error:
        found = error.problems if type(error) is GraphError else (error,)
        return [[str(n) for n in p.cycle] for p in found if isinstance(p, CycleError)]
    return []


def problems(root: Path = ROOT) -> list[str]:
    """Each circle and each import against the packages' direction, as a line to print."""
    known = modules(root)
    graph = {name: imported_by(name, path, known) for name, path in known.items()}
    said: list[str] = []
    for name, targets in sorted(graph.items()):
        top = name.partition(".")[0]
        for target in sorted(targets):
            other = target.partition(".")[0]
            if other != top and other not in ALLOWED.get(top, ()):
                where = known[name].relative_to(root)
                said.append(f"{where}: {top} must not import {other} (imports {target})")
    for group in circles(graph):
        said.append("import circle: " + " -> ".join(group))
    return said


def main(argv: list[str]) -> int:
    if len(argv) > 1 or (argv and argv[0].startswith("-")):
        print("usage: python scripts/check_layers.py [ROOT]", file=sys.stderr)
        return 2
    root = Path(argv[0]).resolve() if argv else ROOT
    if not any(root.glob("packages/*/src")):
        print(f"check_layers: no packages/*/src under {root}", file=sys.stderr)
        return 2
    found = problems(root)
    for line in found:
        print(line, file=sys.stderr)
    if found:
        return 1
    print(f"layers ok: {len(modules(root))} modules, no circle, packages depend one way")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
