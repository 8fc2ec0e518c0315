"""Job files made by hypothesis — a valid skeleton with keys, values and types mutated, now and
then its text broken — go through the driver's own loading, checking and (when valid) run:
never a traceback or an escaping exception; a refused job exits 99 naming its file; a valid one
exits 0 or with the number of tasks that did not complete.

For speed the driver runs in this process, through the function ``main.py``'s
``Flowmancer().start()`` hands the parsed command line to (``_start_parsed``); tasks run in
threads. Default: 200 examples, derandomized (the same ones on every run); ``--soak``: 3000.
A second fuzzer draws job files of sizes around the file-size bound and with anchors and
aliases expanding to either side of the alias bound (both bounds made small for it).
"""

from __future__ import annotations

import contextlib
import copy
import io
import shutil
import sys
import traceback
from pathlib import Path
from typing import Any, Literal

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flowmancer import Task, task
from flowmancer._args import parse_args
from flowmancer._driver import CANNOT_START, Flowmancer

settings.register_profile(
    "input-fuzz",
    max_examples=200,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "input-fuzz-soak",
    parent=settings.get_profile("input-fuzz"),
    max_examples=3000,
    derandomize=False,
)


@task
class FuzzTouch(Task):
    """Does nothing, successfully."""

    label: str = ""

    def run(self) -> None:
        pass


@task
class FuzzTyped(Task):
    """Takes typed parameters, so that mutated values meet the parameter checks."""

    count: int
    mode: Literal["append", "replace"] = "append"

    def run(self) -> None:
        pass


SKELETON: dict[str, Any] = {
    "version": 0.1,
    "config": {"name": "fuzz", "max_concurrency": 2, "pools": {"db": 1}},
    "tasks": {
        "a": {"task": "FuzzTouch", "parameters": {"label": "x"}},
        "b": {
            "task": "FuzzTyped",
            "dependencies": ["a"],
            "parameters": {"count": 2},
            "pool": "db",
            "max_attempts": 2,
            "trigger_rule": "all_done",
        },
        "c": {"task": "FuzzTouch", "dependencies": ["a", "b"], "matrix": {"label": ["p", "q"]}},
    },
    "loggers": {"file": {"logger": "FileLogger", "parameters": {"base_log_dir": "./logs"}}},
    "extensions": {},
    "checkpointer": {"checkpointer": "FileCheckpointer"},
}
KEYS = sorted(
    {
        *("version", "include", "aliases", "config", "tasks", "loggers", "extensions"),
        *("checkpointer", "name", "max_concurrency", "pools", "executor", "dask", "task"),
        *("dependencies", "parameters", "max_attempts", "backoff", "backoff_factor", "timeout"),
        *("jitter", "retry_on", "trigger_rule", "pool", "matrix", "logger", "extension"),
        *("label", "count", "mode", "a", "b", "c", "db", "extension_directories"),
    }
)
WORDS = [
    *("FuzzTouch", "FuzzTyped", "FuzzTuch", "a", "b", "c", "zz", "db", "all_done", "one_failed"),
    *("append", "upsert", "thread", "dask", "FileLogger", "RichProgressBar", "SQLiteCheckpointer"),
    *("$VAR{x}", "$VAR{x:3}", "$ENV{FUZZ_UNSET}", "$SYS{APP_ROOT_DIR}", "$VAR{", "$var{x}", ""),
    *("${x}", "2026-02-30", "yes", "0x10", "1e400", "~", "a: b", "- x", "[", "*a"),
]
# Text from a small alphabet: never the name of a real module (config.extension_packages
# imports what it names) nor a path outside the project.
TEXT = st.text(alphabet="xyzXYZ_- :{}[]$.", max_size=8)
SCALARS = st.one_of(
    st.sampled_from(WORDS),
    TEXT,
    st.integers(-3, 3),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.none(),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(KEYS) | TEXT | st.integers(0, 3), inner, max_size=3)
    ),
    max_leaves=8,
)
BREAKS = ["\t", ":", "[", "{", '"', "'", "&a ", "*a", "\n  ", "- ", "#", "$VAR{", "\x00", "\n"]


def _containers(node: Any) -> list[Any]:
    found = [node] if isinstance(node, (dict, list)) else []
    children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else []
    for child in children:
        found.extend(_containers(child))
    return found


def _near_miss(key: str, cut: int) -> str:
    # A misspelling: one character dropped (unknown key, with a did-you-mean).
    return key[: cut % max(len(key), 1)] + key[cut % max(len(key), 1) + 1 :] or "_"


@st.composite
def job_files(draw: st.DrawFn) -> str:
    """A job file's text: the skeleton, mutated a few times, sometimes with its text broken."""
    doc = copy.deepcopy(SKELETON)
    for _ in range(draw(st.integers(0, 4))):
        target = draw(st.sampled_from(_containers(doc)))
        op = draw(st.sampled_from(["set", "set", "delete", "rename"]))
        if isinstance(target, dict):
            existing = list(target)
            key = draw(st.sampled_from(existing)) if existing and op != "set" else None
            if key is None:
                key = draw(st.sampled_from(existing) | st.sampled_from(KEYS)) if existing else "x"
                target[key] = draw(VALUES)
            elif op == "delete":
                del target[key]
            else:
                target[_near_miss(str(key), draw(st.integers(0, 20)))] = target.pop(key)
        elif target:
            index = draw(st.integers(0, len(target) - 1))
            if op == "delete":
                del target[index]
            else:
                target[index] = draw(VALUES)
        else:
            target.append(draw(VALUES))
    text = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)
    if draw(st.integers(0, 7)) == 0:
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.sampled_from(BREAKS)) + text[at:]
    return text


NAMES = st.sampled_from(["a", "b", "c", "c[p]", "zz", "b[x]"])
FLAGS = st.lists(
    st.one_of(
        st.tuples(st.sampled_from(["--skip", "--run-from", "--run-to"]), NAMES),
        st.tuples(st.just("--var"), st.sampled_from(["x=1", "x=", "x=$VAR{y}", "count=7"])),
        st.tuples(st.just("--max-concurrency"), st.sampled_from(["0", "1", "3"])),
        st.sampled_from([("--dry-run",), ("-r",), ("-r", "--fresh"), ("-r", "--dry-run")]),
    ),
    max_size=3,
).map(lambda groups: [arg for group in groups for arg in group])


def run_in_process(
    project: Path, text: str, flags: list[str] | tuple[()] = ()
) -> tuple[int, str, str | None]:
    """The driver on ``text`` as ``python main.py -j job.yaml --executor thread [flags]`` would
    run it: (exit status, what it wrote, the traceback of an exception that escaped it)."""
    project.mkdir()
    job = project / "job.yaml"
    job.write_text(text, encoding="utf-8", errors="surrogateescape")
    output = io.StringIO()
    status: Any = None
    escaped = None
    path = list(sys.path)  # discovery puts each project's folder on it; 3000 would slow imports
    with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
        try:
            args = parse_args(["-j", str(job), "--executor", "thread", *flags])
            status = Flowmancer()._start_parsed(args, project, project)
        except SystemExit as exit:
            status = exit.code
        except BaseException:  # anything at all escaping the driver is the bug we look for
            escaped = traceback.format_exc()
        finally:
            sys.path[:] = path
    return status, output.getvalue(), escaped


def test_job_files_made_by_hypothesis_never_crash_the_driver(tmp_path: Path, soak: bool) -> None:
    count = iter(range(10**9))

    @settings(settings.get_profile("input-fuzz-soak" if soak else "input-fuzz"))
    @given(job_files(), FLAGS)
    def check(text: str, flags: list[str]) -> None:
        project = tmp_path / str(next(count))
        try:
            status, said, escaped = run_in_process(project, text, flags)
        finally:
            shutil.rmtree(project, ignore_errors=True)
        assert escaped is None, f"an exception escaped the driver:\n{escaped}"
        assert "Traceback" not in said, said
        assert isinstance(status, int), f"exit status {status!r}"
        once = [f for f in flags if f in ("--run-from", "--run-to", "--max-concurrency")]
        if len(once) != len(set(once)):  # a flag that takes one value, given twice
            assert status == 2 and "given twice" in said, said
            return
        if status == 2:  # a usage error: --skip, --run-from or --run-to naming no task there
            selecting = [f for f in flags if f in ("--skip", "--run-from", "--run-to")]
            assert any(f"{f}" in said for f in selecting), f"not said at a flag:\n{said}"
            return
        if status == CANNOT_START:
            # Each problem is at its place: in the file, or at a flag.
            named = [f"{project}/job.yaml", *(f for f in flags if f.startswith("--"))]
            assert any(n in said for n in named), f"the message names no place:\n{said}"
        else:
            assert status != 2, said  # the command line is ours and fine
            assert 0 <= status <= 255, said
            if "--dry-run" in flags:
                assert status == 0 and "dry run: nothing is run" in said, said
            else:
                assert (status == 0) == ("succeeded" in said), said

    check()


def test_the_skeleton_itself_runs_cleanly(tmp_path: Path) -> None:
    text = yaml.safe_dump(SKELETON, sort_keys=False)
    status, said, escaped = run_in_process(tmp_path / "job", text)
    assert (status, escaped) == (0, None), said


# Sizes and aliases: the bounds are made small here (the same code paths, far fewer bytes), so
# that hypothesis reaches either side of each in every example.
SMALL_FILE = 16 * 1024
SMALL_ALIAS_TEXT = 64 * 1024


@st.composite
def sized_job_files(draw: st.DrawFn) -> tuple[str, int, int]:
    """A valid job file with anchors and aliases of drawn sizes and counts, padded to a drawn
    size around the file bound: (text, its size in bytes, the text its aliases add)."""
    scalar = "x" * draw(st.integers(0, 4096))
    fan = draw(st.integers(1, 12))
    depth = draw(st.integers(0, 4))
    uses = draw(st.integers(0, 40))
    lines = ["version: 0.1", "aliases:", f"  s0: &s0 {scalar or 'e'}"]
    added = 0
    size = max(len(scalar), 1)  # the text one reference to the innermost anchor adds
    for level in range(1, depth + 1):
        lines.append(f"  s{level}: &s{level} [" + ", ".join([f"*s{level - 1}"] * fan) + "]")
        added += fan * size
        size *= fan
    # Each use of the outermost anchor adds what it holds once more.
    lines.append(f"  uses: [{', '.join([f'*s{depth}'] * uses)}]")
    added += uses * size
    lines += [
        "config: {name: fuzz, max_concurrency: 2}",
        "tasks:",
        "  a: {task: FuzzTouch, parameters: {label: x}}",
        "  b: {task: FuzzTyped, dependencies: [a], parameters: {count: 2}}",
    ]
    text = "\n".join(lines) + "\n"
    target = draw(
        st.sampled_from([0, SMALL_FILE - 1, SMALL_FILE, SMALL_FILE + 1])
        | st.integers(0, 2 * SMALL_FILE)
    )
    if target > len(text.encode()) + 2:
        text += "#" + "p" * (target - len(text.encode()) - 2) + "\n"
    return text, len(text.encode()), added


def test_job_file_sizes_and_aliases_made_by_hypothesis_are_bounded_and_said(
    tmp_path: Path, soak: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flowmancer._jobfile import _read, _yaml

    monkeypatch.setattr(_read, "MAX_JOB_FILE_BYTES", SMALL_FILE)
    monkeypatch.setattr(_yaml, "_ALIAS_TEXT", SMALL_ALIAS_TEXT)
    count = iter(range(10**9))

    @settings(settings.get_profile("input-fuzz-soak" if soak else "input-fuzz"))
    @given(sized_job_files())
    def check(made: tuple[str, int, int]) -> None:
        text, size, added = made
        project = tmp_path / str(next(count))
        try:
            status, said, escaped = run_in_process(project, text, ["--dry-run"])
        finally:
            shutil.rmtree(project, ignore_errors=True)
        assert escaped is None, f"an exception escaped the driver:\n{escaped}"
        assert "Traceback" not in said, said
        too_big = size > SMALL_FILE
        too_much = not too_big and added > SMALL_ALIAS_TEXT
        if too_big:
            assert status == CANNOT_START and "more than a job file may be" in said, said
        elif too_much:
            assert status == CANNOT_START and "past the limit for aliases" in said, said
        else:
            assert status == 0 and "dry run: nothing is run" in said, said
        if status == CANNOT_START:
            assert f"{project}/job.yaml" in said, said

    check()
