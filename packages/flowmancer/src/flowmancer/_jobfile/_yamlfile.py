"""Reading one YAML job file into plain data (see _yaml) and the marks of its keys' places.

The data is built straight from the parser's events (_events) where the file has no anchors
and aliases, without the tree of nodes: that tree weighed several times the data it is built
into. Any other file, and any file with a mistake, is read through that tree (``compose``),
whose messages are those users see.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ._events import build_from_events
from ._problems import Mark, Marks, Problems
from ._read import Unreadable, read_job_bytes
from ._settle import settle
from ._yaml import Variables, _Builder, _compose, _offset_mark

__all__ = ["load_yaml"]


def load_yaml(path: Path, variables: Variables, problems: Problems) -> tuple[Any, Marks]:
    """The data of a YAML file and the marks of its keys' places (``""``: the document).

    Problems (syntax, unset variables, duplicate keys) are added to ``problems``; the data is
    what could be read (None when nothing could). The marks are found only when asked for
    (see ``Marks``): a job that is fine never needs them, and they cost more than the data.
    """
    file = str(path)
    try:
        data = read_job_bytes(path)
    except FileNotFoundError:
        problems.add("", "no such file", Mark(file, 0, 0))
        return None, Marks()
    except Unreadable as error:
        problems.add("", str(error), Mark(file, 0, 0))
        return None, Marks()
    try:
        # Newlines as text mode reads them (\r\n and \r become \n).
        text = data.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")
    except UnicodeDecodeError as error:
        problems.add("", f"not UTF-8 text ({error.reason})", _offset_mark(file, data, error.start))
        return None, Marks()
    del data
    if "\0" in text:  # libyaml would take it for the end of the file and say something else
        mark = _offset_mark(file, text, text.index("\0"))
        problems.add("", "character U+0000 is not allowed in YAML", mark)
        return None, Marks()
    streamed = build_from_events(file, text, variables)
    if streamed is not None:
        data, builder = streamed
        if builder is None:  # no document
            return None, Marks({"": Mark(file, 1, 1)}, file)
        problems.items.extend(builder.problems.items)
    else:
        node = _compose(file, text, problems)
        if node is None:
            return None, Marks({"": Mark(file, 1, 1)}, file)
        if node is False:
            return None, Marks()
        builder = _Builder(file, variables, problems, text)
        data = builder.build(node, "")
        del node  # the nodes weigh several times the data: gone before it is settled
    if builder.made:
        data = settle(data, builder.typed_keys, builder.clean)
    return data, Marks(file=file, find=_Remarker(file, text, variables))


class _Remarker:
    """The marks of one file's keys, found by reading its text once more, noting them."""

    def __init__(self, file: str, text: str, variables: Variables) -> None:
        self.file, self.text, self.variables = file, text, variables

    def __call__(self) -> dict[str, Mark]:
        said = Problems()  # said already, when the file was read the first time
        node = _compose(self.file, self.text, said)
        if not node:  # pragma: no cover - the same text composed the first time
            return {}
        builder = _Builder(self.file, self.variables, said, self.text, keep_marks=True)
        builder.build(node, "")
        return builder.marks
