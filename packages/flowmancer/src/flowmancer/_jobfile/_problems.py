"""Problems found in job files, each at a file, line and column when known."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TypeVar

__all__ = [
    "JobFileError",
    "Mark",
    "Marks",
    "Problem",
    "Problems",
    "describe",
    "file_of",
    "file_order",
    "without_consequences",
]

T = TypeVar("T")


@dataclasses.dataclass(frozen=True, slots=True)  # several per task, kept through the run
class Mark:
    """Where something is in a file (line and column counted from 1; line 0: the whole file,
    such as one that cannot be read)."""

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}" if self.line else self.file


class Marks(Mapping[str, Mark]):
    """Where each key of a job is, by its place (``tasks.load.parameters.count`` -> file, line,
    column), found only when first asked for.

    A job's marks are needed for messages only, and noting one for every key while reading cost
    more time and memory than the job itself. Each file read adds a part: its marks as known,
    or a function that finds them (by reading the file's text once more); a later part wins
    where two give a place, as a file's own keys win over its includes'.
    """

    def __init__(
        self,
        known: Mapping[str, Mark] | None = None,
        file: str = "",
        find: Callable[[], Mapping[str, Mark]] | None = None,
    ) -> None:
        self._parts: list[Mapping[str, Mark] | Callable[[], Mapping[str, Mark]]] = []
        self._files: list[str] = []
        self._all: dict[str, Mark] | None = None
        # New place -> old place: a key given under 0.12's name (variant, depends_on).
        self._renamed: dict[str, str] = {}
        if known:
            self._parts.append(dict(known))
            self._files.append(file)
        if find is not None:
            self._parts.append(find)
            self._files.append(file)

    @property
    def file(self) -> str:
        """The job's own file: that of the last part (a file's includes come before it)."""
        return self._files[-1] if self._files else ""

    def add(self, other: Marks) -> None:
        """Take ``other``'s parts after this one's (where both give a place, ``other`` wins)."""
        self._parts.extend(other._parts)
        self._files.extend(other._files)
        self._renamed.update(other._renamed)
        self._all = None

    def rename(self, new: str, old: str) -> None:
        """Places under ``new`` (not marked themselves) are where the same places under ``old``
        are: the file gave the key under its old name."""
        self._renamed.setdefault(new, old)

    def _found(self) -> dict[str, Mark]:
        if self._all is None:
            found: dict[str, Mark] = {}
            for part in self._parts:
                found.update(part() if callable(part) else part)
            self._all = found
            self._parts = [found]
        return self._all

    def __getitem__(self, place: str) -> Mark:
        mark = self._found().get(place)
        if mark is not None:
            return mark
        if self._renamed:
            cut = len(place)
            while cut > 0:
                old = self._renamed.get(place[:cut])
                if old is not None:
                    return self[old + place[cut:]]
                cut = place.rfind(".", 0, cut)
        raise KeyError(place)

    def __iter__(self) -> Iterator[str]:
        return iter(self._found())

    def __len__(self) -> int:
        return len(self._found())

    def __bool__(self) -> bool:
        return bool(self._parts)


def file_of(marks: Mapping[str, Mark]) -> str:
    """The file ``marks`` are of (the including one, for a job with includes); "" when none."""
    if isinstance(marks, Marks):
        return marks.file
    return next(iter(marks.values())).file if marks else ""


@dataclasses.dataclass(frozen=True)
class Problem:
    """One thing wrong with a job file: where (``mark``), at which key (``place``), and what."""

    message: str
    place: str = ""
    mark: Mark | None = None

    def __str__(self) -> str:
        where = f"{self.mark}: " if self.mark else ""
        place = self.place
        if len(place) > 100:  # deep in a nested structure: its start and end say enough
            place = f"{place[:45]}...{place[-45:]}"
        return f"{where}{place}: {self.message}" if place else f"{where}{self.message}"


class JobFileError(ValueError):
    """A job file cannot be used; ``problems`` lists everything wrong with it, in file order."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__(describe(self.problems))

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.problems,))


def describe(problems: Sequence[object]) -> str:
    """Problems as the driver prints them (after ``flowmancer: error:``): one on its line, or
    how many, then each on a line of its own."""
    if len(problems) == 1:
        return str(problems[0])
    return f"{len(problems)} problems:\n" + "\n".join(f"  {p}" for p in problems)


def file_order(
    problem: object, unmarked: tuple[str, int, int] = ("", 0, 0)
) -> tuple[str, int, int]:
    """A sort key putting problems in the order of their files and lines (``unmarked`` for
    those without a place in a file)."""
    mark = problem.mark if isinstance(problem, Problem) else None
    return (mark.file, mark.line, mark.column) if mark else unmarked


def without_consequences(
    first: Sequence[Problem], later: Sequence[T], *, parents: bool = False
) -> list[T]:
    """``later`` without the problems found at a place ``first`` already reported: the same
    place, one inside it, or (with ``parents``) the one directly holding it. A value that could
    not be read is also "missing" or "of the wrong type" to every later check; its cause is
    said once."""
    reported = {p.place for p in first if p.place}
    # A whole section ("tasks") is not one value: a problem there hides nothing inside it.
    values = {r for r in reported if "." in r}
    held = {r.rpartition(".")[0] for r in values} if parents else set()

    def follows(problem: object) -> bool:
        place = problem.place if isinstance(problem, Problem) else ""
        if not place:
            return False
        inside = any(place.startswith(r + ".") for r in values)
        return place in reported or inside or place in held

    return [p for p in later if not follows(p)]


class Problems:
    """Collects problems while reading, placing each at the mark of its key when known."""

    def __init__(self, marks: Mapping[str, Mark] | None = None, file: str = "") -> None:
        self.items: list[Problem] = []
        self.marks: Mapping[str, Mark] = marks or {}
        self.file = file

    def add(self, place: str, message: str, mark: Mark | None = None) -> None:
        """Record a problem at ``place`` (its mark found from the nearest known key)."""
        self.items.append(Problem(message, place, mark or self.mark_of(place)))

    def mark_of(self, place: str) -> Mark | None:
        """The mark of ``place``, or of the nearest enclosing key that has one."""
        while place:
            mark = self.marks.get(place)
            if mark is not None:
                return mark
            place = place.rpartition(".")[0]
        return self.marks.get("") or (Mark(self.file, 1, 1) if self.file else None)

    def raise_if_any(self) -> None:
        """Raise ``JobFileError`` listing everything collected, in file order."""
        if self.items:
            raise JobFileError(sorted(self.items, key=file_order))
