"""The job schema: what each section and key of a job file may hold, checked strictly.

Every problem is collected (unknown keys with the closest valid one, wrong types, bad values)
so the user sees them all at once. Defaults are those of Flowmancer 0.12.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping
from typing import Any

from ._problems import Marks, Problems

__all__ = [
    "CONFIG_KEYS",
    "TASK_KEYS",
    "Config",
    "JobDefinition",
    "PluginDefinition",
    "TaskDefinition",
    "check_job",
]

TRIGGER_RULES = ("all_success", "all_done", "one_failed", "finally")
EXECUTORS = ("process", "thread", "dask")
CONFLICT_MODES = ("warn", "error")


@dataclasses.dataclass(slots=True)  # one per task: a thousand of them weigh 0.5 MB less
class TaskDefinition:
    """One task entry of a job file (before ``matrix`` expansion)."""

    task: str
    dependencies: list[str] = dataclasses.field(default_factory=list)
    parameters: dict[str, Any] = dataclasses.field(default_factory=dict)
    max_attempts: int = 1
    backoff: float = 0.0
    backoff_factor: float = 1.0
    max_backoff: float | None = None
    jitter: bool = False
    retry_on: list[str] = dataclasses.field(default_factory=list)
    timeout: float | None = None
    trigger_rule: str = "all_success"
    pool: str | None = None
    matrix: dict[str, list[Any]] = dataclasses.field(default_factory=dict)

    @property
    def variant(self) -> str:
        """The class name, under 0.12's attribute name."""
        return self.task

    @property
    def depends_on(self) -> list[str]:
        """The dependencies, under 0.12's attribute name."""
        return self.dependencies


@dataclasses.dataclass
class PluginDefinition:
    """A logger, extension or checkpointer entry: which class, with which parameters."""

    variant: str
    parameters: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class DaskConfig:
    """``config.dask``: where the cluster is (none: a local one for the run), and how long to
    wait for it."""

    address: str | None = None
    n_workers: int | None = None
    connect_timeout: float = 10.0
    reconnect_timeout: float = 10.0


@dataclasses.dataclass
class Config:
    """The ``config`` section."""

    name: str = "flowmancer"
    max_concurrency: int = 0
    extension_directories: list[str] = dataclasses.field(default_factory=list)
    extension_packages: list[str] = dataclasses.field(default_factory=list)
    pools: dict[str, int] = dataclasses.field(default_factory=dict)
    executor: str = "process"
    dask: DaskConfig = dataclasses.field(default_factory=DaskConfig)
    record: bool = True
    report: bool = False
    finally_grace_period: float = 30.0
    shared_dict_conflicts: str = "warn"


@dataclasses.dataclass
class JobDefinition:
    """A whole job file, includes merged, variables substituted, every key checked."""

    version: float = 0.1
    config: Config = dataclasses.field(default_factory=Config)
    tasks: dict[str, TaskDefinition] = dataclasses.field(default_factory=dict)
    loggers: dict[str, PluginDefinition] = dataclasses.field(
        default_factory=lambda: {"file-logger": PluginDefinition("FileLogger")}
    )
    extensions: dict[str, PluginDefinition] = dataclasses.field(
        default_factory=lambda: {"progress-bar": PluginDefinition("RichProgressBar")}
    )
    checkpointer: PluginDefinition = dataclasses.field(
        default_factory=lambda: PluginDefinition("FileCheckpointer")
    )


# Accepted for compatibility with 0.12 job files; the polling they tuned no longer exists.
_IGNORED_CONFIG = (
    "synchro_interval_seconds",
    "loggers_interval_seconds",
    "extensions_interval_seconds",
    "checkpointer_interval_seconds",
)
CONFIG_KEYS = (
    "name",
    "max_concurrency",
    "extension_directories",
    "extension_packages",
    "pools",
    "executor",
    "dask",
    "record",
    "report",
    "finally_grace_period",
    "shared_dict_conflicts",
    *_IGNORED_CONFIG,
)
TASK_KEYS = tuple(f.name for f in dataclasses.fields(TaskDefinition))
# 0.12's own field names, which its schema accepted beside the names its documentation used
# (their aliases): variant (for task, logger, extension, checkpointer), depends_on.
OLD_TASK_KEYS = ("variant", "depends_on")
TOP_KEYS = (
    "version",
    "include",
    "aliases",
    "config",
    "tasks",
    "loggers",
    "extensions",
    "checkpointer",
)


class _Checker:
    def __init__(self, problems: Problems) -> None:
        self.problems = problems

    def keys(
        self,
        data: Mapping[str, Any],
        allowed: tuple[str, ...],
        place: str,
        old_names: tuple[str, ...] = (),
    ) -> set[str]:
        """Report unknown keys; returns the valid keys suggested in their place. ``old_names``
        (0.12's) are accepted too, but neither listed nor suggested."""
        suggested: set[str] = set()
        for key in data:
            if key not in allowed and key not in old_names:
                close = _close(str(key), allowed)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                suggested.update(close)
                where = f"{place}.{key}" if place else str(key)
                valid = ", ".join(allowed)
                self.problems.add(where, f"unknown key{hint}; valid keys here: {valid}")
        return suggested

    def renamed(
        self, data: dict[str, Any], key: str, old: str, place: str
    ) -> tuple[dict[str, Any], str]:
        """``data`` with 0.12's field name ``old`` given as ``key``, and the name the file used.

        Both given is a problem (at the old name; ``key`` is then used). Later messages about
        ``key`` point at the line where ``old`` is."""
        if old not in data:
            return data, key
        if key in data:
            self.problems.add(
                f"{place}.{old}", f"{old!r} and {key!r} are two names for one value; give one"
            )
            return {k: v for k, v in data.items() if k != old}, key
        marks = self.problems.marks
        if isinstance(marks, Marks):
            marks.rename(f"{place}.{key}", f"{place}.{old}")
        return {(key if k == old else k): v for k, v in data.items()}, old

    def mapping(self, value: Any, place: str) -> dict[str, Any] | None:
        if value is None:
            return {}
        if isinstance(value, dict):
            return value
        self.problems.add(place, f"expected a mapping of keys to values, got {_show(value)}")
        return None

    def string(self, value: Any, place: str, allow_none: bool = False) -> str | None:
        if isinstance(value, str) and value.strip():
            return value
        if value is None and allow_none:
            return None
        self.problems.add(place, f"expected a non-empty string, got {_show(value)}")
        return None

    def integer(self, value: Any, place: str, minimum: int) -> int | None:
        if isinstance(value, int) and not isinstance(value, bool) and value >= minimum:
            return value
        self.problems.add(place, f"expected a whole number >= {minimum}, got {_show(value)}")
        return None

    def number(self, value: Any, place: str, minimum: float, above: bool = False) -> float | None:
        if (
            isinstance(value, (int, float))
            and not isinstance(value, bool)
            and math.isfinite(value)
            and (value > minimum if above else value >= minimum)
        ):
            return float(value)
        which = ">" if above else ">="
        self.problems.add(place, f"expected a number {which} {minimum:g}, got {_show(value)}")
        return None

    def boolean(self, value: Any, place: str) -> bool | None:
        if isinstance(value, bool):
            return value
        self.problems.add(place, f"expected true or false, got {_show(value)}")
        return None

    def strings(self, value: Any, place: str) -> list[str] | None:
        if value is None:
            return []
        if isinstance(value, list) and all(isinstance(v, str) and v for v in value):
            return list(value)
        if isinstance(value, list):  # say which item is not a name
            bad = next(v for v in value if not (isinstance(v, str) and v))
            item = "empty" if bad is None or bad == "" else _show(bad)
            self.problems.add(place, f"expected a list of names, but one item is {item}")
            return None
        self.problems.add(place, f"expected a list of names, got {_show(value)}")
        return None

    def choice(self, value: Any, place: str, allowed: tuple[str, ...]) -> str | None:
        if value in allowed:
            return str(value)
        close = _close(str(value), allowed)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        self.problems.add(place, f"expected one of {', '.join(allowed)}, got {_show(value)}{hint}")
        return None


def _close(given: str, allowed: tuple[str, ...]) -> list[str]:
    """The valid name closest to ``given``, if one is close (difflib is imported only here, for
    a job that has a mistake)."""
    import difflib

    return difflib.get_close_matches(given, allowed, n=1, cutoff=0.6)


def _show(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list" if value else "an empty list"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def check_job(data: Any, problems: Problems) -> JobDefinition:
    """Check merged job data against the schema; every problem goes to ``problems``."""
    c = _Checker(problems)
    job = JobDefinition()
    if data is None:
        problems.add("", "the file is empty: a job file needs at least a tasks: section")
        return job
    top = c.mapping(data, "")
    if top is None:
        return job
    c.keys(top, TOP_KEYS, "")
    if "version" in top:
        version = c.number(top["version"], "version", 0)
        job.version = version if version is not None else job.version
    job.config = _config(c, top.get("config"))
    tasks = c.mapping(top.get("tasks"), "tasks")
    if tasks == {}:
        problems.add("tasks", "a job needs at least one task")
    for name, entry in (tasks or {}).items():
        if not str(name).strip():  # it names the task's log file, its checkpoint entry, ...
            mark = problems.mark_of(f"tasks.{name}")
            problems.add("tasks", "a task's name is empty (each task needs one)", mark)
            continue
        task = _task(c, entry, f"tasks.{name}")
        if task is not None:
            job.tasks[str(name)] = task
    if "loggers" in top:
        job.loggers = _plugins(c, top["loggers"], "loggers", "logger")
    if "extensions" in top:
        job.extensions = _plugins(c, top["extensions"], "extensions", "extension")
    if "checkpointer" in top:
        plugin = _plugin(c, top["checkpointer"], "checkpointer", "checkpointer")
        if plugin is not None:
            job.checkpointer = plugin
    return job


def _config(c: _Checker, value: Any) -> Config:
    config = Config()
    data = c.mapping(value, "config")
    if not data:
        return config
    c.keys(data, CONFIG_KEYS, "config")
    setters: dict[str, Callable[[Any, str], Any]] = {
        "name": c.string,
        "max_concurrency": lambda v, p: c.integer(v, p, 0),
        "extension_directories": c.strings,
        "extension_packages": c.strings,
        "executor": lambda v, p: c.choice(v, p, EXECUTORS),
        "record": c.boolean,
        "report": c.boolean,
        "finally_grace_period": lambda v, p: c.number(v, p, 0),
        "shared_dict_conflicts": lambda v, p: c.choice(v, p, CONFLICT_MODES),
    }
    for key, check in setters.items():
        if key in data:
            checked = check(data[key], f"config.{key}")
            if checked is not None:
                setattr(config, key, checked)
    for key in _IGNORED_CONFIG:
        if key in data:
            c.number(data[key], f"config.{key}", 0)
    pools = c.mapping(data.get("pools"), "config.pools") or {}
    for pool, size in pools.items():
        checked_size = c.integer(size, f"config.pools.{pool}", 1)
        # A bad size is said here; the pool still exists for the tasks that name it.
        config.pools[str(pool)] = checked_size if checked_size is not None else 1
    dask = c.mapping(data.get("dask"), "config.dask") or {}
    c.keys(dask, ("address", "n_workers", "connect_timeout", "reconnect_timeout"), "config.dask")
    if "address" in dask:
        config.dask.address = c.string(dask["address"], "config.dask.address", allow_none=True)
    if dask.get("n_workers") is not None:
        config.dask.n_workers = c.integer(dask["n_workers"], "config.dask.n_workers", 1)
    for key in ("connect_timeout", "reconnect_timeout"):
        if dask.get(key) is not None:
            seconds = c.number(dask[key], f"config.dask.{key}", 0, above=True)
            if seconds is not None:
                setattr(config.dask, key, float(seconds))
    return config


# The checks of a task's other keys, in the order their problems are said. Made once: a job
# may have a million tasks.
_TASK_CHECKS: tuple[tuple[str, Callable[[_Checker, Any, str], Any]], ...] = (
    ("max_attempts", lambda c, v, p: c.integer(v, p, 1)),
    ("backoff", lambda c, v, p: c.number(v, p, 0)),
    ("backoff_factor", lambda c, v, p: c.number(v, p, 1)),
    ("max_backoff", lambda c, v, p: None if v is None else c.number(v, p, 0)),
    ("jitter", lambda c, v, p: c.boolean(v, p)),
    ("retry_on", lambda c, v, p: c.strings(v, p)),
    ("timeout", lambda c, v, p: None if v is None else c.number(v, p, 0, above=True)),
    ("trigger_rule", lambda c, v, p: c.choice(v, p, TRIGGER_RULES)),
    ("pool", lambda c, v, p: c.string(v, p, allow_none=True)),
)


def _task(c: _Checker, value: Any, place: str) -> TaskDefinition | None:
    data = c.mapping(value, place)
    if data is None:
        return None
    suggested = c.keys(data, TASK_KEYS, place, OLD_TASK_KEYS)
    data, task_key = c.renamed(data, "task", "variant", place)
    data, deps_key = c.renamed(data, "dependencies", "depends_on", place)
    if "task" in data:
        variant = c.string(data["task"], f"{place}.{task_key}")
    else:
        variant = None
        if "task" not in suggested:  # else the misspelt key's message says it already
            c.problems.add(f"{place}.task", "missing: the name of the @task class to run")
    deps = c.strings(data.get("dependencies"), f"{place}.{deps_key}")
    params = c.mapping(data.get("parameters"), f"{place}.parameters")
    task = TaskDefinition(
        variant or "",
        deps if deps is not None else [],
        {str(k): v for k, v in params.items()} if params else {},
    )
    for key, check in _TASK_CHECKS:
        if key in data:
            checked = check(c, data[key], f"{place}.{key}")
            if checked is not None:
                setattr(task, key, checked)
    matrix = c.mapping(data.get("matrix"), f"{place}.matrix") or {}
    for key, values in matrix.items():
        where = f"{place}.matrix.{key}"
        if isinstance(values, str):
            if "" in axis_values(values):
                c.problems.add(where, f"an empty value between commas in {values!r}")
                continue
            values = axis_values(values)
        elif isinstance(values, (int, float)) and not isinstance(values, bool):
            values = [values]  # one value (a variable given a single number)
        if not isinstance(values, list) or not values:
            c.problems.add(
                where,
                "expected a non-empty list of values (or text with values separated by "
                f"commas), got {_show(values)}",
            )
        elif any(isinstance(v, (dict, list)) for v in values):
            # Each value names a task (load[eu]): it must be one plain value.
            bad = next(v for v in values if isinstance(v, (dict, list)))
            c.problems.add(
                where, f"expected plain values (text, numbers, true/false), got {_show(bad)}"
            )
        elif key in task.parameters:
            c.problems.add(where, "is also given in parameters; give it in one place")
        else:
            task.matrix[str(key)] = values
    return task if variant else None


def axis_values(text: str) -> list[str]:
    """A matrix axis given as text — ``matrix: {part: $VAR{parts}}`` with ``--var
    parts=00,01,02`` — is a comma-separated list: each value is the text between commas,
    spaces around it removed, kept as text (``00`` stays ``00``). No values: an empty list."""
    values = [value.strip() for value in text.split(",")]
    return [] if values == [""] else values  # "": no values (an empty value is said apart)


def _plugins(c: _Checker, value: Any, place: str, kind: str) -> dict[str, PluginDefinition]:
    out: dict[str, PluginDefinition] = {}
    for name, entry in (c.mapping(value, place) or {}).items():
        plugin = _plugin(c, entry, f"{place}.{name}", kind)
        if plugin is not None:
            out[str(name)] = plugin
    return out


def _plugin(c: _Checker, value: Any, place: str, kind: str) -> PluginDefinition | None:
    if isinstance(value, str):  # `checkpointer: SQLiteCheckpointer`, as DESIGN.md shows it
        value = {kind: value}
    data = c.mapping(value, place)
    if data is None:
        return None
    suggested = c.keys(data, (kind, "parameters"), place, ("variant",))
    data, kind_key = c.renamed(data, kind, "variant", place)
    if kind not in data:
        if kind not in suggested:  # else the misspelt key's message says it already
            c.problems.add(f"{place}.{kind}", f"missing: the name of the {kind} class")
        return None
    variant = c.string(data[kind], f"{place}.{kind_key}")
    params = c.mapping(data.get("parameters"), f"{place}.parameters") or {}
    return PluginDefinition(variant, {str(k): v for k, v in params.items()}) if variant else None
