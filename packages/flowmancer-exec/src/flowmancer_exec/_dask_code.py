"""The project's task code, collected on the driver to be shipped to Dask workers.

The driver sends the source of every module of the project it has loaded (and the other
modules of those packages, for imports made inside ``run()``) as a ``CodeBundle`` named after the
project and the hash of its content; each attempt names the version it needs. How the workers
hold it and how an attempt's process imports it: ``_dask_install``.

Nothing here imports dask.
"""

from __future__ import annotations

import ast
import contextlib
import dataclasses
import hashlib
import os
import site
import sys
import sysconfig
from collections.abc import Iterable, Mapping, Sequence
from types import ModuleType
from typing import Any

__all__ = ["CodeBundle", "ShippedModule", "collect_code", "modules_of"]

# Our own packages are installed on the workers: never shipped, even from a checkout.
_OURS = ("flowmancer_dag", "flowmancer_exec", "flowmancer_log", "flowmancer_checkpoint")
# ... but folders imported by the driver under flowmancer's private names are the user's.
_FOLDER_PREFIX = "flowmancer._folders."
# A project folder with more than this in .py files is probably not only task code.
MAX_BYTES = 64 * 1024 * 1024


@dataclasses.dataclass(frozen=True)
class ShippedModule:
    """One module of the project: its name, file and source (None: a package without one)."""

    name: str
    file: str | None
    source: bytes | None
    package: bool
    search: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class CodeBundle:
    """A project's modules at one version; ``key`` names it on the cluster."""

    project: str
    digest: str
    modules: tuple[ShippedModule, ...]
    #: Installed top-level modules the project's modules use: imported once by the worker
    #: process, so that each forked attempt does not import them again.
    preload: tuple[str, ...]
    #: Where the project is on the driver's machine: the child's last resort for a module the
    #: driver never loaded (found there only when the folder is on the worker's machine too).
    paths: tuple[str, ...]

    @property
    def key(self) -> str:
        return f"flowmancer-code-{self.project}-{self.digest[:16]}"

    @property
    def size(self) -> int:
        return sum(len(m.source or b"") for m in self.modules)


def collect_code(paths: Sequence[str], modules: Mapping[str, Any] | None = None) -> CodeBundle:
    """The project's modules as this process loaded them: every module in ``sys.modules``
    whose file lies under one of ``paths`` (the driver's folder first), plus the modules of
    those packages not loaded yet."""
    roots = [os.path.realpath(p) for p in paths]
    excluded = _installed_places(roots)
    loaded = dict(sys.modules if modules is None else modules)
    found: dict[str, ShippedModule] = {}
    preload: set[str] = set()
    # A cheap first look, before the real paths: most modules are installed ones, elsewhere.
    near = tuple({*roots, *(os.path.abspath(p) for p in paths)})
    for name, module in loaded.items():
        if module is None or name in ("__main__", "__mp_main__") or not _may_ship(name):
            continue
        if not _maybe_under(module, near):
            continue
        shipped = _shippable(name, module, roots, excluded)
        if shipped is None:
            continue
        found[name] = shipped
        preload.update(_installed_uses(module, roots, excluded))
    for shipped in list(found.values()):
        if shipped.package:
            _siblings(shipped, found, excluded)
    digest = hashlib.sha256()
    ordered = tuple(found[name] for name in sorted(found))
    for shipped in ordered:
        for part in (shipped.name, shipped.file or "", str(shipped.package)):
            digest.update(part.encode("utf-8", "surrogateescape") + b"\0")
        digest.update(shipped.source or b"\0\0")
    project = hashlib.sha256(
        (roots[0] if roots else "").encode("utf-8", "surrogateescape")
    ).hexdigest()[:12]
    names = set(found)
    preload = {n for n in preload if n not in names and n.isidentifier()}
    return CodeBundle(project, digest.hexdigest(), ordered, tuple(sorted(preload)), tuple(roots))


def _maybe_under(module: Any, near: tuple[str, ...]) -> bool:
    """Whether the module's file or folders lie under a project folder as given or as its
    real path (the precise test, on real paths, follows for these only)."""
    file = getattr(module, "__file__", None)
    places = [file] if isinstance(file, str) else []
    places.extend(p for p in getattr(module, "__path__", None) or () if isinstance(p, str))
    return any(p.startswith(near) for p in places)


def _may_ship(name: str) -> bool:
    top = name.partition(".")[0]
    if top in _OURS:
        return False
    return top != "flowmancer" or name.startswith(_FOLDER_PREFIX)


def _installed_places(roots: Sequence[str]) -> list[str]:
    """Folders of installed code (site-packages, the interpreter's prefix, a virtualenv inside
    the project) — except those holding a project folder."""
    places = {sys.prefix, sys.base_prefix, sys.exec_prefix}
    with contextlib.suppress(Exception):
        places.update(site.getsitepackages())
    with contextlib.suppress(Exception):
        places.add(site.getusersitepackages())
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        with contextlib.suppress(Exception):
            places.add(sysconfig.get_paths()[key])
    real = {os.path.realpath(p) for p in places if p}
    return [p for p in real if not any(_under(root, p) for root in roots)]


def _under(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def _ours(path: str, roots: Sequence[str], excluded: Sequence[str]) -> bool:
    return any(_under(path, r) for r in roots) and not any(_under(path, e) for e in excluded)


def _shippable(
    name: str, module: Any, roots: Sequence[str], excluded: Sequence[str]
) -> ShippedModule | None:
    file = getattr(module, "__file__", None)
    search = tuple(os.path.realpath(p) for p in (getattr(module, "__path__", None) or ()))
    package = hasattr(module, "__path__")
    if isinstance(file, str):
        real = os.path.realpath(file)
        if not real.endswith(".py") or not _ours(real, roots, excluded):
            return None
        try:
            with open(real, "rb") as f:
                source = f.read()
        except OSError:
            return None
        return ShippedModule(name, real, source, package, search)
    if package and search and all(_ours(p, roots, excluded) for p in search):
        return ShippedModule(name, None, None, True, search)  # a folder without __init__.py
    return None


def _installed_uses(module: Any, roots: Sequence[str], excluded: Sequence[str]) -> set[str]:
    """Top-level names of the installed modules ``module`` imports (``import pandas``, ``from
    flowmancer.task import Task``) or whose objects its globals hold."""
    names: set[str] = set()
    for value in list(vars(module).values()):
        origin: object = (
            value.__name__ if isinstance(value, ModuleType) else getattr(value, "__module__", None)
        )
        if isinstance(origin, str):
            names.add(origin.partition(".")[0])
    file = getattr(module, "__file__", None)
    if isinstance(file, str):
        with contextlib.suppress(OSError, SyntaxError, ValueError):
            with open(file, "rb") as f:
                tree = ast.parse(f.read())
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    names.update(alias.name.partition(".")[0] for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    names.add(node.module.partition(".")[0])
    installed = set()
    for top in names - set(sys.builtin_module_names):
        found = sys.modules.get(top)
        where = getattr(found, "__file__", None)
        if found is None or top.startswith("_frozen_importlib"):
            continue
        if isinstance(where, str) and _ours(os.path.realpath(where), roots, []):
            continue
        installed.add(top)
    return installed


def _siblings(package: ShippedModule, found: dict[str, ShippedModule], excluded: list[str]) -> None:
    """The modules of ``package``'s folders that the driver did not import (yet): a task may
    import them inside ``run()``. Subfolders are walked when they are packages."""
    total = sum(len(m.source or b"") for m in found.values())
    for folder in package.search:
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
            continue
        for entry in entries:
            stem, dot, suffix = entry.name.partition(".")
            if not stem.isidentifier() or stem == "__init__":
                continue
            name = f"{package.name}.{stem}"
            if name in found or any(_under(entry.path, e) for e in excluded):
                continue
            try:
                if dot and suffix == "py" and entry.is_file():
                    real = os.path.realpath(entry.path)
                    with open(real, "rb") as f:
                        source = f.read()
                    shipped = ShippedModule(name, real, source, False)
                elif not dot and os.path.isfile(os.path.join(entry.path, "__init__.py")):
                    real = os.path.realpath(os.path.join(entry.path, "__init__.py"))
                    with open(real, "rb") as f:
                        source = f.read()
                    shipped = ShippedModule(
                        name, real, source, True, (os.path.realpath(entry.path),)
                    )
                else:
                    continue
            except OSError:
                continue
            total += len(shipped.source or b"")
            if total > MAX_BYTES:
                return
            found[name] = shipped
            if shipped.package:
                _siblings(shipped, found, excluded)


def modules_of(bundle: CodeBundle) -> Iterable[str]:
    """The module names a bundle holds (for messages and tests)."""
    return (m.name for m in bundle.modules)
