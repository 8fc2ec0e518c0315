"""YAML to plain data, with ``$VAR{}``, ``$ENV{}`` and ``$SYS{}`` substituted and every key's
place remembered (``tasks.load.parameters.count`` -> file, line, column) for messages.

Only YAML's safe types are built (no Python objects). Anchors, aliases and ``<<`` merge keys
work as YAML defines them. As in Flowmancer 0.12, variables are substituted in plain (unquoted)
scalars only: a quoted ``'$ENV{HOME}'`` is the literal text, which is how a job writes one.
What substituted text and keys of a YAML type become depends on their place (``_settle``).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import Any, Literal

import yaml

from ._problems import Mark, Problems
from ._read import MAX_JOB_FILE_BYTES
from ._settle import Substituted, TypedKey

__all__ = ["Variables"]

_REFERENCE = re.compile(r"\$(VAR|ENV|SYS)\{([^{}:]*)(?::([^{}]*))?\}")
_MERGE = "tag:yaml.org,2002:merge"
_STR = "tag:yaml.org,2002:str"
_SEQ = "tag:yaml.org,2002:seq"
_MAP = "tag:yaml.org,2002:map"
_STANDARD = "tag:yaml.org,2002:"
_PYTHON = "tag:yaml.org,2002:python/"
# What is left of a scalar's text after its variables are substituted that still looks like
# one: unclosed, braces inside, or not in capitals.
_LOOSE = re.compile(r"\$(var|env|sys)\{", re.IGNORECASE)

try:  # the C parser, where PyYAML was built with it, composes several times faster
    _Base: type[yaml.SafeLoader] = yaml.CSafeLoader  # type: ignore[assignment]
except AttributeError:  # pragma: no cover - depends on the PyYAML build
    _Base = yaml.SafeLoader

# The safe loader's implicit types of plain scalars, by first character, in its order.
_Resolvers = tuple[tuple[str, "re.Pattern[str]"], ...]
_IMPLICIT: dict[str, _Resolvers] = {
    first: tuple(resolvers) + tuple(yaml.SafeLoader.yaml_implicit_resolvers.get(None, []))
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    if first is not None
}
_ANY_FIRST: _Resolvers = tuple(yaml.SafeLoader.yaml_implicit_resolvers.get(None, []))


def _implicit_tag(value: str) -> str:
    """The tag YAML's safe types give a plain scalar."""
    for tag, pattern in _IMPLICIT.get(value[:1], _ANY_FIRST):
        if pattern.match(value):
            return tag
    return _STR


class _Loader(_Base):  # type: ignore[misc,valid-type]
    """The safe loader, resolving tags the same way with less work per node: PyYAML's
    ``resolve`` (called for every node, also by the C parser) was the largest part of reading a
    job file of a few thousand tasks. Safe loaders have no path resolvers."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        # The tag of each plain text met: a job repeats most of its values (class names,
        # keys), and matching the resolvers' patterns was most of the time spent here.
        self.tags: dict[str, str] = {}

    def resolve(self, kind: type[yaml.Node], value: str, implicit: tuple[bool, bool]) -> str:
        if kind is yaml.ScalarNode:
            if implicit[0]:
                tag = self.tags.get(value)
                if tag is None:
                    tag = self.tags[value] = _implicit_tag(value)
                return tag
            return _STR
        return _SEQ if kind is yaml.SequenceNode else _MAP

    def descend_resolver(self, current_node: Any, current_index: Any) -> None:
        pass

    def ascend_resolver(self) -> None:
        pass


class Variables:
    """The values ``$VAR{name}``, ``$ENV{name}`` and ``$SYS{name}`` stand for."""

    def __init__(
        self,
        var: Mapping[str, str] | None = None,
        env: Mapping[str, str] | None = None,
        sys: Mapping[str, str] | None = None,
    ) -> None:
        self.tables: dict[str, Mapping[str, str]] = {
            "VAR": var or {},
            "ENV": env or {},
            "SYS": sys or {},
        }


def _compose(file: str, text: str, problems: Problems) -> yaml.Node | Literal[False] | None:
    """The file's node tree; None for an empty document, False when it cannot be read (said)."""
    try:
        node: yaml.Node | None = yaml.compose(text, Loader=_Loader)
        return node
    except yaml.MarkedYAMLError as error:
        at = error.problem_mark or error.context_mark
        mark = Mark(file, at.line + 1, at.column + 1) if at else Mark(file, 1, 1)
        what = " ".join(p for p in (error.context, error.problem) if p)
        lines = text.splitlines()
        line = lines[mark.line - 1] if 0 < mark.line <= len(lines) else ""
        what += _flow_hint(error, line, mark) or _syntax_hint(error, line, mark)
        problems.add("", f"YAML syntax error: {what}", mark)
    except yaml.reader.ReaderError as error:  # a character YAML does not allow, anywhere
        code = error.character if isinstance(error.character, int) else ord(error.character)
        mark = _offset_mark(file, text, error.position)
        problems.add("", f"character U+{code:04X} is not allowed in YAML", mark)
    except yaml.YAMLError as error:
        problems.add("", f"YAML error: {error}", Mark(file, 1, 1))
    return False


def _offset_mark(file: str, data: str | bytes, offset: int) -> Mark:
    """The line and column of the character (or byte) at ``offset``."""
    newline: Any = "\n" if isinstance(data, str) else b"\n"
    line_start = data.rfind(newline, 0, offset) + 1
    return Mark(file, data.count(newline, 0, offset) + 1, offset - line_start + 1)


def _flow_hint(error: yaml.MarkedYAMLError, line: str, mark: Mark) -> str:
    """For a variable in a flow collection (``{x: $VAR{x}}``, ``[$VAR{x}]``): how to write it.

    YAML does not allow braces in a plain scalar inside ``[ ]`` or ``{ }``, so the parser takes
    the variable's ``{`` for its own; and quoting it would make it literal text (not
    substituted, as in 0.12). Block style is the way: one entry per line.
    """
    column = mark.column - 1
    if "flow" not in (error.context or "") or line[column : column + 1] != "{":
        return ""
    before = re.search(
        r"(?:([^\s,\[\]{}:'\"]+)\s*:\s+)?([^\s,\[\]{}]*)\$(?:VAR|ENV|SYS)$", line[:column]
    )
    reference = _REFERENCE.match(line, column - 4)
    if before is None or reference is None:
        return ""
    rest = re.match(r"[^\s,\]}]*", line[reference.end() :])
    value = before.group(2) + reference.group(0) + (rest.group(0) if rest else "")
    entry = f"{before.group(1)}: {value}" if before.group(1) else f"- {value}"
    return (
        f" (YAML reads the braces of {reference.group(0)} as its own inside [ ] or {{ }}, and"
        f" quoted it would stay literal text: write this part in block style, with"
        f' "{entry}" on a line of its own)'
    )


def _syntax_hint(error: yaml.MarkedYAMLError, line: str, mark: Mark) -> str:
    """What PyYAML's own words leave out: a tab, or where the unfinished part began."""
    column = mark.column - 1
    if 0 <= column < len(line) and line[column] == "\t":
        return " (a tab: YAML indents with spaces only)"
    context, problem = error.context or "", error.problem or ""
    alias = re.match(r"\*([\w-]+)", line[max(column, 0) :])  # libyaml's anchor characters
    if "undefined alias" in problem and alias:
        return f" *{alias.group(1)} (no anchor &{alias.group(1)} comes before it)"
    if "mapping values are not allowed" in problem:
        return " (a second ': ' on one line? quote the value, or check the indentation)"
    began, at = error.context_mark, error.problem_mark
    if began is None or at is None or (began.line, began.column) == (at.line, at.column):
        return ""
    where = f"line {began.line + 1}, column {began.column + 1}"
    if "quoted scalar" in context:
        return f" (the quote at {where} is never closed)"
    if "flow sequence" in context or "flow mapping" in context:
        bracket = "[" if "sequence" in context else "{"
        return f" (the {bracket} at {where} is not closed, or a comma is missing)"
    if "block mapping" in context and "expected key" in problem:
        return f" (this line is not indented like the keys of the mapping at {where})"
    return f" (it began at {where})"


# How deep collections may nest.
_DEEPEST = 200
# What aliases may add to a job when expanded: values, and characters of text.
_ALIAS_VALUES = 1_000_000
_ALIAS_TEXT = MAX_JOB_FILE_BYTES


class _Builder:
    def __init__(
        self,
        file: str,
        variables: Variables,
        problems: Problems,
        text: str = "",
        keep_marks: bool = False,
    ) -> None:
        self.file = file
        self.text = text
        self.variables = variables
        self.problems = problems
        # The mark of each key's place: noted only when asked for (see Marks), since noting
        # them took longer than building the data.
        self.keep_marks = keep_marks
        self.marks: dict[str, Mark] = {}
        # No anchor (&) in the text: no alias either, so no node is met twice and what each
        # built need not be remembered.
        self.aliases = "&" in text or not text
        self.constructor = yaml.SafeLoader("")  # only its constructor and resolver are used
        self.depth = 0
        self.built: dict[int, Any] = {}
        self.building: set[int] = set()  # the collections enclosing the node being built
        self.expanded = 0
        self.expanded_text = 0
        self.scalars: set[int] = set()  # scalar nodes built once: a second time is an alias
        self.sizes: dict[int, tuple[int, int]] = {}  # _size of what an anchor's node built
        self.too_much = False
        # Substituted values and TypedKeys made: the data needs settling (see _settle), except
        # the collections built without any (their ids in `clean`).
        self.made = 0
        self.typed_keys = False
        self.clean: set[int] = set()

    def mark(self, node: yaml.Node) -> Mark:
        return Mark(self.file, node.start_mark.line + 1, node.start_mark.column + 1)

    def build(self, node: yaml.Node, place: str) -> Any:
        if self.keep_marks and place not in self.marks:
            self.marks[place] = self.mark(node)
        if node.tag.startswith(_PYTHON) or not node.tag.startswith(_STANDARD):
            shown = node.tag.replace(_STANDARD, "!!")
            self.problems.add(place, f"unsupported YAML tag {shown}", self.mark(node))
            return None
        if not self.aliases:
            pass
        elif isinstance(node, yaml.CollectionNode):
            if id(node) in self.building:
                self.problems.add(
                    place, "an alias inside the anchor it refers to (a loop)", self.mark(node)
                )
                return None
            # An alias is the same node again: build it once (a file of nested aliases would
            # otherwise grow exponentially). Copies keep later merges from sharing.
            seen = self.built.get(id(node))
            if seen is not None:
                size = self.sizes.get(id(node))
                if size is None:  # once per anchor: an alias bomb refers to each many times
                    size = self.sizes[id(node)] = _size(seen)
                if self.expand(node, place, *size):
                    return None
                return copy.deepcopy(seen)
        elif id(node) in self.scalars:  # an alias of a scalar: its text, once more
            if self.expand(node, place, 1, len(node.value)):
                return None
        else:
            self.scalars.add(id(node))
        self.depth += 1
        if self.aliases:
            self.building.add(id(node))
        try:
            if self.depth > _DEEPEST:
                self.problems.add(place, "nested more than 200 levels deep", self.mark(node))
                return None
            built: Any
            made = self.made
            if isinstance(node, yaml.MappingNode):
                built = self.mapping(node, place)
            elif isinstance(node, yaml.SequenceNode):
                built = [self.build(item, f"{place}.{i}") for i, item in enumerate(node.value)]
            else:
                return self.scalar(node, place)
            if self.aliases:
                self.built[id(node)] = built
            if self.made == made:
                self.clean.add(id(built))
            return built
        finally:
            self.depth -= 1
            if self.aliases:
                self.building.discard(id(node))

    def expand(self, node: yaml.Node, place: str, values: int, text: int) -> bool:
        """Count what an alias adds to the job; True (said once) when it is too much."""
        if self.too_much:
            return True  # said once; every further alias would only repeat it
        self.expanded += values
        self.expanded_text += text
        if self.expanded <= _ALIAS_VALUES and self.expanded_text <= _ALIAS_TEXT:
            return False
        self.too_much = True
        limit = f"{_ALIAS_TEXT // (1024 * 1024)} MiB of text, a million values"
        at = node.start_mark
        lines = self.text.splitlines()
        line = lines[at.line] if at.line < len(lines) else ""
        anchor = re.match(r"&([^\s,\[\]{}]+)", line[at.column :])
        what = f"the alias *{anchor.group(1)} (and those before it)" if anchor else "aliases"
        self.problems.add(
            place, f"{what} expand the job past the limit for aliases ({limit})", self.mark(node)
        )
        return True

    def typed_key(self, text: str, node: yaml.Node) -> str:
        """A key YAML reads as another type (``1``, ``2026-01-01``): its text, with that value."""
        try:
            key = TypedKey(text, self.constructor.construct_object(node, deep=True))
        except (yaml.constructor.ConstructorError, ValueError, IndexError, TypeError):
            return text  # a key like 2026-02-30 is not a date: it stays its text
        self.typed_keys = True
        self.made += 1
        return key

    def merge(
        self, out: dict[str, Any], explicit: set[str], merged: Any, place: str, mark: Mark
    ) -> None:
        """``<<``: keys of the merged mapping(s) not given explicitly here go into ``out``."""
        for source in merged if isinstance(merged, list) else [merged]:
            if isinstance(source, dict):
                for k, v in source.items():
                    if k not in explicit:
                        out[k] = v
            else:
                self.problems.add(place, "<< must merge a mapping", mark)

    def mapping(self, node: yaml.MappingNode, place: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        explicit: set[str] = set()
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:  # `<<: *base`: keys not given here come from there
                self.merge(
                    out, explicit, self.build(value_node, place), place, self.mark(value_node)
                )
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                self.problems.add(place, "keys must be plain names", self.mark(key_node))
                continue
            # A key is its text as written (a task called `yes` or `0x10` keeps that name);
            # one YAML reads as another type keeps that type too, for parameter values.
            key = str(key_node.value)
            if key_node.tag != _STR:
                key = self.typed_key(key, key_node)
            child = f"{place}.{key}" if place else key
            if key in explicit:
                self.problems.add(child, f"{key!r} is given twice", self.mark(key_node))
                continue
            explicit.add(key)
            if self.keep_marks:
                self.marks[child] = self.mark(key_node)
            # Most values are text as written: what build() would return, for less.
            text = value_node.value
            if (
                value_node.tag == _STR
                and type(value_node) is yaml.ScalarNode
                and not self.aliases
                and "$" not in text
                and self.depth < _DEEPEST
            ):
                out[key] = text
            else:
                out[key] = self.build(value_node, child)
        return out

    def scalar(self, node: yaml.Node, place: str) -> Any:
        assert isinstance(node, yaml.ScalarNode)
        value = node.value
        # Plain scalars only (None from PyYAML's parser, "" from libyaml's): a quoted or block
        # scalar is text as written, as 0.12 read it.
        if "$" in value and not node.style and node.tag == _STR:
            loose = _LOOSE.search(_without_references(value))
            if loose is not None:
                self.problems.add(place, _malformed(loose.group(0)), self.mark(node))
                return value
            # A reference left once the innermost are gone sat in another's default. (A value
            # given by --var or the environment is taken as it is, references and all.)
            if _REFERENCE.search(_REFERENCE.sub("", value)):
                self.problems.add(
                    place,
                    "a variable inside another's default is not substituted; "
                    "give the default as plain text",
                    self.mark(node),
                )
                return value
            substituted, count = _REFERENCE.subn(lambda m: self.lookup(m, node, place), value)
            if count:
                self.made += 1
                return Substituted(substituted, whole=_REFERENCE.fullmatch(value) is not None)
        if node.tag == _STR:  # text is its own value: what the constructor would return
            return value
        try:
            return self.constructor.construct_object(node, deep=True)
        except yaml.constructor.ConstructorError as error:
            self.problems.add(place, f"cannot read this value: {error.problem}", self.mark(node))
            return None
        except ValueError as error:  # e.g. a timestamp like 2026-02-30
            self.problems.add(place, f"cannot read this value: {error}", self.mark(node))
            return None
        except (IndexError, TypeError):  # `!!int` with nothing after it: PyYAML's own slip
            shown = node.tag.replace(_STANDARD, "!!")
            self.problems.add(
                place, f"cannot read this value: nothing to read as {shown}", self.mark(node)
            )
            return None

    def lookup(self, match: re.Match[str], node: yaml.Node, place: str) -> str:
        kind, name, default = match.group(1), match.group(2).strip(), match.group(3)
        if not name:
            self.problems.add(place, f"{match.group(0)} names no variable", self.mark(node))
            return match.group(0)
        value = self.variables.tables[kind].get(name)
        if value is not None:
            return str(value)
        if default is not None:
            return default
        how = {
            "VAR": f"pass --var {name}=VALUE or give a default: $VAR{{{name}:default}}",
            "ENV": f"set the environment variable or give a default: $ENV{{{name}:default}}",
            "SYS": "known: " + (", ".join(sorted(self.variables.tables["SYS"])) or "none"),
        }[kind]
        self.problems.add(place, f"${kind}{{{name}}} is not set ({how})", self.mark(node))
        return match.group(0)


def _size(value: Any) -> tuple[int, int]:
    """How many values ``value`` holds, and how many characters of text (keys included)."""
    values = text = 0
    stack = [value]
    while stack:
        item = stack.pop()
        values += 1
        if isinstance(item, dict):
            text += sum(len(k) for k in item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str):
            text += len(item)
    return values, text


def _without_references(text: str) -> str:
    # Inside out, so that a variable in another's default (said elsewhere) is not malformed.
    while True:
        shorter = _REFERENCE.sub("", text)
        if shorter == text:
            return text
        text = shorter


def _malformed(start: str) -> str:
    kind = start[1:-1]
    if kind != kind.upper():
        return f"{start}...}} is not a variable: write ${kind.upper()}{{name}}, in capitals"
    return (
        f"{start} is not closed: write ${kind}{{name}} or ${kind}{{name:default}} "
        "(no braces inside)"
    )
