"""Annotations and defaults as a user writes them in a task class, for ``flowmancer tasks``.

``Path``, ``date | None``, ``Literal['append', 'replace']``, ``list[str]``; defaults as
``Path('data')``, ``timedelta(seconds=5)``, ``Colour.RED`` — not the reprs Python gives them
(``PosixPath('data')``, ``datetime.timedelta(seconds=5)``, ``<Colour.RED: 'red'>``).
"""

from __future__ import annotations

import datetime
import enum
import types
import typing
from pathlib import Path, PurePath
from typing import Any

__all__ = ["annotation_text", "default_text"]

_UNIONS: tuple[Any, ...] = (typing.Union, types.UnionType)


def annotation_text(tp: Any) -> str:
    """``tp`` as it would be written in the class (``Optional[X]`` as ``X | None``)."""
    if tp is None or tp is type(None):
        return "None"
    if tp is Any:
        return "Any"
    if isinstance(tp, str):  # an annotation left unresolved
        return tp
    if isinstance(tp, typing.ForwardRef):
        return tp.__forward_arg__
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is typing.Annotated:
        return annotation_text(args[0])
    if origin is typing.Literal:
        return f"Literal[{', '.join(repr(a) for a in args)}]"
    if origin in _UNIONS:
        return " | ".join(annotation_text(a) for a in args)
    if origin is not None:
        name = annotation_text(origin)
        if not args:
            return name
        shown = ["..." if a is Ellipsis else annotation_text(a) for a in args]
        return f"{name}[{', '.join(shown)}]"
    written: object = getattr(tp, "__name__", None)  # classes, NewTypes, TypeVars
    if isinstance(written, str):
        return written
    return repr(tp).replace("typing.", "")


def default_text(value: Any) -> str:
    """A default as it would be written in the class."""
    if isinstance(value, PurePath):
        kind = "Path" if isinstance(value, Path) else type(value).__name__
        return f"{kind}({str(value)!r})"
    if isinstance(value, enum.Enum):
        return f"{type(value).__name__}.{value.name}"
    if isinstance(value, (datetime.date, datetime.time, datetime.timedelta)):
        return repr(value).removeprefix("datetime.")
    return repr(value)
