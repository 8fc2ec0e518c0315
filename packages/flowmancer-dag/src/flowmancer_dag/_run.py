"""``Run``: the state machine of one run of a graph.

Like ``graphlib.TopologicalSorter``, it decides nothing about execution: the caller asks what is
ready, runs it however it likes, and reports each result. Every report settles what follows from
it at once (dependents made ready, DEFAULTED or SKIPPED), so no polling is ever needed.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Iterator, Mapping
from typing import Generic, TypeVar

from ._compile import Compiled
from ._errors import RunError, UnknownNodeError
from ._state import TaskState, TriggerRule

N = TypeVar("N", bound=Hashable)

__all__ = ["Run"]

_INIT = TaskState.INIT
_PENDING = TaskState.PENDING
_RUNNING = TaskState.RUNNING
_COMPLETED = TaskState.COMPLETED
_FAILED = TaskState.FAILED
_DEFAULTED = TaskState.DEFAULTED
_SKIPPED = TaskState.SKIPPED
_ABORTED = TaskState.ABORTED
_ALL_SUCCESS = TriggerRule.ALL_SUCCESS
_ONE_FAILED = TriggerRule.ONE_FAILED
_FINALLY = TriggerRule.FINALLY


class Run(Generic[N]):
    """One run of a graph: which nodes are ready, and what each result means for the rest.

    Made by ``Graph.run()``. Nodes become PENDING when they are ready, are handed out once by
    ``ready()``, may be marked RUNNING with ``start()``, and end with ``finish()`` or
    ``abort()``. A left-out node is never handed out: where it would have become ready it
    settles SKIPPED, so the order through it is kept. ``finally`` nodes become ready once every
    other node has finished. Not thread-safe: drive it from one thread.
    """

    __slots__ = (
        "_c",
        "_finals",
        "_gate",
        "_handed",
        "_left",
        "_open",
        "_queue",
        "_regular",
        "_remaining",
        "_state",
    )

    def __init__(
        self, compiled: Compiled[N], completed: Iterable[N] = (), skipped: Iterable[N] = ()
    ) -> None:
        c = self._c = compiled
        n = len(c.nodes)
        state = self._state = [_INIT] * n
        self._handed = bytearray(n)
        done = self._lookup(completed, "completed")
        left_out = self._lookup(skipped, "skipped")
        both = set(done) & set(left_out)
        if both:
            names = ", ".join(sorted(str(c.nodes[i]) for i in both))
            raise ValueError(f"nodes cannot be both completed and skipped: {names}")
        for i in done:
            state[i] = _COMPLETED
        left = self._left = bytearray(n)
        for i in left_out:
            left[i] = 1
        rules = c.rules
        self._finals = [i for i in c.order if rules[i] is _FINALLY]
        self._gate = False  # open once every node that is not finally has finished

        # Settle the start in topological order: a node whose upstream is already finished is
        # ready now (left out: SKIPPED; one_failed: SKIPPED, since nothing upstream failed).
        # Nothing has failed yet, so nothing is DEFAULTED here.
        remaining = self._remaining = [0] * n
        queue: list[int] = []
        deps = c.deps
        for i in c.order:
            if state[i] is not _INIT:
                continue
            waiting = 0
            for j in deps[i]:
                if not state[j].is_finished:
                    waiting += 1
            rule = rules[i]
            if waiting or rule is _FINALLY:
                remaining[i] = waiting
            elif rule is _ONE_FAILED or left[i]:
                state[i] = _SKIPPED
            else:
                state[i] = _PENDING
                queue.append(i)
        queue.sort()
        self._queue = queue
        self._open = sum(1 for s in state if not s.is_finished)
        self._regular = self._open - sum(1 for i in self._finals if not state[i].is_finished)
        if not self._regular:
            self._settle([])  # only finally nodes are left: they may go now

    def _lookup(self, nodes: Iterable[N], argument: str) -> list[int]:
        if isinstance(nodes, (str, bytes)):
            nodes = (nodes,)  # type: ignore[assignment]  # a single name is what was meant
        index = self._c.index
        wanted = list(nodes)
        unknown = [n for n in wanted if n not in index]
        if unknown:
            raise UnknownNodeError(unknown, argument, self._c.nodes)
        return [index[n] for n in wanted]

    def _at(self, node: N) -> int:
        i = self._c.index.get(node)
        if i is None:
            raise UnknownNodeError([node], None, self._c.nodes)
        return i

    # -- driving ----------------------------------------------------------------------------

    def ready(self) -> list[N]:
        """The nodes that became ready since the last call, each handed out exactly once."""
        if not self._queue:
            return []
        nodes = self._c.nodes
        state = self._state
        handed = self._handed
        out = []
        for i in self._queue:
            if state[i] is _PENDING:  # an abort() may have overtaken it
                handed[i] = 1
                out.append(nodes[i])
        self._queue = []
        return out

    def start(self, node: N) -> None:
        """Mark a handed-out node RUNNING (optional: ``finish()`` accepts PENDING nodes too).

        Raises:
            RunError: it was not handed out by ``ready()``, or is not PENDING.
        """
        i = self._at(node)
        if not self._handed[i] or self._state[i] is not _PENDING:
            raise RunError(node, self._misuse(i, "start"))
        self._state[i] = _RUNNING

    def finish(self, node: N, ok: bool) -> list[tuple[N, TaskState]]:
        """Record the result of a handed-out node: COMPLETED if ``ok``, else FAILED.

        Returns:
            The nodes settled without running as a consequence (DEFAULTED, or SKIPPED: left
            out, or ``one_failed`` with nothing failed upstream), with their new state, in the
            order they were settled. Nodes made ready are returned by the next ``ready()``.

        Raises:
            RunError: it was never handed out, or has already finished.
        """
        i = self._at(node)
        s = self._state[i]
        if (s is not _PENDING and s is not _RUNNING) or not self._handed[i]:
            raise RunError(node, self._misuse(i, "finish"))
        self._state[i] = _COMPLETED if ok else _FAILED
        return self._settle([i])

    def abort(self, node: N) -> list[tuple[N, TaskState]]:
        """Mark one unfinished node ABORTED; its dependents treat it as not completed.

        Returns:
            The nodes settled as a consequence, as for ``finish()``.

        Raises:
            RunError: it has already finished.
        """
        i = self._at(node)
        if self._state[i].is_finished:
            raise RunError(node, self._misuse(i, "abort"))
        self._state[i] = _ABORTED
        return self._settle([i])

    def abort_all(self) -> list[N]:
        """Mark every unfinished node ABORTED and hand out nothing more; returns those nodes."""
        state = self._state
        aborted = [i for i, s in enumerate(state) if not s.is_finished]
        for i in aborted:
            state[i] = _ABORTED
        self._open = self._regular = 0
        self._queue = []
        nodes = self._c.nodes
        return [nodes[i] for i in aborted]

    def abort_all_but_finally(self) -> list[tuple[N, TaskState]]:
        """Mark every unfinished node ABORTED except ``finally`` nodes, which then become
        ready as usual (for a run stopped from outside that still cleans up).

        Returns:
            Every node settled, in order: the ABORTED ones, then ``finally`` nodes settled
            without running (left out: SKIPPED). ``finally`` nodes made ready are returned by
            the next ``ready()``; ``abort_all()`` stops them too.
        """
        state = self._state
        rules = self._c.rules
        aborted = [i for i, s in enumerate(state) if not s.is_finished and rules[i] is not _FINALLY]
        for i in aborted:
            state[i] = _ABORTED
        # Only finally nodes can depend on finally nodes, so the others are all ABORTED now;
        # the finally ones hear of it as they would of any finish.
        nodes = self._c.nodes
        return [(nodes[i], _ABORTED) for i in aborted] + self._settle(aborted)

    def _settle(self, finished: list[int]) -> list[tuple[N, TaskState]]:
        """Count nodes that just finished, tell their dependents, and theirs in turn."""
        c = self._c
        nodes = c.nodes
        state = self._state
        remaining = self._remaining
        dependents = c.dependents
        rules = c.rules
        left = self._left
        queue = self._queue
        settled: list[tuple[N, TaskState]] = []
        todo = finished[::-1]  # popped from the end: the first given is told first
        for i in finished:
            self._open -= 1
            if rules[i] is not _FINALLY:
                self._regular -= 1
        while True:
            while todo:
                i = todo.pop()
                outcome = state[i]
                ok = outcome is _COMPLETED or outcome is _SKIPPED
                for j in dependents[i]:
                    if state[j] is not _INIT:
                        continue  # already ready, running or settled: nothing more can change it
                    remaining[j] -= 1
                    rule = rules[j]
                    if rule is _ALL_SUCCESS:
                        if ok and remaining[j]:
                            continue
                        go = ok
                    elif rule is _ONE_FAILED:
                        if ok and remaining[j]:
                            continue
                        go = not ok
                    elif remaining[j] or (rule is _FINALLY and not self._gate):
                        continue  # all_done, finally: waits for the rest
                    else:
                        go = True
                    if not go:  # all_success after a failure; one_failed with none
                        state[j] = _DEFAULTED if rule is _ALL_SUCCESS else _SKIPPED
                    elif left[j]:  # would run, but is left out: settled where it stands
                        state[j] = _SKIPPED
                    else:
                        state[j] = _PENDING
                        queue.append(j)
                        continue
                    # j was settled without running: its own dependents must hear of it.
                    self._open -= 1
                    if rule is not _FINALLY:
                        self._regular -= 1
                    settled.append((nodes[j], state[j]))
                    todo.append(j)
            if self._gate or self._regular:
                return settled
            # Every other node has finished: the finally nodes waiting for nothing else go.
            self._gate = True
            for j in self._finals:
                if state[j] is _INIT and not remaining[j]:
                    if left[j]:
                        state[j] = _SKIPPED
                        self._open -= 1
                        settled.append((nodes[j], _SKIPPED))
                        todo.append(j)
                    else:
                        state[j] = _PENDING
                        queue.append(j)

    def _misuse(self, i: int, verb: str) -> str:
        s = self._state[i]
        if s.is_finished:
            return f"cannot {verb}: it has already finished ({s})"
        if s is _INIT:
            return f"cannot {verb}: it is not ready, its dependencies have not finished"
        if not self._handed[i]:
            return f"cannot {verb}: it is ready but was not handed out by ready() yet"
        return f"cannot {verb}: it is {s}"

    # -- reading ----------------------------------------------------------------------------

    @property
    def states(self) -> Mapping[N, TaskState]:
        """A live, read-only view: node -> ``TaskState``, in insertion order."""
        return _States(self._c, self._state)

    @property
    def is_finished(self) -> bool:
        """True when every node has reached a state it will not leave."""
        return self._open == 0

    def __repr__(self) -> str:
        return f"<Run: {len(self._state)} nodes, {self._open} unfinished>"


class _States(Mapping[N, TaskState]):
    __slots__ = ("_c", "_state")

    def __init__(self, compiled: Compiled[N], state: list[TaskState]) -> None:
        self._c = compiled
        self._state = state

    def __getitem__(self, node: N) -> TaskState:
        return self._state[self._c.index[node]]

    def __iter__(self) -> Iterator[N]:
        return iter(self._c.nodes)

    def __len__(self) -> int:
        return len(self._state)

    def __repr__(self) -> str:
        return repr(dict(zip(self._c.nodes, self._state, strict=True)))
