"""A job file's data built from libyaml's events, without a tree of nodes.

``compose`` makes a node for every key and value, each with two marks, and they all live until
the data is built: three times the memory of the data itself, at a job's largest moment. Here
each event becomes data as it comes, to the same result as _yaml's ``_Builder`` (whose checks
and messages it shares), and only for files it can read alone: no anchors or aliases (``&``
and ``*`` appear nowhere in the text), one document. Anything else, a syntax error included,
says "not here" (None) and the file is read through ``compose``, which says the same things as
before.
"""

from __future__ import annotations

from typing import Any

import yaml

from ._problems import Mark, Problems
from ._yaml import (
    _DEEPEST,
    _MAP,
    _MERGE,
    _PYTHON,
    _SEQ,
    _STANDARD,
    _STR,
    Variables,
    _Builder,
    _Loader,
)

__all__ = ["build_from_events"]

_START = (yaml.MappingStartEvent, yaml.SequenceStartEvent)
_END = (yaml.MappingEndEvent, yaml.SequenceEndEvent)


def _scalar_node(tag: str, event: Any) -> yaml.ScalarNode:
    """The node ``compose`` would have made of a scalar's event."""
    return yaml.ScalarNode(tag, event.value, event.start_mark, event.end_mark, event.style)


class _NotHere(Exception):
    """Something only ``compose`` reads as users are told it is (an alias, a second
    document)."""


def build_from_events(
    file: str, text: str, variables: Variables
) -> tuple[Any, _Builder | None] | None:
    """The file's data and the builder that made it (its ``problems``, ``made``, ``clean``,
    ``typed_keys``); builder None when the file holds no document; None when this file is to
    be read through ``compose`` (see the module's docstring)."""
    if "&" in text or "*" in text:
        return None
    events = _Loader(text)
    try:
        events.get_event()  # the stream's start
        if events.check_event(yaml.StreamEndEvent):
            return None, None
        events.get_event()  # the document's start
        builder = _EventBuilder(file, variables, Problems(), text, events)
        data = builder.node("")
        events.get_event()  # the document's end
        if not events.check_event(yaml.StreamEndEvent):
            return None  # a second document: compose says so
        return data, builder
    except (yaml.YAMLError, _NotHere):
        return None
    finally:
        events.dispose()


class _EventBuilder(_Builder):
    def __init__(
        self, file: str, variables: Variables, problems: Problems, text: str, events: _Loader
    ) -> None:
        super().__init__(file, variables, problems, text)
        self.aliases = False
        self.events = events

    def at(self, event: Any) -> Mark:
        return Mark(self.file, event.start_mark.line + 1, event.start_mark.column + 1)

    def tag_of(self, event: Any) -> str:
        tag: str | None = event.tag
        if tag is None or tag == "!":
            if type(event) is yaml.ScalarEvent:
                return self.events.resolve(yaml.ScalarNode, event.value, event.implicit)
            return _MAP if type(event) is yaml.MappingStartEvent else _SEQ
        return tag

    def skip(self) -> None:
        """Past the next node, whole."""
        level = 0
        while True:
            event = self.events.get_event()
            if isinstance(event, _START):
                level += 1
            elif isinstance(event, _END):
                level -= 1
            elif isinstance(event, yaml.AliasEvent):
                raise _NotHere
            if level == 0:
                return

    def node(self, place: str) -> Any:
        event: Any = self.events.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise _NotHere
        if type(event) is yaml.ScalarEvent:
            self.events.get_event()
            return self.build(_scalar_node(self.tag_of(event), event), place)
        tag = self.tag_of(event)
        if tag.startswith(_PYTHON) or not tag.startswith(_STANDARD):
            shown = tag.replace(_STANDARD, "!!")
            self.problems.add(place, f"unsupported YAML tag {shown}", self.at(event))
            self.skip()
            return None
        self.depth += 1
        try:
            if self.depth > _DEEPEST:
                self.problems.add(place, "nested more than 200 levels deep", self.at(event))
                self.skip()
                return None
            self.events.get_event()
            made = self.made
            built: Any
            if type(event) is yaml.MappingStartEvent:
                built = self.mapping_events(place)
            else:
                built = []
                while not self.events.check_event(yaml.SequenceEndEvent):
                    built.append(self.node(f"{place}.{len(built)}"))
            self.events.get_event()  # the collection's end
            if self.made == made:
                self.clean.add(id(built))
            return built
        finally:
            self.depth -= 1

    def mapping_events(self, place: str) -> dict[str, Any]:
        """As ``_Builder.mapping``, its keys and values taken from the events."""
        out: dict[str, Any] = {}
        explicit: set[str] = set()
        events = self.events
        while not events.check_event(yaml.MappingEndEvent):
            key_event: Any = events.peek_event()
            if type(key_event) is not yaml.ScalarEvent:
                if key_event.tag is not None or isinstance(key_event, yaml.AliasEvent):
                    raise _NotHere  # a tagged collection as a key: compose's reading
                self.problems.add(place, "keys must be plain names", self.at(key_event))
                self.skip()  # the key
                self.skip()  # its value
                continue
            events.get_event()
            if key_event.anchor is not None:
                raise _NotHere
            key_tag = self.tag_of(key_event)
            if key_tag == _MERGE:  # `<<: {...}`: keys not given here come from there
                value_event = events.peek_event()
                self.merge(out, explicit, self.node(place), place, self.at(value_event))
                continue
            key = str(key_event.value)
            if key_tag != _STR:
                key = self.typed_key(key, _scalar_node(key_tag, key_event))
            child = f"{place}.{key}" if place else key
            if key in explicit:
                self.problems.add(child, f"{key!r} is given twice", self.at(key_event))
                self.skip()
                continue
            explicit.add(key)
            # Most values are text as written: what build() would return, for less.
            value_event = events.peek_event()
            if (
                type(value_event) is yaml.ScalarEvent
                and value_event.anchor is None
                and "$" not in value_event.value
                and self.depth < _DEEPEST
                and self.tag_of(value_event) == _STR
            ):
                events.get_event()
                out[key] = value_event.value
            else:
                out[key] = self.node(child)
        return out
