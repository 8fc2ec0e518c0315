"""Text renderings of a graph for people: mermaid (GitHub renders it) and Graphviz dot."""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import TypeVar

from ._compile import Compiled
from ._state import TaskState

N = TypeVar("N", bound=Hashable)

__all__ = ["render_dot", "render_mermaid"]

# fill, stroke, text: readable on light and dark backgrounds alike.
_COLOURS: dict[TaskState, tuple[str, str, str]] = {
    TaskState.INIT: ("#f5f5f5", "#9e9e9e", "#424242"),
    TaskState.PENDING: ("#fff8e1", "#f9a825", "#5d4037"),
    TaskState.RUNNING: ("#e3f2fd", "#1e88e5", "#0d47a1"),
    TaskState.COMPLETED: ("#e8f5e9", "#43a047", "#1b5e20"),
    TaskState.FAILED: ("#ffebee", "#e53935", "#b71c1c"),
    TaskState.DEFAULTED: ("#fce4ec", "#ad1457", "#880e4f"),
    TaskState.SKIPPED: ("#eceff1", "#78909c", "#37474f"),
    TaskState.ABORTED: ("#fff3e0", "#ef6c00", "#e65100"),
}


def _states(
    compiled: Compiled[N], states: Mapping[N, TaskState | str] | None
) -> list[TaskState | None]:
    if states is None:
        return [None] * len(compiled.nodes)
    return [TaskState(states[n]) if n in states else None for n in compiled.nodes]


def _mermaid_text(text: str) -> str:
    # Mermaid reads "#name;" as an entity, so '#' itself goes first.
    for raw, entity in (("#", "#35;"), ('"', "#quot;"), ("<", "#lt;"), (">", "#gt;")):
        text = text.replace(raw, entity)
    return text


def render_mermaid(compiled: Compiled[N], states: Mapping[N, TaskState | str] | None) -> str:
    """``flowchart LR``: one box per node, an arrow from each dependency to its dependent."""
    lines = ["flowchart LR"]
    per_node = _states(compiled, states)
    for i, (node, state) in enumerate(zip(compiled.nodes, per_node, strict=True)):
        text = str(node) if state is None else f"{node} ({state.value})"
        lines.append(f'    n{i}["{_mermaid_text(text)}"]')
    for i, deps in enumerate(compiled.deps):
        lines.extend(f"    n{j} --> n{i}" for j in deps)
    used = [s for s in TaskState if s in per_node]
    for state in used:
        fill, stroke, colour = _COLOURS[state]
        lines.append(
            f"    classDef {state.value.lower()} fill:{fill},stroke:{stroke},color:{colour}"
        )
        members = ",".join(f"n{i}" for i, s in enumerate(per_node) if s is state)
        lines.append(f"    class {members} {state.value.lower()}")
    return "\n".join(lines) + "\n"


def _dot_text(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def render_dot(compiled: Compiled[N], states: Mapping[N, TaskState | str] | None) -> str:
    """A ``digraph``; node ids are the node labels, so the text stays readable."""
    lines = [
        "digraph flowmancer {",
        "    rankdir=LR;",
        '    node [shape=box, style="rounded,filled", fillcolor="#ffffff"];',
    ]
    names = [_dot_text(str(node)) for node in compiled.nodes]
    if len(set(names)) != len(names):  # distinct nodes that print alike: fall back to numbers
        ids = [f"n{i}" for i in range(len(names))]
    else:
        ids = names
    for i, (node, state) in enumerate(zip(compiled.nodes, _states(compiled, states), strict=True)):
        attributes = []
        if state is not None or ids is not names:
            text = str(node) if state is None else str(node) + "\n" + state.value
            attributes.append(f"label={_dot_text(text)}")
        if state is not None:
            fill, stroke, colour = _COLOURS[state]
            attributes.append(f'fillcolor="{fill}", color="{stroke}", fontcolor="{colour}"')
        suffix = f" [{', '.join(attributes)}]" if attributes else ""
        lines.append(f"    {ids[i]}{suffix};")
    for i, deps in enumerate(compiled.deps):
        lines.extend(f"    {ids[j]} -> {ids[i]};" for j in deps)
    lines.append("}")
    return "\n".join(lines) + "\n"
