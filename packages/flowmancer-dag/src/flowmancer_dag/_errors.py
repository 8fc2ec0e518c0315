"""Every exception flowmancer_dag raises.

Each carries its data as attributes (for programs) and renders a message a person can act on
(for people). Nodes are shown by ``str()`` when they are strings and by ``repr()`` otherwise.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence

__all__ = [
    "CycleError",
    "FinallyDependencyError",
    "GraphError",
    "MissingDependencyError",
    "RunError",
    "SelectionError",
    "UnknownNodeError",
]

# Suggestions scan the known names; past this many the scan would cost more than it helps.
_SUGGEST_LIMIT = 5000


def label(node: Hashable) -> str:
    """How a node is written in messages."""
    return node if isinstance(node, str) else repr(node)


def suggest(node: Hashable, known: Iterable[Hashable]) -> str | None:
    """The closest known string name to a mistyped one, or None."""
    if not isinstance(node, str):
        return None
    names = []
    for n in known:
        if isinstance(n, str):
            names.append(n)
            if len(names) > _SUGGEST_LIMIT:
                return None
    import difflib  # only for a mistake's message: not imported by every run

    close = difflib.get_close_matches(node, names, n=1, cutoff=0.75)
    return close[0] if close else None


def _restore(cls: type[BaseException], args: tuple[object, ...]) -> BaseException:
    error = cls.__new__(cls, *args)
    error.args = args
    return error


class _Picklable:
    """Errors cross process boundaries (a runner's workers); keep their attributes when they do.

    The default pickling calls ``cls(*args)``, which our constructors do not accept.
    """

    def __reduce__(self) -> tuple[object, ...]:
        assert isinstance(self, BaseException)
        # The attributes go as state, applied after the object exists: a single problem lists
        # itself in .problems, and pickle can only resolve that loop for state.
        return (_restore, (type(self), self.args), self.__dict__)


class GraphError(_Picklable, ValueError):
    """The graph is not valid; ``problems`` lists every problem found, not just the first.

    ``validate()`` raises the problem itself (a ``CycleError``, ``MissingDependencyError`` or
    ``FinallyDependencyError``) when there is exactly one, and a ``GraphError`` holding them all
    when there are several.
    """

    problems: tuple[GraphError, ...]

    def __init__(self, problems: Sequence[GraphError]) -> None:
        self.problems = tuple(problems)
        count = len(self.problems)
        lines = [f"the graph has {count} problem{'s' if count != 1 else ''}:"]
        lines.extend(f"  - {p}" for p in self.problems)
        super().__init__("\n".join(lines))


class CycleError(GraphError):
    """Nodes depend on each other in a circle.

    ``cycle`` is the path with the first node repeated at the end; each node in it depends on
    the next one. A node that depends on itself is a cycle of one: ``(a, a)``.
    """

    cycle: tuple[Hashable, ...]

    def __init__(self, cycle: Sequence[Hashable]) -> None:
        self.cycle = tuple(cycle)
        self.problems = (self,)
        if len(self.cycle) == 2:
            message = f"{label(self.cycle[0])} depends on itself"
        else:
            path = " -> ".join(label(n) for n in self.cycle)
            message = f"dependency cycle: {path} (each depends on the next)"
        ValueError.__init__(self, message)


class MissingDependencyError(GraphError):
    """``node`` depends on ``missing`` nodes that are not in the graph."""

    node: Hashable
    missing: tuple[Hashable, ...]

    def __init__(
        self, node: Hashable, missing: Sequence[Hashable], hints: Sequence[str | None] = ()
    ) -> None:
        self.node = node
        self.missing = tuple(missing)
        self.problems = (self,)
        parts = []
        for i, m in enumerate(self.missing):
            hint = hints[i] if i < len(hints) else None
            parts.append(label(m) + (f" (did you mean {hint}?)" if hint else ""))
        noun = "which is" if len(parts) == 1 else "which are"
        message = f"{label(node)} depends on {', '.join(parts)}, {noun} not in the graph"
        ValueError.__init__(self, message)


class FinallyDependencyError(GraphError):
    """``node`` depends on ``finally_nodes``, which run after every other node: it never could.

    Only nodes whose own trigger rule is ``finally`` may depend on a ``finally`` node.
    """

    node: Hashable
    finally_nodes: tuple[Hashable, ...]

    def __init__(self, node: Hashable, finally_nodes: Sequence[Hashable]) -> None:
        self.node = node
        self.finally_nodes = tuple(finally_nodes)
        self.problems = (self,)
        names = ", ".join(label(n) for n in self.finally_nodes)
        which = "a finally node" if len(self.finally_nodes) == 1 else "finally nodes"
        message = (
            f"{label(node)} depends on {names}, {which}: a finally node runs after every other "
            f"node, so only finally nodes may depend on it (make {label(node)} finally too, "
            "or drop the dependency)"
        )
        ValueError.__init__(self, message)


class UnknownNodeError(_Picklable, KeyError):
    """Nodes were named that the graph does not have.

    ``nodes`` holds the unknown names and ``argument`` what they were given as (``"skip"``,
    ``"run_from"``, ``"completed"``, ...), when known.
    """

    nodes: tuple[Hashable, ...]
    argument: str | None

    def __init__(
        self,
        nodes: Sequence[Hashable],
        argument: str | None = None,
        known: Iterable[Hashable] = (),
    ) -> None:
        self.nodes = tuple(nodes)
        self.argument = argument
        known = list(known)
        parts = []
        for n in self.nodes:
            hint = suggest(n, known)
            parts.append(label(n) + (f" (did you mean {hint}?)" if hint else ""))
        where = f" in {argument}" if argument else ""
        noun = "node" if len(parts) == 1 else "nodes"
        self.message = f"unknown {noun}{where}: {', '.join(parts)}"
        super().__init__(self.message)

    def __str__(self) -> str:
        # KeyError would quote the whole message; we want it as written.
        return self.message


class RunError(_Picklable, ValueError):
    """A ``Run`` was driven out of order (a node finished that was never handed out, twice, ...)."""

    node: Hashable

    def __init__(self, node: Hashable, message: str) -> None:
        self.node = node
        super().__init__(f"{label(node)}: {message}")


class SelectionError(_Picklable, ValueError):
    """``run_to`` is not downstream of ``run_from``, so a run between them would run nothing."""

    run_from: Hashable
    run_to: Hashable

    def __init__(self, run_from: Hashable, run_to: Hashable) -> None:
        self.run_from = run_from
        self.run_to = run_to
        super().__init__(
            f"run_to {label(run_to)} is not downstream of run_from {label(run_from)}: "
            "no node lies between them"
        )
