"""``Graph``: build a dependency graph, check it, order it, select from it, start a run of it."""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Iterator, Mapping
from collections.abc import Set as AbstractSet
from typing import Generic, TypeVar

from ._compile import Compiled, bulk, compile_graph
from ._errors import SelectionError, UnknownNodeError, label
from ._export import render_dot, render_mermaid
from ._run import Run
from ._state import TaskState, TriggerRule

N = TypeVar("N", bound=Hashable)

__all__ = ["Graph"]

_RULE_NAMES = ", ".join(r.value for r in TriggerRule)


def _as_rule(node: Hashable, rule: TriggerRule | str) -> TriggerRule:
    try:
        return TriggerRule(rule)
    except ValueError:
        raise ValueError(
            f"{label(node)}: unknown trigger rule {rule!r} (expected one of {_RULE_NAMES})"
        ) from None


def _as_deps(node: Hashable, depends_on: Iterable[N]) -> tuple[N, ...]:
    # A bare string is iterable, and iterating it would make each letter a dependency.
    if isinstance(depends_on, (str, bytes)):
        raise TypeError(
            f"{label(node)}: dependencies must be a collection of nodes, not a single "
            f"string; write [{depends_on!r}]"
        )
    return tuple(dict.fromkeys(depends_on))


class Graph(Generic[N]):
    """Nodes and the nodes each depends on, in the order they were added.

    Nodes are any hashable values. Insertion order is kept and breaks every tie, so every result
    is the same under any ``PYTHONHASHSEED``. Dependencies may name nodes that are added later;
    naming one that never is added is reported by ``validate()``. The graph runs nothing:
    ``run()`` returns a state machine and the caller decides how each node is executed.

    Args:
        mapping: node -> iterable of the nodes it depends on.
        trigger_rules: node -> ``TriggerRule`` (or its string value) for nodes that should not
            use the default ``all_success``.

    Raises:
        TypeError: a node's dependencies were given as a single string.
        ValueError: a trigger rule is not one of ``all_success``, ``all_done``, ``one_failed``,
            ``finally``.
        UnknownNodeError: ``trigger_rules`` names a node that ``mapping`` does not have.
    """

    __slots__ = ("_compiled", "_deps", "_rules")

    def __init__(
        self,
        mapping: Mapping[N, Iterable[N]] | None = None,
        *,
        trigger_rules: Mapping[N, TriggerRule | str] | None = None,
    ) -> None:
        self._deps: dict[N, tuple[N, ...]] = {}
        self._rules: dict[N, TriggerRule] = {}
        self._compiled: Compiled[N] | None = None
        if mapping:
            store = self._deps
            with bulk():
                for node, depends_on in mapping.items():
                    store[node] = _as_deps(node, depends_on)
        if trigger_rules:
            unknown = [n for n in trigger_rules if n not in self._deps]
            if unknown:
                raise UnknownNodeError(unknown, "trigger_rules", self._deps)
            for node, rule in trigger_rules.items():
                self._set_rule(node, rule)

    # -- building ---------------------------------------------------------------------------

    def add(
        self,
        node: N,
        depends_on: Iterable[N] = (),
        trigger_rule: TriggerRule | str | None = None,
    ) -> None:
        """Add ``node``, or add more dependencies to it if it is already there.

        Args:
            node: any hashable value.
            depends_on: nodes it depends on; they may be added later.
            trigger_rule: when it runs (see ``TriggerRule``); ``None`` keeps what the node has,
                ``all_success`` for a new one.
        """
        deps = _as_deps(node, depends_on)
        rule = None if trigger_rule is None else _as_rule(node, trigger_rule)
        existing = self._deps.get(node)
        self._deps[node] = deps if existing is None else tuple(dict.fromkeys(existing + deps))
        if rule is not None:
            self._set_rule(node, rule)
        self._compiled = None

    def _set_rule(self, node: N, rule: TriggerRule | str) -> None:
        value = _as_rule(node, rule)
        if value is TriggerRule.ALL_SUCCESS:
            self._rules.pop(node, None)
        else:
            self._rules[node] = value
        self._compiled = None

    def _compile(self) -> Compiled[N]:
        if self._compiled is None:
            self._compiled = compile_graph(self._deps, self._rules)
        return self._compiled

    def _index(self, node: N, argument: str | None = None) -> int:
        i = self._compile().index.get(node)
        if i is None:
            raise UnknownNodeError([node], argument, self._deps)
        return i

    # -- looking at it ----------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._deps)

    def __contains__(self, node: object) -> bool:
        try:
            return node in self._deps
        except TypeError:  # unhashable: certainly not a node
            return False

    def __iter__(self) -> Iterator[N]:
        return iter(self._deps)

    def __repr__(self) -> str:
        edges = sum(len(d) for d in self._deps.values())
        return f"<Graph: {len(self._deps)} nodes, {edges} dependencies>"

    def dependencies(self, node: N) -> tuple[N, ...]:
        """The nodes ``node`` depends on, as declared (missing ones included)."""
        try:
            return self._deps[node]
        except KeyError:
            raise UnknownNodeError([node], None, self._deps) from None

    def dependents(self, node: N) -> tuple[N, ...]:
        """The nodes that depend directly on ``node``, in insertion order."""
        c = self._compile()
        return tuple(c.nodes[j] for j in c.dependents[self._index(node)])

    def trigger_rule(self, node: N) -> TriggerRule:
        """The trigger rule of ``node``."""
        self._index(node)
        return self._rules.get(node, TriggerRule.ALL_SUCCESS)

    def ancestors(self, node: N) -> list[N]:
        """Every node ``node`` depends on, directly or not, in insertion order."""
        c = self._compile()
        return [c.nodes[i] for i in _reach(self._index(node), c.deps)]

    def descendants(self, node: N) -> list[N]:
        """Every node that depends on ``node``, directly or not, in insertion order."""
        c = self._compile()
        return [c.nodes[i] for i in _reach(self._index(node), c.dependents)]

    def roots(self) -> list[N]:
        """Nodes that depend on nothing, in insertion order."""
        return [n for n, d in self._deps.items() if not d]

    def leaves(self) -> list[N]:
        """Nodes nothing depends on, in insertion order."""
        c = self._compile()
        return [c.nodes[i] for i, d in enumerate(c.dependents) if not d]

    # -- checking and ordering --------------------------------------------------------------

    def validate(self) -> None:
        """Check the whole graph and report every problem at once.

        Raises:
            CycleError: the only problem is a cycle (``.cycle`` holds its path).
            MissingDependencyError: the only problem is a node depending on absent nodes.
            FinallyDependencyError: the only problem is a node that is not ``finally``
                depending on one that is.
            GraphError: several problems; ``.problems`` holds each of the above.
        """
        self._compile().check()

    def order(self) -> list[N]:
        """Every node once, each after all it depends on; ties go to the earliest inserted.

        Raises:
            GraphError: as ``validate()``.
        """
        c = self._compile()
        c.check()
        nodes = c.nodes
        return [nodes[i] for i in c.order]

    def levels(self) -> list[list[N]]:
        """Generations that could run side by side: level 0 depends on nothing, level k on
        at least one node of level k-1. Nodes within a level are in insertion order.

        Raises:
            GraphError: as ``validate()``.
        """
        c = self._compile()
        c.check()
        level = [0] * len(c.nodes)
        deps = c.deps
        for i in c.order:
            d = deps[i]
            if d:
                level[i] = 1 + max(level[j] for j in d)
        groups: list[list[N]] = [[] for _ in range(max(level, default=-1) + 1)]
        for node, k in zip(c.nodes, level, strict=True):
            groups[k].append(node)
        return groups

    def critical_path(self, durations: Mapping[N, float]) -> tuple[float, list[N]]:
        """The chain of dependencies that takes longest, given how long each node takes.

        Args:
            durations: node -> seconds (nodes not in it count as 0).

        Returns:
            The total duration and the path, first node first, ending at a leaf. Ties go to the
            earliest-inserted leaf and, along the path, the earliest-declared dependency.
            ``(0.0, [])`` for an empty graph.

        Raises:
            GraphError: as ``validate()``.
            ValueError: a duration is negative.
        """
        c = self._compile()
        c.check()
        nodes = c.nodes
        own = [float(durations.get(n, 0.0)) for n in nodes]
        for n, d in zip(nodes, own, strict=True):
            if d < 0:
                raise ValueError(f"{label(n)}: duration must not be negative, got {d}")
        total = [0.0] * len(nodes)
        via = [-1] * len(nodes)
        for i in c.order:
            best = -1
            for j in c.deps[i]:  # strict ">" keeps the earliest-declared on a tie
                if best < 0 or total[j] > total[best]:
                    best = j
            via[i] = best
            total[i] = own[i] + (total[best] if best >= 0 else 0.0)
        if not nodes:
            return 0.0, []
        # Durations are never negative, so a longest path can always be carried on to a leaf.
        leaves = [i for i, d in enumerate(c.dependents) if not d]
        end = max(leaves, key=lambda i: (total[i], -i))
        path = []
        i = end
        while i >= 0:
            path.append(nodes[i])
            i = via[i]
        path.reverse()
        return total[end], path

    # -- partial runs and running -----------------------------------------------------------

    def select(
        self,
        *,
        run_from: N | None = None,
        run_to: N | None = None,
        skip: Iterable[N] = (),
    ) -> AbstractSet[N]:
        """The nodes a partial run executes; iterating the result follows insertion order.

        Args:
            run_from: that node and everything downstream of it.
            run_to: that node and everything upstream of it. With ``run_from``: the nodes
                between the two.
            skip: nodes to leave out. In a ``run()`` their dependents still run, in order:
                what follows a left-out node waits for what precedes it.

        Raises:
            UnknownNodeError: a name that is not in the graph.
            SelectionError: ``run_to`` is not downstream of ``run_from``, so nothing lies between.
        """
        c = self._compile()
        if isinstance(skip, (str, bytes)):
            skip = (skip,)  # type: ignore[assignment]  # a single name is what was meant
        skipped = list(skip)
        unknown = [n for n in skipped if n not in c.index]
        if unknown:
            raise UnknownNodeError(unknown, "skip", self._deps)
        chosen = bytearray(b"\x01") * len(c.nodes)
        if run_from is not None:
            start = self._index(run_from, "run_from")
            chosen = _mask(_reach(start, c.dependents), start, len(c.nodes))
        if run_to is not None:
            end = self._index(run_to, "run_to")
            upstream = _mask(_reach(end, c.deps), end, len(c.nodes))
            chosen = bytearray(a & b for a, b in zip(chosen, upstream, strict=True))
            if run_from is not None and not chosen[c.index[run_from]]:
                raise SelectionError(run_from, run_to)
        for n in skipped:
            chosen[c.index[n]] = 0
        return dict.fromkeys(n for n, keep in zip(c.nodes, chosen, strict=True) if keep).keys()

    def run(self, *, completed: Iterable[N] = (), skipped: Iterable[N] = ()) -> Run[N]:
        """Start a run: a state machine that hands out nodes as they become ready.

        Args:
            completed: nodes already COMPLETED (restored from a checkpoint).
            skipped: nodes left out: never handed out, each settles SKIPPED when it would have
                become ready (DEFAULTED when it would have been), so the nodes after it still
                wait for the nodes before it.

        Raises:
            GraphError: as ``validate()``.
            UnknownNodeError: ``completed`` or ``skipped`` names a node not in the graph.
            ValueError: a node is both completed and skipped.
        """
        c = self._compile()
        c.check()
        return Run(c, completed, skipped)

    # -- export -----------------------------------------------------------------------------

    def to_mermaid(self, states: Mapping[N, TaskState | str] | None = None) -> str:
        """A mermaid flowchart (paste into Markdown); with ``states``, nodes styled by state."""
        return render_mermaid(self._compile(), states)

    def to_dot(self, states: Mapping[N, TaskState | str] | None = None) -> str:
        """A Graphviz ``dot`` digraph; with ``states``, nodes filled by state."""
        return render_dot(self._compile(), states)


def _reach(start: int, edges: list[list[int]]) -> list[int]:
    """Every node reachable from ``start`` along ``edges`` (not ``start`` itself), ascending."""
    seen = {start}
    todo = [start]
    while todo:
        for j in edges[todo.pop()]:
            if j not in seen:
                seen.add(j)
                todo.append(j)
    seen.discard(start)
    return sorted(seen)


def _mask(members: list[int], also: int, size: int) -> bytearray:
    mask = bytearray(size)
    for i in members:
        mask[i] = 1
    mask[also] = 1
    return mask
