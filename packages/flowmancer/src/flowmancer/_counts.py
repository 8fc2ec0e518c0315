"""How the driver counts tasks by state, in words: one order and one wording for the progress
line and the final summary line, so that the two always read the same."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

__all__ = ["ORDER", "by_state", "counted", "names", "plural"]

#: The order states are said in: how the run ended first, what had not ended last.
ORDER = ("COMPLETED", "FAILED", "DEFAULTED", "SKIPPED", "ABORTED", "RUNNING", "PENDING", "INIT")


def plural(count: int, word: str) -> str:
    """``1 task``, ``2 tasks``."""
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def by_state(states: Iterable[object]) -> dict[str, int]:
    """How many of ``states`` (``TaskState`` members or their names) are in each, in ``ORDER``;
    only those with at least one."""
    counts: dict[str, int] = {}
    for state in states:
        name = str(getattr(state, "value", state))
        counts[name] = counts.get(name, 0) + 1
    ordered = {s: counts.pop(s) for s in ORDER if s in counts}
    return {**ordered, **counts}


def counted(states: Iterable[object]) -> str:
    """``2 completed, 1 failed, 1 defaulted``: the count of each state there is."""
    return ", ".join(f"{n} {s.lower()}" for s, n in by_state(states).items())


def names(shown: Sequence[str], most: int = 8) -> str:
    """``a, b, c``; past ``most``, the first ones and how many more."""
    if len(shown) <= most:
        return ", ".join(shown)
    return f"{', '.join(shown[:most])} and {len(shown) - most} more"
