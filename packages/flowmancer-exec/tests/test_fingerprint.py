"""Fingerprints: the same definition gives the same digest anywhere; a real change changes it."""

from __future__ import annotations

import dataclasses
import datetime
import enum
import os
import subprocess
import sys
from pathlib import Path

from flowmancer_exec import TaskSpec, fingerprint, prepare


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


@dataclasses.dataclass
class Window:
    start: datetime.date
    days: int = 1


def test_equal_definitions_give_equal_fingerprints_whatever_the_order_of_keys() -> None:
    a = fingerprint("Load", {"x": 1, "y": {"b": [1, 2], "a": {3, 1, 2}}})
    b = fingerprint("Load", {"y": {"a": {2, 3, 1}, "b": [1, 2]}, "x": 1})
    assert a == b and len(a) == 16


def test_any_change_of_class_or_value_changes_the_fingerprint() -> None:
    base = {"n": 1, "color": Color.RED, "window": Window(datetime.date(2026, 1, 1)), "p": Path("a")}
    variants = [
        ("Other", base),
        ("Load", {**base, "n": 2}),
        ("Load", {**base, "n": 1.5}),
        ("Load", {**base, "color": Color.BLUE}),
        ("Load", {**base, "window": Window(datetime.date(2026, 1, 2))}),
        ("Load", {**base, "window": Window(datetime.date(2026, 1, 1), 2)}),
        ("Load", {**base, "p": Path("b")}),
        ("Load", {**base, "extra": None}),
        ("Load", {**base, "n": "1"}),
        ("Load", {**base, "n": True}),
    ]
    digests = {fingerprint(name, values) for name, values in variants}
    assert fingerprint("Load", base) not in digests
    assert len(digests) == len(variants)


def test_fingerprints_do_not_depend_on_the_hash_seed() -> None:
    code = (
        "from flowmancer_exec import fingerprint\n"
        "print(fingerprint('T', {'s': {'a', 'b', 'c', 'd'}, 'm': {'x': 1, 'y': frozenset('pq')}}))"
    )
    seen = {
        subprocess.run(
            [sys.executable, "-c", code],
            env={**os.environ, "PYTHONHASHSEED": str(seed)},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in (0, 1, 2, 3)
    }
    assert len(seen) == 1


def test_a_prepared_job_fingerprints_converted_parameters_with_defaults() -> None:
    from exec_tasks import Sleep

    job = prepare([TaskSpec("a", Sleep, {"seconds": 1}), TaskSpec("b", Sleep, {"seconds": 1.0})])
    # 1 and 1.0 convert to the same float: the same definition.
    assert job.fingerprints["a"] == job.fingerprints["b"]
    assert job.fingerprints["a"] == fingerprint(Sleep, job.parameters["a"])


def test_an_edit_of_the_class_code_changes_the_fingerprint(tmp_path: Path) -> None:
    from flowmancer_exec import code_digest

    source = (
        "from flowmancer_exec import Task\n"
        "class Base(Task):\n"
        "    def run(self):\n"
        "        return {value}\n"
        "class Load(Base):\n"
        "    n: int = 1\n"
    )
    code = (
        "import sys; sys.path.insert(0, {folder!r})\n"
        "from flowmancer_exec import fingerprint\n"
        "from loadmod import Load\n"
        "print(fingerprint(Load, {{'n': 1}}))"
    )

    def digest(value: int) -> str:
        (tmp_path / "loadmod.py").write_text(source.format(value=value))
        return subprocess.run(
            [sys.executable, "-c", code.format(folder=str(tmp_path))],
            capture_output=True,
            text=True,
            check=True,
        ).stdout

    # The inherited run() is part of Load's code: editing the base class changes it too.
    assert digest(1) == digest(1) != digest(2)
    made = type("Made", (Window,), {"run": lambda self: None})  # no source file to read
    assert code_digest(made) == code_digest(made)
