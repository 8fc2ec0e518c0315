"""The project's task code on a Dask worker: held by version, imported in each attempt's child.

A worker plugin named after the project (``code_plugin``) hands every worker the project's
``CodeBundle``; the worker keeps the last few versions. The worker's fork server compiles a
version once (``warm_up``) and imports the installed modules it uses; each attempt is forked from
there and imports the project's code in its own child (``install_code``): a child holds exactly
one project at one version, so two projects whose packages are both called ``tasks`` never meet,
and an edit takes effect on the next run. The scheduler keeps the latest version of each project
(a new one replaces its plugin).

Nothing here imports dask (``code_plugin`` imports it when called).
"""

from __future__ import annotations

import collections
import contextlib
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import linecache
import sys
from collections.abc import Mapping, Sequence
from types import CodeType, ModuleType
from typing import Any

from ._dask_code import CodeBundle

__all__ = ["KEPT_VERSIONS", "code_plugin", "held", "install_code", "keep", "warm_up"]


# The versions this worker holds, and their compiled code, by digest, the most recently used
# last; beyond KEPT_VERSIONS the oldest are dropped.
KEPT_VERSIONS = 8
_bundles: collections.OrderedDict[str, CodeBundle] = collections.OrderedDict()
_compiled: collections.OrderedDict[str, dict[str, CodeType | None]] = collections.OrderedDict()


def keep(bundle: CodeBundle) -> None:
    """In the worker process: hold this version of a project's code (the plugin's setup)."""
    _bundles[bundle.digest] = bundle
    _bundles.move_to_end(bundle.digest)
    while len(_bundles) > KEPT_VERSIONS:
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
            from flowmancer_exec._dask_install import keep

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
    while len(_compiled) > KEPT_VERSIONS:
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
