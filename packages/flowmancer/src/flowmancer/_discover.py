"""Finding users' task, logger, extension and checkpointer classes by importing their modules.

As in Flowmancer 0.12: every module of the packages ``tasks``, ``extensions`` and ``loggers``
beside the driver script (and of ``config.extension_directories``) is imported, so that classes
decorated with ``@task`` and friends register themselves; ``config.extension_packages`` are
imported by name. A module that fails to import is reported as the user's file, line and
exception — not as our stack.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
import traceback
from collections.abc import Iterable
from pathlib import Path

from ._jobfile._problems import Problem

__all__ = ["DEFAULT_FOLDERS", "discover"]

DEFAULT_FOLDERS = ("tasks", "extensions", "loggers")


def discover(
    root: Path, directories: Iterable[str] = (), packages: Iterable[str] = ()
) -> list[Problem]:
    """Import the user's modules; returns what went wrong (nothing when all imported).

    Args:
        root: the driver's folder (made importable, as it is for the driver itself).
        directories: more package folders (``config.extension_directories``), relative to
            ``root`` unless absolute; unlike the default folders these must exist.
        packages: installed packages to import by name (``config.extension_packages``).
    """
    problems: list[Problem] = []
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    for name in DEFAULT_FOLDERS:
        folder = root / name
        if folder.is_dir():
            _import_folder(folder, problems, required=False)
    for number, name in enumerate(directories):
        folder = Path(name) if Path(name).is_absolute() else root / name
        place = f"config.extension_directories.{number}"
        if not folder.is_dir():
            problems.append(Problem(f"no such folder: {folder}", place))
            continue
        _import_folder(folder, problems, required=True, place=place)
    for number, name in enumerate(packages):
        _import(name, problems, f"config.extension_packages.{number}", walk=True)
    return problems


def _import_folder(
    folder: Path, problems: list[Problem], *, required: bool, place: str = ""
) -> None:
    if not (folder / "__init__.py").is_file():
        if required:
            problems.append(Problem(f"{folder} is not a package (it has no __init__.py)", place))
        elif any(folder.glob("*.py")):  # as 0.12 did: say why its classes are not found
            print(
                f"flowmancer: {folder} has no __init__.py, so its modules are not imported "
                "(add an empty one)",
                file=sys.stderr,
            )
        return
    name = folder.name
    loaded = sys.modules.get(name)
    where = str(folder.absolute())
    if loaded is not None and hasattr(loaded, "__path__") and where not in loaded.__path__:
        # Another folder of this name was imported first (./tasks and more/tasks): its
        # package takes this folder's modules too, instead of this folder going unread.
        loaded.__path__.append(where)
        for info in pkgutil.iter_modules([where], prefix=name + "."):
            _import(info.name, problems, place, walk=info.ispkg)
        return
    parent = str(folder.parent.absolute())
    if parent not in sys.path:
        sys.path.insert(0, parent)
    _import(name, problems, place, walk=True)


def _import(name: str, problems: list[Problem], place: str, *, walk: bool) -> None:
    try:
        module = importlib.import_module(name)
    except (Exception, SystemExit) as error:  # sys.exit() in a module would end the driver
        problems.append(Problem(_describe(name, error), place))
        return
    if not walk or not hasattr(module, "__path__"):
        return
    for info in pkgutil.iter_modules(module.__path__, prefix=name + "."):
        _import(info.name, problems, place, walk=info.ispkg)


def _describe(module: str, error: BaseException) -> str:
    """Where in the user's code an import failed: their file and line, then the error."""
    if isinstance(error, SyntaxError) and error.filename:
        return f"{error.filename}:{error.lineno}: cannot import {module}: SyntaxError: {error.msg}"
    if isinstance(error, ModuleNotFoundError) and error.name == module:
        return f"cannot import {module}: no such module"
    frames = traceback.extract_tb(error.__traceback__)
    # The innermost frame outside importlib's machinery and ours is the user's line.
    ours = (str(Path(__file__).parent), "<frozen importlib", str(Path(importlib.__file__).parent))
    user = [f for f in frames if not f.filename.startswith(ours)]
    where = f"{user[-1].filename}:{user[-1].lineno}: " if user else ""
    if isinstance(error, SystemExit):
        return f"{where}cannot import {module}: it called sys.exit({error.code!r}) while imported"
    fix = ""
    if (
        isinstance(error, ModuleNotFoundError)
        and (error.name or "").partition(".")[0] == "pydantic"
    ):
        fix = " (Flowmancer runs pydantic tasks with its extra: pip install 'flowmancer[pydantic]')"
    return f"{where}cannot import {module}: {type(error).__name__}: {error}{fix}"
