"""Parameters are checked against annotations before anything runs, every problem at once."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from pathlib import Path
from typing import Any, ClassVar, Literal, TypedDict

import pytest

from flowmancer_exec import ParameterError, Task, validate_parameters


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"


@dataclasses.dataclass
class Db:
    host: str
    port: int = 5432


class Target(TypedDict):
    table: str
    rows: int


class Everything(Task):
    name: str
    count: int
    ratio: float
    flag: bool
    maybe: int | None = None
    either: int | str = 0
    mode: Literal["fast", "slow"] = "fast"
    color: Color = Color.RED
    items: list[int] = []
    pair: tuple[int, str] = (0, "")
    many: tuple[float, ...] = ()
    unique: set[str] = set()
    table: dict[str, float] = {}
    path: Path = Path(".")
    when: dt.datetime = dt.datetime(2020, 1, 1)
    day: dt.date = dt.date(2020, 1, 1)
    db: Db = Db("localhost")
    target: Target | None = None
    anything: Any = None

    def run(self) -> None:
        pass


def check(values: dict[str, Any]) -> dict[str, Any]:
    return validate_parameters(
        Everything, values, "tasks.t.parameters", {"shared_dict", "logger", "metadata"}
    )


BASE = {"name": "n", "count": 1, "ratio": 1.5, "flag": True}


def problems(values: dict[str, Any]) -> list[str]:
    with pytest.raises(ParameterError) as info:
        check(values)
    return [str(p) for p in info.value.problems]


def test_values_are_converted_the_way_job_files_need() -> None:
    out = check(
        {
            "name": "load",
            "count": "5",
            "ratio": 2,
            "flag": "yes",
            "maybe": "7",
            "either": "text",
            "mode": "slow",
            "color": "green",
            "items": ["1", 2],
            "pair": [1, "a"],
            "many": [1, 2.5],
            "unique": ["a", "a", "b"],
            "table": {"x": 1},
            "path": "/tmp/x",
            "when": "2026-11-26T14:03:07Z",
            "day": "2026-11-26",
            "db": {"host": "db.local"},
            "target": {"table": "t", "rows": "3"},
            "anything": object,
        }
    )
    assert out["count"] == 5 and isinstance(out["count"], int)
    assert out["ratio"] == 2.0 and isinstance(out["ratio"], float)
    assert out["flag"] is True
    assert out["maybe"] == 7
    assert out["either"] == "text"
    assert out["color"] is Color.GREEN
    assert out["items"] == [1, 2]
    assert out["pair"] == (1, "a")
    assert out["many"] == (1.0, 2.5)
    assert out["unique"] == {"a", "b"}
    assert out["table"] == {"x": 1.0}
    assert out["path"] == Path("/tmp/x")
    assert out["when"] == dt.datetime(2026, 11, 26, 14, 3, 7, tzinfo=dt.timezone.utc)
    assert out["day"] == dt.date(2026, 11, 26)
    assert out["db"] == Db("db.local", 5432)
    assert out["target"] == {"table": "t", "rows": 3}
    assert out["anything"] is object


def test_defaults_fill_in_and_mutable_defaults_are_not_shared() -> None:
    first = check(dict(BASE))
    second = check(dict(BASE))
    assert first["mode"] == "fast"
    assert first["items"] == [] and first["items"] is not second["items"]


def test_an_int_for_a_union_keeps_its_type() -> None:
    assert check({**BASE, "either": 5})["either"] == 5


def test_every_problem_is_reported_with_its_place() -> None:
    found = problems(
        {
            "count": "abc",
            "ratio": "fast",
            "flag": "maybe",
            "mode": "medium",
            "color": "blue",
            "items": [1, "x"],
            "pair": [1],
            "db": {"port": "x", "user": "me"},
            "when": "yesterday",
            "extra": 1,
        }
    )
    assert sorted(found) == sorted(
        [
            "tasks.t.parameters.name: missing required value (str)",
            "tasks.t.parameters.count: expected int, got 'abc'",
            "tasks.t.parameters.ratio: expected float, got 'fast'",
            "tasks.t.parameters.flag: expected bool, got 'maybe'",
            "tasks.t.parameters.mode: expected one of 'fast', 'slow', got 'medium'",
            "tasks.t.parameters.color: expected one of 'red', 'green' (Color), got 'blue'",
            "tasks.t.parameters.items[1]: expected int, got 'x'",
            "tasks.t.parameters.pair: expected 2 items (tuple of (int, str)), got 1",
            "tasks.t.parameters.when: expected datetime (ISO 8601 or Unix time), got 'yesterday'",
            "tasks.t.parameters.db.host: missing required value (str)",
            "tasks.t.parameters.db.port: expected int, got 'x'",
            "tasks.t.parameters.db.user: unknown field of Db (known: host, port)",
            "tasks.t.parameters.extra: unknown parameter of Everything (known: name, count, "
            "ratio, flag, maybe, either, mode, color, items, pair, many, unique, table, path, "
            "when, day, db, target, anything)",
        ]
    )
    assert found[0] == "tasks.t.parameters.name: missing required value (str)"
    assert "tasks.t.parameters.count: expected int, got 'abc'" in found
    assert "tasks.t.parameters.db.user: unknown field of Db (known: host, port)" in found
    assert "tasks.t.parameters.items[1]: expected int, got 'x'" in found
    assert len(found) == 13


def test_a_number_is_not_a_str_and_a_fraction_is_not_an_int() -> None:
    assert problems({**BASE, "name": 5}) == ["tasks.t.parameters.name: expected str, got 5"]
    assert problems({**BASE, "count": 1.5}) == ["tasks.t.parameters.count: expected int, got 1.5"]


def test_optional_accepts_none_and_says_so_when_wrong() -> None:
    assert check({**BASE, "maybe": None})["maybe"] is None
    assert problems({**BASE, "maybe": "x"}) == [
        "tasks.t.parameters.maybe: expected int or None, got 'x'"
    ]


def test_a_typed_dict_checks_its_keys() -> None:
    assert problems({**BASE, "target": {"table": "t"}}) == [
        "tasks.t.parameters.target.rows: missing required value (int)"
    ]


class Model:
    def __init__(self, value: int) -> None:
        self.value = value

    @classmethod
    def model_validate(cls, data: Any) -> Model:
        if not isinstance(data, dict) or not isinstance(data.get("value"), int):
            raise ValueError("value must be an int")
        return cls(data["value"])


class UsesModel(Task):
    model: Model

    def run(self) -> None:
        pass


def test_pydantic_style_model_validate_is_used_and_its_errors_placed() -> None:
    ok = UsesModel(model={"value": 3})
    assert ok.model.value == 3
    with pytest.raises(ParameterError, match=r"UsesModel\.model: not a valid Model: value must"):
        UsesModel(model={"value": "x"})


try:
    import pydantic
except ImportError:  # pragma: no cover - the test below is skipped then
    pydantic = None
else:

    class Conn(pydantic.BaseModel):
        host: str
        port: int

    class UsesPydantic(Task):
        conn: Conn

        def run(self) -> None:
            pass


@pytest.mark.skipif(pydantic is None, reason="pydantic is not installed")
def test_pydantic_models_work_when_pydantic_is_installed() -> None:
    assert UsesPydantic(conn={"host": "h", "port": "1"}).conn.port == 1
    with pytest.raises(ParameterError) as info:
        UsesPydantic(conn={"host": "h", "port": "x"})
    assert str(info.value.problems[0]).startswith("UsesPydantic.conn.port: ")


def test_an_annotation_that_cannot_be_resolved_is_a_clear_error() -> None:
    class Broken(Task):
        value: NoSuchType  # type: ignore[name-defined]  # noqa: F821

        def run(self) -> None:
            pass

    with pytest.raises(ParameterError, match="cannot read the annotations of .*Broken"):
        Broken(value=1)


class WithClassVar(Task):
    kind: ClassVar[str] = "k"
    _cache: dict[str, int] = {}
    value: int = 1

    def run(self) -> None:
        pass


def test_class_vars_and_private_names_are_not_parameters() -> None:
    assert list(WithClassVar.parameters()) == ["value"]
