"""Task parameters convert as Flowmancer 0.12 converted them: by pydantic v2's lax mode.

Every expected value here is written from pydantic's documentation, not by running pydantic
(which this test run does not have): the "Conversion Table" (docs/concepts/conversion_table: its
rows and their valid and invalid examples), "Standard Library Types" (datetime formats, Unix
time in seconds or milliseconds beyond 2e10, timedelta formats, booleans, enums, UUID), the
smart mode of "Unions", the validation errors page (date_from_datetime_inexact, literal_error,
dict_type) and speedate's README (the datetime and duration formats pydantic parses with) —
and from the rows of issue 25's table (what 0.12.4 did with each). A comment on each case says
which.

The cases a job file can hold run end to end, as a user runs them: one project whose task
classes each take one parameter ``x`` and write what they got, one job file giving each its
value as YAML does (``$VAR{}``/``$ENV{}`` included), ``python main.py``; the refused ones in a
second job file, which must be refused as a whole with each problem at its file, line and
column. Values a job file cannot hold (Decimal, bytes, sets, ...) are checked in process.
"""

from __future__ import annotations

import collections
import datetime as dt
import decimal
import enum
import json
import os
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path
from typing import Any, Literal, NamedTuple

import pytest
from typing_extensions import TypedDict

from flowmancer_exec import (
    ParameterError,
    ProcessExecutor,
    Runner,
    Task,
    TaskSpec,
    ThreadExecutor,
    validate_parameters,
)

UTC = dt.timezone.utc

# The tasks module of the project: each case's class is `C_<case>` with one parameter `x`.
HEADER = """\
import collections
import datetime
import decimal
import enum
import json
import os
import uuid
from pathlib import Path
from typing import Any, Deque, Dict, FrozenSet, List, Literal, Optional, Sequence, Set, Tuple, Union

from typing_extensions import TypedDict

from flowmancer.task import Task, task


class Num(enum.IntEnum):
    ONE = 1
    TWO = 2


class Fruit(str, enum.Enum):
    PEAR = "pear"
    BANANA = "banana"


class Colour(enum.Enum):
    RED = "red"
    GREEN = 2


class Target(TypedDict):
    a: int


class Got(Task):
    def run(self) -> None:
        Path("out", self.metadata.name).write_text(
            json.dumps([type(self.x).__name__, repr(self.x)])
        )
"""


class Case(NamedTuple):
    name: str
    annotation: str  # as written in the tasks module
    yaml: str | None  # the value as written in job.yaml; None: not given
    expected: Any  # what the task gets; REFUSED: the job is refused


REFUSED: Any = object()

# -- accepted: (name, annotation, YAML, expected) -------------------------------------------
ACCEPTED = [
    # Issue 25's table, first row: defaults are not validated (pydantic validates no default).
    Case("int_default_none", "int = None", None, None),
    Case("str_default_none", "str = None", None, None),
    Case("list_default_none", "List[int] = None", None, None),
    Case("date_default_none", "datetime.date = None", None, None),
    # int. Table: int <- int; float "must be exact int" (valid 2.0); bool (valid True, False);
    # str "must be numeric only" (valid '123'). Issue 25: "1.0" -> 1 (what 0.12.4 did).
    Case("int_from_int", "int", "7", 7),
    Case("int_from_whole_float", "int", "2.0", 2),
    Case("int_from_true", "int", "true", 1),
    Case("int_from_false", "int", "false", 0),
    Case("int_from_text", "int", '"123"', 123),
    Case("int_from_text_one_point_zero", "int", '"1.0"', 1),
    # float. Table: float <- int (strict, valid 123); str '[0-9]+(\.[0-9]+)?' (valid '3.141');
    # bool (valid True, False). Issue 25: true -> 1.0.
    Case("float_from_int", "float", "123", 123.0),
    Case("float_from_text", "float", '"3.141"', 3.141),
    Case("float_from_true", "float", "true", 1.0),
    # bool. Table: int "allowed values 0, 1"; float "0.0, 1.0" (issue 25: 1.0 -> True); str
    # 'f', 'n', 'no', 'off', 'false', 'False', 't', 'y', 'on', 'yes', 'true', 'True'.
    Case("bool_from_one", "bool", "1", True),
    Case("bool_from_zero", "bool", "0", False),
    Case("bool_from_one_point_zero", "bool", "1.0", True),
    *(
        Case(
            f"bool_from_text_{i}",
            "bool",
            f'"{text}"',
            text in ("t", "y", "on", "yes", "true", "True"),
        )
        for i, text in enumerate(
            ["f", "n", "no", "off", "false", "False", "t", "y", "on", "yes", "true", "True"]
        )
    ),
    # str. Table: str <- str only (and bytes): text stays text.
    Case("str_from_text", "str", '"5"', "5"),
    # bytes. Table: bytes <- str (valid 'foo').
    Case("bytes_from_text", "bytes", "foo", b"foo"),
    # Enums. Standard Library Types: "checks that the value is a valid member" — CookingModel
    # takes tool=2 for an IntEnum and fruit='banana' for a str Enum. Issue 25: IntEnum "1" -> ONE.
    Case("int_enum_from_int", "Num", "2", "Num.TWO"),
    Case("int_enum_from_text", "Num", '"1"', "Num.ONE"),
    Case("str_enum_from_text", "Fruit", "banana", "Fruit.BANANA"),
    Case("enum_from_value", "Colour", "2", "Colour.GREEN"),
    # Collections. Table: list <- list; tuple <- list; set <- list; frozenset <- list; deque <-
    # list. Issue 25: bare tuple [1, a] -> (1, 'a').
    Case("bare_tuple", "tuple", "[1, a]", (1, "a")),
    Case("bare_list", "list", "[1, a]", [1, "a"]),
    Case("list_of_int", "List[int]", '[1, "2"]', [1, 2]),
    Case("tuple_of_int_and_str", "Tuple[int, str]", '["1", a]', (1, "a")),
    Case("tuple_of_floats", "Tuple[float, ...]", "[1, 2.5]", (1.0, 2.5)),
    Case("set_of_int", "Set[int]", '[1, "1", 2]', {1, 2}),
    Case("frozenset_of_str", "FrozenSet[str]", "[a, a]", frozenset({"a"})),
    Case("deque_of_int", "Deque[int]", '["1", 2]', collections.deque([1, 2])),
    Case("sequence_of_int", "Sequence[int]", '["1"]', [1]),
    # dict: dict <- dict (strict). Issue 25: keys keep their YAML type ({1: a} -> {1: 'a'}).
    Case("bare_dict_keeps_int_keys", "dict", "{1: a}", {1: "a"}),
    Case("any_keeps_int_keys", "Any", "{1: a}", {1: "a"}),
    Case("dict_int_keys_from_text", "Dict[int, float]", '{"1": "2.5"}', {1: 2.5}),
    # TypedDict. Table: TypedDict <- dict (strict); issue 25: {a: "1"} -> {'a': 1}.
    Case("typed_dict", "Target", '{a: "1"}', {"a": 1}),
    # datetime. Standard Library Types: int or float "assumed as Unix time, i.e. seconds (if >=
    # -2e10 and <= 2e10) or milliseconds"; str 'YYYY-MM-DD[T]HH:MM[:SS[.ffffff]][Z or
    # [±]HH[:]MM]'. Table valid examples '2017-05-05 10:10:10', '2017-05-05T10:10:10.0002',
    # '2017-05-05 10:10:10+00:00', 1493979010, 1493979010000; datetime <- date. Issue 25:
    # 1700000000 -> a UTC datetime.
    Case(
        "datetime_from_unix_seconds",
        "datetime.datetime",
        "1700000000",
        dt.datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC),
    ),
    Case(
        "datetime_from_unix_milliseconds",
        "datetime.datetime",
        "1493979010000",
        dt.datetime(2017, 5, 5, 10, 10, 10, tzinfo=UTC),
    ),
    Case(
        "datetime_space",
        "datetime.datetime",
        '"2017-05-05 10:10:10"',
        dt.datetime(2017, 5, 5, 10, 10, 10),
    ),
    Case(
        "datetime_fraction",
        "datetime.datetime",
        '"2017-05-05T10:10:10.0002"',
        dt.datetime(2017, 5, 5, 10, 10, 10, 200),
    ),
    Case(
        "datetime_offset",
        "datetime.datetime",
        '"2032-04-23T10:20:30.400+02:30"',
        dt.datetime(
            2032, 4, 23, 10, 20, 30, 400000, tzinfo=dt.timezone(dt.timedelta(hours=2, minutes=30))
        ),
    ),
    Case("datetime_from_yaml_date", "datetime.datetime", "2017-05-05", dt.datetime(2017, 5, 5)),
    # date. Table: str 'YYYY-MM-DD' (valid '2017-05-05'); int "seconds or ms from epoch ... must
    # be exact date" (valid 1493942400000, 1493942400). Errors page: a datetime at midnight is a
    # date. Issue 25: "2024-01-02T00:00:00" -> date(2024, 1, 2).
    Case("date_from_text", "datetime.date", '"2017-05-05"', dt.date(2017, 5, 5)),
    Case("date_from_unix_seconds", "datetime.date", "1493942400", dt.date(2017, 5, 5)),
    Case("date_from_unix_milliseconds", "datetime.date", "1493942400000", dt.date(2017, 5, 5)),
    Case("date_from_midnight", "datetime.date", '"2024-01-02T00:00:00"', dt.date(2024, 1, 2)),
    # time. Table: str 'HH:MM:SS.FFFFFF' (valid '10:10:10.0002'); int "seconds, range 0 -
    # 86399" (valid 3720; in UTC, as speedate reads Unix time with offset 0).
    Case("time_from_text", "datetime.time", '"10:10:10.0002"', dt.time(10, 10, 10, 200)),
    Case("time_from_seconds", "datetime.time", "3720", dt.time(1, 2, tzinfo=UTC)),
    # timedelta. Table: int and float "interpreted as seconds" (valid 123_000), str ISO 8601
    # (valid '1 days 10:10', '1 d 10:10'); Standard Library Types: 'P3DT12H30M5S' is 3 days
    # 45005 s. Issue 25: "PT1H", "01:00:00", "1 day, 01:00:00".
    Case("timedelta_from_seconds", "datetime.timedelta", "123000", dt.timedelta(seconds=123000)),
    Case(
        "timedelta_iso", "datetime.timedelta", "P3DT12H30M5S", dt.timedelta(days=3, seconds=45005)
    ),
    Case("timedelta_iso_hour", "datetime.timedelta", "PT1H", dt.timedelta(hours=1)),
    Case("timedelta_clock", "datetime.timedelta", '"01:00:00"', dt.timedelta(hours=1)),
    Case(
        "timedelta_days_clock",
        "datetime.timedelta",
        '"1 day, 01:00:00"',
        dt.timedelta(days=1, hours=1),
    ),
    Case(
        "timedelta_days", "datetime.timedelta", '"1 days 10:10"', dt.timedelta(days=1, minutes=610)
    ),
    Case("timedelta_d", "datetime.timedelta", '"1 d 10:10"', dt.timedelta(days=1, minutes=610)),
    # UUID: "passing the value to UUID(v)" (table valid '{12345678-1234-5678-1234-567812345678}').
    Case(
        "uuid_from_text",
        "uuid.UUID",
        '"{12345678-1234-5678-1234-567812345678}"',
        uuid.UUID("12345678-1234-5678-1234-567812345678"),
    ),
    # Decimal. Table: str '[0-9]+(\.[0-9]+)?' (valid '3.141'), int, float.
    Case("decimal_from_text", "decimal.Decimal", '"3.141"', decimal.Decimal("3.141")),
    Case("decimal_from_int", "decimal.Decimal", "2", decimal.Decimal(2)),
    # Path. Table: Path <- str.
    Case("path_from_text", "Path", "data/in", Path("data/in")),
    # Literal (errors page: Literal['a', 'b'] takes 'a').
    Case("literal", "Literal['a', 'b']", "a", "a"),
    # Optional / Union, smart mode (Unions page): an int to `float | int` is an exact match for
    # int; '1234' to Union[int, str, UUID] stays '1234' (exact str); None for Optional.
    Case("union_exact_int", "Union[float, int]", "1", 1),
    Case("union_text_stays_text", "Union[int, str, uuid.UUID]", '"1234"', "1234"),
    Case("union_int_from_int", "Union[int, str, uuid.UUID]", "123", 123),
    Case("optional_none", "Optional[int]", "null", None),
    Case("optional_int_from_text", "Optional[int]", '"5"', 5),
    # Issue 25, point 3: a substituted $ENV{}/$VAR{} is the text 0.12 produced, converted by the
    # annotation (X=5, Y=1.5, Z=true in the environment).
    Case("str_from_env_int", "str", "$ENV{PARITY_X}", "5"),
    Case("str_from_env_float", "str", "$ENV{PARITY_Y}", "1.5"),
    Case("str_from_env_bool", "str", "$ENV{PARITY_Z}", "true"),
    Case("optional_str_from_env", "Optional[str]", "$ENV{PARITY_X}", "5"),
    Case(  # a list in block style: inside [ ] a variable cannot be written plain
        "list_of_str_from_env",
        "List[str]",
        "\n        - $ENV{PARITY_X}\n        - $ENV{PARITY_Z}",
        ["5", "true"],
    ),
    Case("int_from_env", "int", "$ENV{PARITY_X}", 5),
    Case("float_from_env", "float", "$ENV{PARITY_Y}", 1.5),
    Case("bool_from_env", "bool", "$ENV{PARITY_Z}", True),
    Case("any_from_env", "Any", "$ENV{PARITY_X}", "5"),
    Case("union_from_env", "Union[int, str]", "$ENV{PARITY_X}", "5"),
    Case("str_from_var_default", "str", "$VAR{unset:42}", "42"),
]

# -- refused: each must be reported at its place, all in one run ------------------------------
REFUSED_CASES = [
    Case("int_from_word", "int", "test", REFUSED),  # table invalid 'test'
    Case("int_from_text_with_letters", "int", '"123x"', REFUSED),  # table invalid '123x'
    Case("int_from_fraction", "int", "2.1", REFUSED),  # table invalid 2.1
    Case("float_from_text_with_letters", "float", '"3.141x"', REFUSED),  # table invalid
    Case("bool_from_two", "bool", "2", REFUSED),  # table invalid 2
    Case("bool_from_word", "bool", "test", REFUSED),  # table invalid 'test'
    Case("str_from_int", "str", "5", REFUSED),  # table: no str <- int row
    Case("str_from_float", "str", "1.5", REFUSED),
    Case("date_not_a_midnight", "datetime.date", "1493942401", REFUSED),  # table invalid
    Case("date_short_month", "datetime.date", '"2017-5-5"', REFUSED),  # table invalid
    Case("date_slashes", "datetime.date", '"2017/05/05"', REFUSED),  # table invalid
    Case("date_from_noon", "datetime.date", '"2023-01-01T12:00:00"', REFUSED),  # errors page
    Case("datetime_short_month", "datetime.datetime", '"2017-5-5T10:10:10"', REFUSED),  # table
    Case("time_short", "datetime.time", '"1:1:1"', REFUSED),  # table invalid '1:1:1'
    Case("time_a_day_long", "datetime.time", "86400", REFUSED),  # table invalid 86400
    Case("timedelta_no_day_word", "datetime.timedelta", '"1 10:10"', REFUSED),  # table invalid
    Case("decimal_from_word", "decimal.Decimal", "test", REFUSED),  # table invalid 'test'
    Case("enum_not_a_member", "Fruit", "other", REFUSED),  # Standard Library Types 'other'
    Case("literal_not_an_option", "Literal['a', 'b']", "c", REFUSED),  # errors page 'c'
    Case("dict_from_list", "dict", "['1', '2']", REFUSED),  # errors page dict_type
    Case("list_from_text", "List[int]", "abc", REFUSED),  # table: no list <- str row
    Case("tuple_too_short", "Tuple[int, str]", "[1]", REFUSED),
]


def _project(root: Path, cases: list[Case]) -> Path:
    root.mkdir(parents=True)
    (root / "tasks").mkdir()
    (root / "tasks" / "__init__.py").write_text("")
    (root / "out").mkdir()
    classes = "".join(f"\n\n@task\nclass C_{c.name}(Got):\n    x: {c.annotation}\n" for c in cases)
    (root / "tasks" / "cases.py").write_text(HEADER + classes)
    lines = ["config: {name: parity, executor: thread}", "extensions: {}", "tasks:"]
    for c in cases:
        lines += [f"  {c.name}:", f"    task: C_{c.name}"]
        if c.yaml is not None:
            lines += ["    parameters:", f"      x: {c.yaml}"]
    (root / "job.yaml").write_text("\n".join(lines) + "\n")
    (root / "main.py").write_text(
        "import sys\nfrom flowmancer import Flowmancer\n"
        "if __name__ == '__main__':\n    sys.exit(Flowmancer().start())\n"
    )
    return root


def _run(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PARITY_X": "5", "PARITY_Y": "1.5", "PARITY_Z": "true"}
    return subprocess.run(
        [sys.executable, *args],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )


def _shown(expected: Any) -> tuple[str, str]:
    if isinstance(expected, str) and expected.startswith(("Num.", "Fruit.", "Colour.")):
        enum_name, member = expected.split(".")
        value = {"Num.ONE": 1, "Num.TWO": 2, "Fruit.BANANA": "'banana'", "Colour.GREEN": 2}
        return enum_name, f"<{expected}: {value[expected]}>"
    return type(expected).__name__, repr(expected)


def test_values_a_job_file_gives_convert_as_pydantic_documents(tmp_path: Path) -> None:
    root = _project(tmp_path / "good", ACCEPTED)
    checked = _run(root, "-c", "from flowmancer._cli import main; main()", "validate", "job.yaml")
    assert checked.returncode == 0, checked.stderr  # validate and the run agree
    done = _run(root, "main.py", "-j", "job.yaml")
    assert done.returncode == 0, done.stdout + done.stderr
    got = {
        c.name: tuple(json.loads((root / "out" / c.name).read_text()))
        for c in ACCEPTED
        if (root / "out" / c.name).exists()
    }
    expected = {c.name: _shown(c.expected) for c in ACCEPTED}
    wrong = {
        name: (got.get(name), want) for name, want in expected.items() if got.get(name) != want
    }
    assert not wrong, "\n".join(f"{n}: got {g}, expected {w}" for n, (g, w) in wrong.items())


def test_values_pydantic_refuses_are_refused_each_at_its_place(tmp_path: Path) -> None:
    root = _project(tmp_path / "bad", REFUSED_CASES)
    done = _run(root, "main.py", "-j", "job.yaml")
    assert done.returncode == 99, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stderr.splitlines()
    assert lines[0] == f"flowmancer: error: {len(REFUSED_CASES)} problems:", done.stderr
    job = (root / "job.yaml").read_text().splitlines()
    for case in REFUSED_CASES:
        line = job.index(f"  {case.name}:") + 4  # the line of `x:`, counted from 1
        place = f"{root / 'job.yaml'}:{line}:7: tasks.{case.name}.parameters.x: expected "
        assert any(text.strip().startswith(place) for text in lines), (case.name, done.stderr)
    assert not list((root / "out").iterdir())  # nothing ran


def test_parameters_flowmancer_sets_itself_are_ignored_with_a_warning(tmp_path: Path) -> None:
    root = _project(tmp_path / "reserved", [Case("plain", "int", "1", 1)])
    job = (root / "job.yaml").read_text()
    (root / "job.yaml").write_text(
        job + "      shared_dict: {a: 1}\n      logger: mine\n      metadata: x\n"
    )
    done = _run(root, "main.py", "-j", "job.yaml")
    assert done.returncode == 0, done.stderr
    assert json.loads((root / "out" / "plain").read_text()) == ["int", "1"]
    warnings = [line for line in done.stderr.splitlines() if "warning" in line]
    assert warnings == [
        f"flowmancer: warning: {root / 'job.yaml'}:{n}:7: tasks.plain.parameters.{key}: ignored:"
        f" Flowmancer gives every task its {key} (0.12 ignored it too)"
        for n, key in ((8, "shared_dict"), (9, "logger"), (10, "metadata"))
    ]


# -- values only Python gives (the Python API, Task(...) in a unit test) -----------------------


class Colour(enum.Enum):
    RED = "red"


class Pair(TypedDict):
    a: int


def check(annotation: Any, value: Any) -> Any:
    shape = type("Shape", (), {"__annotations__": {"x": annotation}})
    return validate_parameters(shape, {"x": value}, "p")["x"]


@pytest.mark.parametrize(
    ("annotation", "value", "expected"),
    [
        # Table rows with Python inputs, and their valid examples.
        (int, decimal.Decimal("2.0"), 2),  # int <- Decimal, exact
        (int, b"123", 123),  # int <- bytes, numeric
        (float, decimal.Decimal("3.5"), 3.5),  # float <- Decimal
        (float, b"3.141", 3.141),  # float <- bytes
        (bool, decimal.Decimal(1), True),  # bool <- Decimal(0), Decimal(1)
        (bool, b"yes", True),  # Standard Library Types: bytes valid when decoded
        (str, b"this is bytes", "this is bytes"),  # str <- bytes (UTF-8)
        (str, bytearray(b"ba"), "ba"),  # str <- bytearray
        (bytes, bytearray(b"ba"), b"ba"),  # bytes <- bytearray
        (dt.date, dt.datetime(2017, 5, 5), dt.date(2017, 5, 5)),  # date <- exact datetime
        (dt.datetime, dt.date(2017, 5, 5), dt.datetime(2017, 5, 5)),  # datetime <- date
        (dt.date, decimal.Decimal(1493942400), dt.date(2017, 5, 5)),  # date <- Decimal
        (dt.timedelta, 123000.0002, dt.timedelta(seconds=123000.0002)),  # timedelta <- float
        (list[int], (1, 2), [1, 2]),  # list <- tuple
        (list[int], {1}, [1]),  # list <- set
        (list[int], collections.deque([1]), [1]),  # list <- deque
        (list[int], {"a": 1}.values(), [1]),  # list <- dict_values
        (tuple[int, ...], frozenset({1}), (1,)),  # tuple <- frozenset
        (set[int], (1, 1), {1}),  # set <- tuple
        (frozenset[int], {1}, frozenset({1})),  # frozenset <- set
        (decimal.Decimal, 1.5, decimal.Decimal("1.5")),  # Decimal <- float
        (uuid.UUID, uuid.UUID(int=5), uuid.UUID(int=5)),  # UUID <- UUID (strict)
        (Colour, Colour.RED, Colour.RED),  # Enum <- Enum (strict)
        (Pair, {"a": "1"}, {"a": 1}),  # TypedDict <- dict
        (int | str, 5, 5),  # smart mode: exact int
        (str | int, "5", "5"),  # smart mode: exact str
        (str | float, 1, 1.0),  # smart mode: int is strictly a float, not a str
        (Literal["a"] | None, None, None),
    ],
)
def test_python_values_convert_as_pydantic_documents(
    annotation: Any, value: Any, expected: Any
) -> None:
    got = check(annotation, value)
    assert got == expected and type(got) is type(expected)


@pytest.mark.parametrize(
    ("annotation", "value"),
    [
        (int, decimal.Decimal("2.1")),  # table invalid Decimal(2.1)
        (int, float("nan")),  # table invalid nan
        (int, float("inf")),  # table invalid inf
        (int, b"123x"),  # table invalid b'123x'
        (bool, decimal.Decimal(2)),  # table invalid Decimal(2)
        (str, b"\x81"),  # table invalid b'\x81'
        (dt.date, dt.datetime(2017, 5, 5, 10)),  # table invalid datetime(2017, 5, 5, 10)
        (dt.time, decimal.Decimal(86400)),  # table invalid Decimal(86400)
        (dt.time, -1),  # table invalid -1
        (list[int], "ab"),  # list: no str row
        (dict, [("a", 1)]),  # errors page: dict_type
        (Colour, "blue"),
    ],
)
def test_python_values_pydantic_refuses_are_refused(annotation: Any, value: Any) -> None:
    with pytest.raises(ParameterError) as refused:
        check(annotation, value)
    (problem,) = refused.value.problems
    assert problem.place == "p.x" and problem.message.startswith("expected ")


class Defaults(Task):
    count: int = None  # type: ignore[assignment]  # as 0.12 tasks wrote it
    when: dt.date = "today"  # type: ignore[assignment]
    names: list[str] = None  # type: ignore[assignment]

    def run(self) -> None:
        self.shared_dict["got"] = [self.count, self.when, self.names]


@pytest.mark.parametrize("executor", ["process", "thread"])
def test_defaults_are_never_refused_when_the_task_is_built_for_its_attempt(executor: str) -> None:
    kind = ProcessExecutor if executor == "process" else ThreadExecutor
    result = Runner([TaskSpec("d", Defaults, {})], executor=kind()).run()
    assert result.ok, result.reasons
    assert result.shared_dict["got"] == [None, "today", None]
    assert Defaults(count="3").count == 3  # a value given is converted, as ever


def test_date_parsing_and_pydantic_are_not_imported_for_parameters_that_need_neither() -> None:
    code = textwrap.dedent(
        """
        import sys
        from flowmancer_exec import validate_parameters
        shape = type("Shape", (), {"__annotations__": {"n": int, "s": str, "l": list}})
        validate_parameters(shape, {"n": "1", "s": "x", "l": [1]})
        print(sorted(m for m in ("flowmancer_exec._temporal", "pydantic") if m in sys.modules))
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
