"""exec's problems put where the user wrote them: the file, line and column of their key in the
job file, a matrix member's at the matrix key that gave the value.

Below both ``_driver`` (which reads the job file) and ``_run`` (which builds the runner from it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ._jobfile._problems import Mark, Problem, Problems

__all__ = ["matrix_place", "place_problems"]


def place_problems(problems: Sequence[Any], marks: Mapping[str, Mark], file: str) -> list[Problem]:
    """exec's problems (place + message) placed at the file, line and column of their key."""
    placed = Problems(marks, file)
    seen: set[tuple[str, str]] = set()
    for problem in problems:
        place = matrix_place(problem.place, marks)
        if (place, problem.message) not in seen:  # said once for all members of a matrix
            seen.add((place, problem.message))
            placed.add(place, problem.message)
    return placed.items


def matrix_place(place: str, marks: Mapping[str, Mark]) -> str:
    """A matrix member's place (``tasks.load[eu].parameters.region``) as the user wrote it:
    the matrix key for a parameter the matrix gives, else the task's own entry."""
    head, bracket, rest = place.partition("[")
    if not bracket and place.startswith("tasks.") and ".parameters." in place:
        # A matrix task left unexpanded (an axis was refused): a parameter its matrix gives is
        # missing only because of that, said at the matrix key already.
        task, _, tail = place.partition(".parameters.")
        key = tail.split(".", 1)[0]
        return f"{task}.matrix.{key}" if f"{task}.matrix.{key}" in marks else place
    if not bracket or not head.startswith("tasks.") or "]" not in rest:
        return place
    tail = rest.split("]", 1)[1]
    if tail.startswith(".parameters."):
        key = tail[len(".parameters.") :].split(".", 1)[0]
        if f"{head}.matrix.{key}" in marks:
            return f"{head}.matrix.{key}"
    return head + tail
