"""The project's task code, shipped from the driver to Dask workers and run there as loaded.

The driver sends the source of every module of the project it has loaded (and the other
modules of those packages, for imports made inside ``run()``) in a worker plugin named after the
project; each attempt names the version (a hash of the content) it needs. On the worker each
attempt is forked from the worker process and imports that code in its own child: a child holds
exactly one project at one version, so two projects whose packages are both called ``tasks``
never meet, and an edit takes effect on the next run. The scheduler keeps the latest version of
each project (a new one replaces its plugin); a worker keeps the last few versions it was given.

Nothing here imports dask.
"""

from __future__ import annotations

import ast
import collections
import contextlib
import dataclasses
import hashlib
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import linecache
import os
import site
import sys
import sysconfig
from collections.abc import Iterable, Mapping, Sequence
from types import CodeType, ModuleType
from typing import Any

__all__ = ["CodeBundle", "code_plugin", "collect_code", "held", "install_code", "keep", "warm_up"]

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


# -- on the worker ------------------------------------------------------------------------------

# The versions this worker holds, and their compiled code, by digest, the most recently used
# last; beyond _KEEP the oldest are dropped.
_KEEP = 8
_bundles: collections.OrderedDict[str, CodeBundle] = collections.OrderedDict()
_compiled: collections.OrderedDict[str, dict[str, CodeType | None]] = collections.OrderedDict()


def keep(bundle: CodeBundle) -> None:
    """In the worker process: hold this version of a project's code (the plugin's setup)."""
    _bundles[bundle.digest] = bundle
    _bundles.move_to_end(bundle.digest)
    while len(_bundles) > _KEEP:
        dropped, _ = _bundles.popitem(last=False)
        _compiled.pop(dropped, None)


def held(digest: str) -> CodeBundle | None:
    """The version ``digest`` of a project's code, if this worker holds it."""
    bundle = _bundles.get(digest)
    if bundle is not None:
        _bundles.move_to_end(digest)
    return bundle


def code_plugin(bundle: CodeBundle) -> Any:
    """A Dask worker plugin carrying ``bundle``: the scheduler keeps one per project (a new
    version replaces the one before) and hands it to every worker, also those that join later.

    Defined here, not at module level: importing this module must not import dask. (The class
    travels to the workers by value, as cloudpickle sends classes defined in functions.)
    """
    from distributed.diagnostics.plugin import WorkerPlugin

    class FlowmancerCode(WorkerPlugin):  # type: ignore[misc]
        def __init__(self, bundle: CodeBundle) -> None:
            self.bundle = bundle

        def setup(self, worker: Any) -> None:
            from flowmancer_exec._dask_code import keep

            keep(self.bundle)

    return FlowmancerCode(bundle)


def warm_up(bundle: CodeBundle) -> dict[str, CodeType | None]:
    """In the worker process, once per version: compile the bundle's modules and import the
    installed modules they use (children inherit both). Never imports the project's code."""
    code = _compiled.get(bundle.digest)
    if code is not None:
        _compiled.move_to_end(bundle.digest)
        return code
    code = {}
    for shipped in bundle.modules:
        if shipped.source is None:
            code[shipped.name] = None
            continue
        try:
            code[shipped.name] = compile(
                shipped.source, shipped.file or shipped.name, "exec", dont_inherit=True
            )
        except SyntaxError:
            code[shipped.name] = None  # imported in the child, which reports it as the driver did
    for name in bundle.preload:
        if name not in sys.modules:
            with contextlib.suppress(BaseException):
                importlib.import_module(name)
    _compiled[bundle.digest] = code
    while len(_compiled) > _KEEP:
        _compiled.popitem(last=False)
    return code


class _Finder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Serves the bundle's modules, before anything installed or on ``sys.path``."""

    def __init__(self, bundle: CodeBundle, code: Mapping[str, CodeType | None]) -> None:
        self.modules = {m.name: m for m in bundle.modules}
        self.code = code

    def find_spec(
        self, fullname: str, path: Sequence[str] | None = None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        shipped = self.modules.get(fullname)
        if shipped is None:
            return None
        spec = importlib.machinery.ModuleSpec(
            fullname, self, origin=shipped.file, is_package=shipped.package
        )
        if shipped.package:
            spec.submodule_search_locations = list(shipped.search)
        spec.has_location = shipped.file is not None
        return spec

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return None

    def exec_module(self, module: ModuleType) -> None:
        shipped = self.modules[module.__name__]
        if shipped.source is None:
            return
        if shipped.file is not None:
            module.__file__ = shipped.file
            text = shipped.source.decode("utf-8", "replace")
            # Tracebacks show the lines that ran, not the file as it is now on this machine.
            linecache.cache[shipped.file] = (
                len(text),
                None,
                text.splitlines(keepends=True),
                shipped.file,
            )
        code = self.code.get(shipped.name)
        if code is None:
            code = compile(shipped.source, shipped.file or shipped.name, "exec", dont_inherit=True)
        exec(code, module.__dict__)

    def get_source(self, fullname: str) -> str | None:
        shipped = self.modules.get(fullname)
        if shipped is None or shipped.source is None:
            return None
        return shipped.source.decode("utf-8", "replace")


def install_code(bundle: CodeBundle, code: Mapping[str, CodeType | None]) -> None:
    """In an attempt's child: the bundle's modules become the ones imported under their names,
    whatever the worker process had loaded under those names before."""
    roots = [m.name for m in bundle.modules if m.name.rpartition(".")[0] not in _names(bundle)]
    exact, under = set(roots), tuple(r + "." for r in roots)
    for name in [n for n in sys.modules if n in exact or n.startswith(under)]:
        del sys.modules[name]
    sys.meta_path.insert(0, _Finder(bundle, code))
    for root in roots:
        _ensure_parents(root)
    for path in bundle.paths:
        if path not in sys.path:
            sys.path.append(path)


def _names(bundle: CodeBundle) -> set[str]:
    return {m.name for m in bundle.modules}


def _ensure_parents(name: str) -> None:
    """A bundle package under a parent that this worker cannot import (flowmancer's private
    folder names, say) gets an empty parent, so that it can still be imported."""
    parent = name.rpartition(".")[0]
    if not parent or parent in sys.modules:
        return
    try:
        importlib.import_module(parent)
    except ImportError:
        _ensure_parents(parent)
        spec = importlib.machinery.ModuleSpec(parent, None, is_package=True)
        spec.submodule_search_locations = []
        sys.modules[parent] = importlib.util.module_from_spec(spec)


def modules_of(bundle: CodeBundle) -> Iterable[str]:
    """The module names a bundle holds (for messages and tests)."""
    return (m.name for m in bundle.modules)
