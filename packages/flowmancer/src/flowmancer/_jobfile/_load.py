"""Reading a job file whole: includes merged, variables substituted, schema checked, matrix
tasks expanded."""

from __future__ import annotations

import copy
import itertools
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .._collector import collector_paused
from ._problems import Mark, Marks, Problem, Problems, without_consequences
from ._read import why_not_a_job_file
from ._schema import JobDefinition, TaskDefinition, check_job
from ._yaml import Variables
from ._yamlfile import load_yaml

__all__ = ["expand_matrix", "read_job"]


@collector_paused()
def read_job(
    path: str | os.PathLike[str],
    *,
    app_root: str | os.PathLike[str],
    variables: Mapping[str, str] | None = None,
    environ: Mapping[str, str] | None = None,
    found: list[Problem] | None = None,
) -> tuple[JobDefinition, Marks]:
    """Read and check a job file.

    Args:
        path: the job file.
        app_root: the driver's folder: ``include`` paths are relative to it, and it is
            ``$SYS{APP_ROOT_DIR}``.
        variables: values for ``$VAR{name}`` (``--var name=value``).
        environ: values for ``$ENV{name}`` (the process environment when not given).
        found: when given, problems with the job's content are added here instead of raised,
            and the job holds what could be read (a task without a valid class is left out,
            and so are dependencies on it), so later checks can report alongside them. A file
            that cannot be read at all is still raised.

    Returns:
        The job and the mark (file, line, column) of each key's place, for later messages.

    Raises:
        JobFileError: every problem found, each with its file, line and column.
    """
    root = Path(app_root).absolute()
    values = Variables(
        var=variables or {},
        env=os.environ if environ is None else environ,
        sys={"APP_ROOT_DIR": str(root)},
    )
    first = Path(path).absolute()
    problems = Problems(file=str(first))
    merged, marks = _read_with_includes(first, root, values, problems, ())
    if merged is None and problems.items:
        problems.raise_if_any()  # unreadable: checking the schema of nothing would only add noise
    if isinstance(merged, dict):
        merged.pop("aliases", None)  # free-form: a place to define YAML anchors
        merged.pop("include", None)
    problems.marks = marks
    read = list(problems.items)
    job = check_job(merged, problems)
    expanded = expand_matrix(job, problems)
    checked = problems.items[len(read) :]
    problems.items = [*read, *without_consequences(read, checked, parents=True)]
    if found is None:
        problems.raise_if_any()
    else:
        found.extend(problems.items)
        raw = merged.get("tasks") if isinstance(merged, dict) else None
        dropped = set(raw) - set(job.tasks) if isinstance(raw, dict) else set()
        for task in expanded.values():
            task.dependencies = [d for d in task.dependencies if d not in dropped]
    job.tasks = expanded
    return job, marks


def _read_with_includes(
    path: Path, root: Path, values: Variables, problems: Problems, chain: tuple[Path, ...]
) -> tuple[Any, Marks]:
    data, marks = load_yaml(path, values, problems)
    if not isinstance(data, dict):
        return data, marks
    includes = data.get("include")
    if includes is None:
        return data, marks
    if not isinstance(includes, list) or not all(isinstance(i, str) for i in includes):
        got = "a mapping" if isinstance(includes, dict) else repr(includes)
        problems.add(
            "include", f"expected a list of job file paths, got {got}", marks.get("include")
        )
        return data, marks
    merged: dict[str, Any] = {}
    merged_marks = Marks()
    for number, name in enumerate(includes):
        target = Path(name) if os.path.isabs(name) else root / name
        target = Path(os.path.normpath(target))
        mark = _IncludeMark(marks, number)
        if target in (*chain, path):
            loop = " -> ".join(str(p) for p in (*chain, path, target))
            problems.add("include", f"loops back to a file being read: {loop}", mark())
            continue
        try:
            why = why_not_a_job_file(target.stat())
        except OSError:
            why = "not found"
        if why is not None:
            problems.add("include", f"included file {why}: {target}", mark())
            continue
        included, included_marks = _read_with_includes(
            target, root, values, problems, (*chain, path)
        )
        if included is None:
            continue
        if not isinstance(included, dict):
            problems.add("include", f"{target} does not hold a mapping of sections", mark())
            continue
        _merge(merged, included)
        merged_marks.add(included_marks)
    # The including file comes last: what it says wins over its includes.
    _merge(merged, data)
    merged_marks.add(marks)
    return merged, merged_marks


class _IncludeMark:
    """The mark of an include entry, found only when a problem with it is said."""

    def __init__(self, marks: Marks, number: int) -> None:
        self.marks, self.number = marks, number

    def __call__(self) -> Mark | None:
        return self.marks.get(f"include.{self.number}")


def _merge(into: dict[str, Any], other: Mapping[str, Any]) -> None:
    """Mappings merge key by key; anything else (lists too) is replaced.

    ``other``'s values are taken, not copied: each file read is data of its own (a file
    included twice is read twice, and what an alias repeats is a copy, see _yaml), and it is
    not used again once merged. Copying them made a job of a million tasks in four included
    files take half as long again to read.
    """
    for key, value in other.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = value


def expand_matrix(job: JobDefinition, problems: Problems) -> dict[str, TaskDefinition]:
    """Tasks with a ``matrix`` become one task per combination of its values.

    ``load`` with ``matrix: {region: [eu, us]}`` becomes ``load[eu]`` and ``load[us]`` (several
    keys: ``load[eu,2026]``), each with its values among its parameters; a dependency on
    ``load`` means all of them.
    """
    if not any(task.matrix for task in job.tasks.values()):
        return dict(job.tasks)  # nothing to expand: each dependency names one task
    groups: dict[str, list[str]] = {}
    out: dict[str, TaskDefinition] = {}
    for name, task in job.tasks.items():
        if not task.matrix:
            groups[name] = [name]
            continue
        keys = list(task.matrix)
        members = []
        for combination in itertools.product(*(task.matrix[k] for k in keys)):
            member = f"{name}[{','.join(_label(v) for v in combination)}]"
            if member in job.tasks or member in out:
                whose = "another task's name" if member in job.tasks else "given twice"
                problems.add(f"tasks.{name}.matrix", f"expands to {member!r}, {whose}")
                continue
            clone = copy.deepcopy(task)
            clone.matrix = {}
            clone.parameters = {**task.parameters, **dict(zip(keys, combination, strict=True))}
            out[member] = clone
            members.append(member)
        groups[name] = members
    for task in [*out.values(), *(t for t in job.tasks.values() if not t.matrix)]:
        task.dependencies = [m for dep in task.dependencies for m in groups.get(dep, [dep])]
    ordered: dict[str, TaskDefinition] = {}
    for name, task in job.tasks.items():  # keep the file's order, members in place of their task
        if task.matrix:
            for member in groups[name]:
                ordered[member] = out[member]
        else:
            ordered[name] = task
    return ordered


def _label(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    return str(value)
