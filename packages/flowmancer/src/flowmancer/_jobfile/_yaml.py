"""YAML to plain data, with ``$VAR{}``, ``$ENV{}`` and ``$SYS{}`` substituted and every key's
place remembered (``tasks.load.parameters.count`` -> file, line, column) for messages.

Only YAML's safe types are built (no Python objects). Anchors, aliases and ``<<`` merge keys
work as YAML defines them.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from ._problems import Mark, Problems

__all__ = ["Variables", "load_yaml"]

_REFERENCE = re.compile(r"\$(VAR|ENV|SYS)\{([^{}:]*)(?::([^{}]*))?\}")
_MERGE = "tag:yaml.org,2002:merge"
_STR = "tag:yaml.org,2002:str"

try:  # the C parser, where PyYAML was built with it, composes several times faster
    _Loader: type[yaml.SafeLoader] = yaml.CSafeLoader  # type: ignore[assignment]
except AttributeError:  # pragma: no cover - depends on the PyYAML build
    _Loader = yaml.SafeLoader


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


def load_yaml(path: Path, variables: Variables, problems: Problems) -> tuple[Any, dict[str, Mark]]:
    """The data of a YAML file and the mark of each key's place (``""``: the document).

    Problems (syntax, unset variables, duplicate keys) are added to ``problems``; the data is
    what could be read (None when nothing could).
    """
    file = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        problems.add("", f"no such file: {file}", Mark(file, 1, 1))
        return None, {}
    except IsADirectoryError:
        problems.add("", f"is a folder, not a job file: {file}", Mark(file, 1, 1))
        return None, {}
    except UnicodeDecodeError as error:
        problems.add("", f"not UTF-8 text ({error.reason})", Mark(file, 1, 1))
        return None, {}
    except OSError as error:
        problems.add("", f"cannot be read: {error.strerror}", Mark(file, 1, 1))
        return None, {}
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as error:
        at = error.problem_mark or error.context_mark
        mark = Mark(file, at.line + 1, at.column + 1) if at else Mark(file, 1, 1)
        what = " ".join(p for p in (error.context, error.problem) if p)
        lines = text.splitlines()
        line = lines[mark.line - 1] if 0 < mark.line <= len(lines) else ""
        # A flow mapping ("{" not part of "$VAR{") holding a variable: YAML reads its braces.
        if _REFERENCE.search(line) and re.search(r"(?<!\$VAR)(?<!\$ENV)(?<!\$SYS)\{", line):
            what += ' (a $VAR{...}, $ENV{...} or $SYS{...} inside { } must be quoted: "$VAR{x}")'
        problems.add("", f"YAML syntax error: {what}", mark)
        return None, {}
    except yaml.YAMLError as error:
        problems.add("", f"YAML error: {error}", Mark(file, 1, 1))
        return None, {}
    if node is None:
        return None, {"": Mark(file, 1, 1)}
    builder = _Builder(file, variables, problems)
    data = builder.build(node, "")
    return data, builder.marks


_INT = re.compile(r"[-+]?(0|[1-9][0-9_]*)")
_FLOAT = re.compile(r"[-+]?([0-9][0-9_]*)?\.[0-9_]+([eE][-+]?[0-9]+)?|[-+]?[0-9]+[eE][-+]?[0-9]+")


def _retype(text: str) -> Any:
    if _INT.fullmatch(text):
        return int(text)
    if _FLOAT.fullmatch(text):
        return float(text)
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered in ("null", "~"):
        return None
    return text


class _Builder:
    def __init__(self, file: str, variables: Variables, problems: Problems) -> None:
        self.file = file
        self.variables = variables
        self.problems = problems
        self.marks: dict[str, Mark] = {}
        self.constructor = yaml.SafeLoader("")  # only its constructor and resolver are used
        self.depth = 0
        self.built: dict[int, Any] = {}
        self.expanded = 0

    def mark(self, node: yaml.Node) -> Mark:
        return Mark(self.file, node.start_mark.line + 1, node.start_mark.column + 1)

    def build(self, node: yaml.Node, place: str) -> Any:
        self.marks.setdefault(place, self.mark(node))
        if isinstance(node, yaml.CollectionNode):
            # An alias is the same node again: build it once (a file of nested aliases would
            # otherwise grow exponentially). Copies keep later merges from sharing.
            seen = self.built.get(id(node))
            if seen is not None:
                self.expanded += _size(seen)
                if self.expanded > 1_000_000:
                    self.problems.add(place, "aliases expand to too much data", self.mark(node))
                    return None
                return copy.deepcopy(seen)
        self.depth += 1
        try:
            if self.depth > 200:  # an alias that refers back to itself
                self.problems.add(place, "nested too deeply (a recursive alias?)", self.mark(node))
                return None
            built: Any
            if isinstance(node, yaml.MappingNode):
                built = self.mapping(node, place)
            elif isinstance(node, yaml.SequenceNode):
                built = [self.build(item, f"{place}.{i}") for i, item in enumerate(node.value)]
            else:
                return self.scalar(node, place)
            self.built[id(node)] = built
            return built
        finally:
            self.depth -= 1

    def mapping(self, node: yaml.MappingNode, place: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        explicit: set[str] = set()
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:  # `<<: *base`: keys not given here come from there
                merged = self.build(value_node, place)
                for source in merged if isinstance(merged, list) else [merged]:
                    if isinstance(source, dict):
                        for k, v in source.items():
                            if k not in explicit:
                                out[k] = v
                    else:
                        self.problems.add(place, "<< must merge a mapping", self.mark(value_node))
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                self.problems.add(place, "keys must be plain names", self.mark(key_node))
                continue
            # A key is its text as written: a task called `yes` or `0x10` keeps that name.
            key = str(key_node.value)
            child = f"{place}.{key}" if place else key
            if key in explicit:
                self.problems.add(child, f"{key!r} is given twice", self.mark(key_node))
                continue
            explicit.add(key)
            self.marks[child] = self.mark(key_node)
            out[key] = self.build(value_node, child)
        return out

    def scalar(self, node: yaml.Node, place: str) -> Any:
        assert isinstance(node, yaml.ScalarNode)
        value = node.value
        if "$" in value and node.tag == _STR:
            substituted = _REFERENCE.sub(lambda m: self.lookup(m, node, place), value)
            if substituted != value:
                if _REFERENCE.search(substituted):
                    self.problems.add(
                        place,
                        "a variable inside another's default is not substituted; "
                        "give the default as plain text",
                        self.mark(node),
                    )
                if not node.style:  # plain (None from PyYAML's parser, "" from libyaml's)
                    # A plain scalar whose new text is a number, true/false or null takes that
                    # type (`$VAR{n:3}` is 3); anything else stays text, as 0.12 kept it —
                    # not YAML 1.1's dates, octals or yes/no.
                    return _retype(substituted)
                return substituted
        try:
            return self.constructor.construct_object(node, deep=True)
        except yaml.constructor.ConstructorError as error:
            self.problems.add(place, f"cannot read this value: {error.problem}", self.mark(node))
            return None
        except ValueError as error:  # e.g. a timestamp like 2026-02-30
            self.problems.add(place, f"cannot read this value: {error}", self.mark(node))
            return None

    def lookup(self, match: re.Match[str], node: yaml.Node, place: str) -> str:
        kind, name, default = match.group(1), match.group(2).strip(), match.group(3)
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


def _size(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + sum(_size(v) for v in value.values())
    if isinstance(value, list):
        return 1 + sum(_size(v) for v in value)
    return 1
