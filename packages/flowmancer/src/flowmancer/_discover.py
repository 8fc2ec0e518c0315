"""Finding users' task, logger, extension and checkpointer classes by importing their modules.

Every module of the folders ``tasks``, ``extensions`` and ``loggers`` beside the driver script
(and of ``config.extension_directories``) is imported, so that classes decorated with ``@task``
and friends register themselves; ``config.extension_packages`` are imported by name.

- A folder that is a package (it has an ``__init__.py``) is imported as in 0.12: under its own
  name, with its parent folder on ``sys.path``, so user code and unit tests import the very same
  modules (``from tasks.load import Load``); its subpackages are walked.
- A folder without ``__init__.py`` is imported as a package of its own under a private name,
  ``flowmancer._folders.<folder>_<hash of its real path>``: no installed package can take its
  place and two folders never share a module (each may have its ``utils.py``). Its modules import
  each other relatively (``from .utils import x``); its subfolders are walked the same way, with
  or without ``__init__.py``.

A module that fails to import is reported as the user's file, line and exception — not as our
stack.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import os
import pkgutil
import re
import sys
import traceback
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Literal

from ._jobfile._problems import Problem
from .exceptions import (
    CannotStartError,
    ExtensionsDirectoryNotFoundError,
    ModuleLoadError,
    NotAPackageError,
)

__all__ = [
    "DEFAULT_FOLDERS",
    "FOLDERS_PARENT",
    "DiscoveryProblem",
    "discover",
    "discovery_error",
    "not_registered",
]

DEFAULT_FOLDERS = ("tasks", "extensions", "loggers")
FOLDERS_PARENT = "flowmancer._folders"
_PYDANTIC_EXTRA = "pip install 'flowmancer[pydantic]'"

Kind = Literal["missing", "not-a-folder", "import"]


@dataclasses.dataclass(frozen=True)
class DiscoveryProblem(Problem):
    """A problem found while importing the user's modules; ``kind`` says which sort (0.12 had
    an exception type for each: see ``discovery_error``)."""

    kind: Kind = "import"


def discovery_error(problems: Sequence[Problem]) -> type[CannotStartError]:
    """The exception 0.12 raised for the first of ``problems``."""
    kind = getattr(problems[0], "kind", "import") if problems else "import"
    if kind == "missing":
        return ExtensionsDirectoryNotFoundError
    return NotAPackageError if kind == "not-a-folder" else ModuleLoadError


# The user's modules discover() imported, in order: where a class the job names but no
# decorator registered is looked for.
_imported: list[str] = []


def discover(
    root: Path, directories: Iterable[str] = (), packages: Iterable[str] = ()
) -> list[Problem]:
    """Import the user's modules; returns what went wrong (nothing when all imported).

    Args:
        root: the driver's folder (made importable, as it is for the driver itself).
        directories: more folders (``config.extension_directories``), relative to ``root``
            unless absolute; unlike the default folders these must exist.
        packages: installed packages to import by name (``config.extension_packages``).
    """
    found = _Discovery(root)
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    for name in DEFAULT_FOLDERS:
        folder = root / name
        if folder.is_dir():
            found.folder(folder, "")
    for number, name in enumerate(directories):
        folder = Path(name) if Path(name).is_absolute() else root / name
        place = f"config.extension_directories.{number}"
        if not folder.exists():
            found.add(f"no such folder: {folder}", place, "missing")
        elif not folder.is_dir():
            found.add(
                f"not a folder: {folder} (name the folder that holds it)", place, "not-a-folder"
            )
        else:
            found.folder(folder, place)
    for number, name in enumerate(packages):
        found.module(name, f"config.extension_packages.{number}", walk="package")
    return found.problems


class _Discovery:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.problems: list[Problem] = []
        self.seen: set[str] = set()  # real paths of the folders walked (symlinks can loop)

    def add(self, message: str, place: str, kind: Kind = "import") -> None:
        self.problems.append(DiscoveryProblem(message, place, kind=kind))

    def folder(self, folder: Path, place: str) -> None:
        if (folder / "__init__.py").is_file():
            self._package_folder(folder, place)
            return
        real = os.path.realpath(folder)
        if real in self.seen:
            return
        from flowmancer_exec._folders import folder_package

        digest = hashlib.sha256(real.encode("utf-8", "surrogateescape")).hexdigest()[:8]
        name = f"{FOLDERS_PARENT}.{_identifier(folder.name)}_{digest}"
        self.walk(folder_package(name, real), place, "folder")

    def _package_folder(self, folder: Path, place: str) -> None:
        name = folder.name
        loaded = sys.modules.get(name)
        where = str(folder.absolute())
        if loaded is not None and hasattr(loaded, "__path__") and where not in loaded.__path__:
            # Another folder of this name was imported first (./tasks and more/tasks): its
            # package takes this folder's modules too, instead of this folder going unread.
            loaded.__path__.append(where)
            for info in pkgutil.iter_modules([where], prefix=name + "."):
                self.module(info.name, place, walk="package" if info.ispkg else None)
            return
        parent = str(folder.parent.absolute())
        if parent not in sys.path:
            sys.path.insert(0, parent)
        self.module(name, place, walk="package")

    def module(
        self,
        name: str,
        place: str,
        *,
        walk: Literal["package", "folder"] | None,
        file: str | None = None,
    ) -> None:
        try:
            module = importlib.import_module(name)
        except (Exception, SystemExit) as error:  # sys.exit() in a module would end the driver
            label = name if file is None else _relative(file, self.root)
            self.add(_describe(name, label, error), place)
            return
        if name not in _imported:
            _imported.append(name)
        if walk is not None and hasattr(module, "__path__"):
            self.walk(module, place, walk)

    def walk(self, package: ModuleType, place: str, how: Literal["package", "folder"]) -> None:
        """Import the modules of ``package``; ``folder``: its subfolders without
        ``__init__.py`` too (a package's own are left alone, as in 0.12)."""
        folders = [str(p) for p in package.__path__]
        fresh = [f for f in folders if os.path.realpath(f) not in self.seen]
        self.seen.update(os.path.realpath(f) for f in fresh)
        prefix = package.__name__ + "."
        for info in pkgutil.iter_modules(fresh, prefix=prefix):
            file = _file_of(info) if how == "folder" else None
            self.module(info.name, place, walk="package" if info.ispkg else None, file=file)
        if how != "folder":
            return
        for folder in fresh:
            for sub in sorted(Path(folder).iterdir(), key=lambda p: p.name):
                if (
                    sub.name.isidentifier()
                    and sub.name != "__pycache__"
                    and sub.is_dir()
                    and not (sub / "__init__.py").is_file()
                    and os.path.realpath(sub) not in self.seen
                ):
                    self.module(prefix + sub.name, place, walk="folder", file=str(sub))


def _identifier(name: str) -> str:
    return re.sub(r"\W", "_", name) or "folder"


def _file_of(info: pkgutil.ModuleInfo) -> str | None:
    """The file (or package folder) a module found by ``pkgutil`` comes from."""
    finder = info.module_finder
    try:
        spec = finder.find_spec(info.name)  # type: ignore[call-arg]
    except Exception:
        return None
    if spec is None:
        return None
    if info.ispkg and spec.submodule_search_locations:
        return str(spec.submodule_search_locations[0])
    return spec.origin


def _relative(file: str, root: Path) -> str:
    try:
        relative = os.path.relpath(file, root)
    except ValueError:
        return file
    return file if relative.startswith("..") else relative


def not_registered(name: str, root: Path) -> str | None:
    """Why ``name`` is not a registered task class although one of the user's modules defines a
    class of that name (the decorator forgotten, or not a ``Task``); None if none does."""
    from flowmancer_exec import Task

    for module_name in _imported:
        module = sys.modules.get(module_name)
        found = vars(module).get(name) if module is not None else None
        if not isinstance(found, type) or found.__module__ != module_name:
            continue  # not a class, or one imported from elsewhere: its own module is searched
        file = Path(getattr(module, "__file__", None) or module_name)
        shown = file.relative_to(root) if file.is_relative_to(root) else file
        if issubclass(found, Task):
            return f"found class {name} in {shown}, but it is not decorated with @task"
        return (
            f"found class {name} in {shown}, but it is not a task: subclass flowmancer.Task "
            "and decorate it with @task"
        )
    return None


def _describe(module: str, label: str, error: BaseException) -> str:
    """Where in the user's code an import failed: their file and line, then the error.

    ``label``: the module as the user knows it (its file, for one imported under a private
    name)."""
    if isinstance(error, SyntaxError) and error.filename:
        return f"{error.filename}:{error.lineno}: cannot import {label}: SyntaxError: {error.msg}"
    if isinstance(error, ModuleNotFoundError) and error.name == module:
        return f"cannot import {label}: no such module"
    frames = traceback.extract_tb(error.__traceback__)
    # The innermost frame outside importlib's machinery and ours is the user's line.
    ours = (str(Path(__file__).parent), "<frozen importlib", str(Path(importlib.__file__).parent))
    user = [f for f in frames if not f.filename.startswith(ours)]
    where = f"{user[-1].filename}:{user[-1].lineno}: " if user else ""
    if isinstance(error, SystemExit):
        return f"{where}cannot import {label}: it called sys.exit({error.code!r}) while imported"
    hint = _sibling_hint(error, user[-1].filename if user else None)
    missing = (error.name or "") if isinstance(error, ModuleNotFoundError) else ""
    if missing.partition(".")[0] == "pydantic":
        hint = f" (Flowmancer runs pydantic tasks with its extra: {_PYDANTIC_EXTRA})"
    return f"{where}cannot import {label}: {type(error).__name__}: {error}{hint}"


def _sibling_hint(error: BaseException, file: str | None) -> str:
    """For ``from utils import x`` where utils.py sits beside the importing module: say how."""
    if not isinstance(error, ModuleNotFoundError) or not error.name or file is None:
        return ""
    top = error.name.split(".")[0]
    beside = Path(file).parent
    if (beside / f"{top}.py").is_file() or (beside / top).is_dir():
        return (
            f" ({top} is beside it, in a folder imported as a package: import it relatively, "
            f"from .{top} import ...)"
        )
    return ""
