"""Packages made over folders: how a folder of task modules without ``__init__.py`` is imported.

flowmancer imports such a folder as a package under a name of its own (not the folder's name,
which an installed package or another folder could also have). Task classes defined there have
that module name; the Dask executor ships such packages with the rest of the project's code
(``_dask_code``), so the workers import them under the same name.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import sys
from types import ModuleType

__all__ = ["folder_package"]


def folder_package(name: str, folder: str) -> ModuleType:
    """The package ``name`` whose modules are the files in ``folder`` (made once per process).

    Nothing runs: the package has no ``__init__`` of its own, like a namespace package, but it
    is known by ``name`` only. Its parent package must be importable.
    """
    found = sys.modules.get(name)
    if found is not None:
        return found
    parent, _, child = name.rpartition(".")
    holder = importlib.import_module(parent) if parent else None
    spec = importlib.machinery.ModuleSpec(name, None, is_package=True)
    spec.submodule_search_locations = [folder]
    package = importlib.util.module_from_spec(spec)
    sys.modules[name] = package
    if holder is not None:
        setattr(holder, child, package)
    return package
