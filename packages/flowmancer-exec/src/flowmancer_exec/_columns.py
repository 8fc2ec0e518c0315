"""The run's per-task columns (state, attempts by task position) and the copies snapshots hold.

The checkpoint store gets a snapshot of the run after every task finish, and a snapshot must not
change afterwards (a store may keep it). Copying whole columns for each made every save cost
O(tasks), a whole run O(tasks²). A column is kept in chunks of 64 positions instead: a snapshot
copies the list of chunks (tasks / 64 references) and marks them shared, and the run copies a
chunk before it first writes to it after a snapshot. Position-indexed lists rather than dicts
by name, because copying a dict writes every name's reference count, and right after a fork
every page written is a page copied.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Generic, TypeVar

__all__ = ["Column", "ColumnView"]

V = TypeVar("V")

_BITS = 6
_SIZE = 1 << _BITS
_MASK = _SIZE - 1


class Column(Generic[V]):
    """One value per task position, written by the run; ``view`` is a snapshot's copy."""

    __slots__ = ("_chunks", "_shared")

    def __init__(self, size: int, value: V) -> None:
        self._chunks = [[value] * min(_SIZE, size - start) for start in range(0, size, _SIZE)]
        self._shared = [False] * len(self._chunks)

    def __getitem__(self, position: int) -> V:
        return self._chunks[position >> _BITS][position & _MASK]

    def __setitem__(self, position: int, value: V) -> None:
        chunk = position >> _BITS
        if self._shared[chunk]:  # a snapshot holds this chunk: leave it as it was
            self._chunks[chunk] = self._chunks[chunk].copy()
            self._shared[chunk] = False
        self._chunks[chunk][position & _MASK] = value

    def view(self, index: Mapping[str, int]) -> ColumnView[V]:
        """The column as it is now, by task name (``index``: name -> position); later writes
        do not show in it."""
        self._shared = [True] * len(self._chunks)
        return ColumnView(index, self._chunks.copy())


class ColumnView(Mapping[str, V]):
    """Task name -> value, read-only: a column as it was when the snapshot was taken."""

    __slots__ = ("_chunks", "_index")

    def __init__(self, index: Mapping[str, int], chunks: list[list[V]]) -> None:
        self._index = index
        self._chunks = chunks

    def __getitem__(self, name: str) -> V:
        position = self._index[name]
        return self._chunks[position >> _BITS][position & _MASK]

    def get(self, name: str, default: Any = None) -> Any:
        # Mapping's own get goes through __getitem__ and an exception: stores call this for
        # every task that changed, at every save.
        position = self._index.get(name)
        return default if position is None else self._chunks[position >> _BITS][position & _MASK]

    def __iter__(self) -> Iterator[str]:
        return iter(self._index)

    def __len__(self) -> int:
        return len(self._index)

    def __contains__(self, name: object) -> bool:
        return name in self._index

    def __repr__(self) -> str:
        return repr(dict(self.items()))
