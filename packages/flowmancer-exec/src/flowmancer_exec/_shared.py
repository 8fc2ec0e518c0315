"""What tasks hand on: ``shared_dict`` and results, as the runner holds and merges them.

Each attempt starts from a copy of ``shared_dict`` and sends back the keys it changed; they are
merged here in finish order. Two tasks that are not ordered by dependencies can both read a key
and both write it back: the second write replaces the first one's value, which is then lost
(eight matrix tasks appending to one list leave one item). Every merge is numbered, and so is
the start of every attempt: a write to a key that another task wrote after this attempt started
is such a lost update. It is reported (a warning naming the key and both tasks, counted in the
run's result) or, with ``shared_dict_conflicts="error"``, fails the later writer instead,
without merging that key.

What ``run()`` returned is kept as the task's result; a task sees the results of the tasks it
depends on, directly or not (never those of tasks that merely finished earlier).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ._interface import AttemptResult
from ._records import SharedDictConflict

__all__ = ["CONFLICT_MODES", "SharedState", "refusal", "warning"]

CONFLICT_MODES = ("warn", "error")


class SharedState:
    """``shared_dict``, the tasks' results, and who wrote what when, for one run."""

    def __init__(
        self,
        shared: Mapping[str, Any] | None,
        results: Mapping[str, Any] | None,
        mode: str,
        depends_on: Callable[[str], Sequence[str]],
    ) -> None:
        self.values: dict[str, Any] = dict(shared or {})
        self.results: dict[str, Any] = dict(results or {})
        self.error = mode == "error"
        self.depends_on = depends_on
        self.seq = 0  # merges so far
        self.writes: dict[str, tuple[int, str]] = {}  # key -> (merge number, task) of its last
        self.writer: dict[str, str] = {}  # key -> task that wrote (or deleted) it last
        self.started: dict[str, int] = {}  # task -> merges done when its attempt started
        self.conflicts: list[SharedDictConflict] = []
        self.unrestorable: dict[str, str] = {}  # task -> what it produced that was lost

    def begin(self, name: str, first: bool) -> Mapping[str, Any]:
        """An attempt of ``name`` starts (the caller has set ``started[name] = seq``): the
        results it sees. Called only while there are results."""
        results = self.results
        if first:  # a task running again in a resumed run: its old result is gone
            results.pop(name, None)
        return self._upstream(name) if results else results

    def _upstream(self, name: str) -> dict[str, Any]:
        results = self.results
        found: dict[str, Any] = {}
        seen: set[str] = set()
        stack = list(self.depends_on(name))
        while stack and len(found) < len(results):
            node = stack.pop()
            if node in seen:
                continue
            seen.add(node)
            if node in results:
                found[node] = results[node]
            stack.extend(self.depends_on(node))
        return found

    def merge(self, name: str, result: AttemptResult) -> list[SharedDictConflict]:
        """Merge an attempt's writes (failed attempts' too) and keep a success's result.

        Returns the conflicts found; in ``error`` mode their keys were not merged and the
        attempt must fail.
        """
        clashes: list[SharedDictConflict] = []
        writes = self.writes
        if writes and (result.updates or result.deleted):
            started = self.started.get(name, 0)
            for key in (*result.updates, *result.deleted):
                last = writes.get(key)
                if last is not None and last[0] > started and last[1] != name:
                    clashes.append(SharedDictConflict(key, name, last[1], self.error))
            self.conflicts.extend(clashes)
        skip = {c.key for c in clashes} if self.error else ()
        self.seq += 1
        mark = (self.seq, name)
        for key, value in result.updates.items():
            if key not in skip:
                self.values[key] = value
                writes[key] = mark
                self.writer[key] = name
        for key in result.deleted:
            if key not in skip:
                self.values.pop(key, None)
                writes[key] = mark
                self.writer[key] = name
        if result.unsaved:
            self.unrestorable[name] = f"{' and '.join(result.unsaved)} could not leave its process"
        if result.ok and not (clashes and self.error) and result.value is not None:
            self.results[name] = result.value
        return clashes

    def changed_keys(self, result: AttemptResult, clashes: list[SharedDictConflict]) -> set[str]:
        """The keys ``merge`` changed."""
        keys = {*result.updates, *result.deleted}
        if clashes and self.error:
            keys -= {c.key for c in clashes}
        return keys


def warning(clash: SharedDictConflict) -> str:
    """What the later writer's log says of a lost update (``warn`` mode)."""
    return (
        f"{clash}: the two are not ordered by dependencies, so the value {clash.earlier} wrote "
        "is lost (give each task a key of its own, or set config.shared_dict_conflicts: error "
        "to fail the later writer instead)"
    )


def refusal(result: AttemptResult, clashes: list[SharedDictConflict]) -> AttemptResult:
    """The attempt's result in ``error`` mode: failed, its write would replace a value it
    never saw (retries apply: a retry starts from the new value)."""
    first = clashes[0]
    reason = (
        f"shared_dict conflict: {first.earlier} wrote {first.key!r} after this task had "
        "started, and this task's write would replace it (config.shared_dict_conflicts: error)"
    )
    return AttemptResult(False, reason, ("SharedDictConflict",), result.stopped)
