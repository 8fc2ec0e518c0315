"""Task classes written with pydantic's own constructs, as 0.12's tasks (pydantic models) were.

With the ``pydantic`` extra installed they are validated by pydantic itself; without it, such a
class is refused with the one-line fix. The main test run has no pydantic; ``hatch run
pydantic:test`` runs this file with it.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import textwrap
from typing import Any

import pytest

from flowmancer_exec import ParameterError, Task, TaskSpec, validate_parameters

HAVE_PYDANTIC = importlib.util.find_spec("pydantic") is not None
needs_pydantic = pytest.mark.skipif(not HAVE_PYDANTIC, reason="the pydantic extra is not installed")
without_pydantic = pytest.mark.skipif(HAVE_PYDANTIC, reason="pydantic is installed here")


def problems(cls: type, values: dict[str, Any]) -> list[str]:
    with pytest.raises(ParameterError) as refused:
        validate_parameters(
            cls, values, "tasks.t.parameters", {"shared_dict", "logger", "metadata"}
        )
    return [str(p) for p in refused.value.problems]


if HAVE_PYDANTIC:
    import pydantic
    from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

    class Conn(BaseModel):
        host: str
        port: int = 5432

    class Load(Task):
        table: str = Field(alias="table_name")
        batch: int = Field(default=100, ge=1)
        tags: list[str] = Field(default_factory=list)
        conn: Conn | None = None

        @field_validator("table")
        @classmethod
        def lowered(cls, value: str) -> str:
            return cls.normal(value)

        @classmethod
        def normal(cls, value: str) -> str:  # a helper the validator calls
            return value.lower()

        @model_validator(mode="after")
        def not_too_much(self) -> Any:
            if self.batch > 1000:
                raise ValueError("at most 1000 rows a batch")
            return self

        def model_post_init(self, context: Any) -> None:
            self.shared_dict["post_init"] = self.table

        def run(self) -> None:
            pass

    class Strict(Task):
        model_config = ConfigDict(strict=True)
        count: int

        def run(self) -> None:
            pass

    class Lenient(Task):
        model_config = {"extra": "allow", "populate_by_name": True}
        name: str = Field(alias="Name")

        def run(self) -> None:
            pass

    class OldStyle(Task):
        class Config:
            extra = "ignore"

        count: int = 1

        def run(self) -> None:
            pass

    class ModelTyped(Task):
        conn: Conn
        retries: int = 1

        def run(self) -> None:
            pass


@needs_pydantic
def test_field_defaults_aliases_and_validators_are_pydantic_s() -> None:
    load = Load(table_name="SALES", conn={"host": "db", "port": "1"})
    assert (load.table, load.batch, load.tags) == ("sales", 100, [])
    assert load.conn == Conn(host="db", port=1)
    assert load.shared_dict["post_init"] == "sales"  # model_post_init ran, on the task itself
    assert Load(table_name="x").tags is not Load(table_name="x").tags  # a fresh default each


@needs_pydantic
def test_pydantic_s_errors_are_placed_where_the_job_gave_the_value() -> None:
    assert sorted(problems(Load, {"batch": 0, "colour": "red", "conn": {"host": 1}})) == [
        "tasks.t.parameters.batch: Input should be greater than or equal to 1, got 0",
        "tasks.t.parameters.colour: unknown parameter of Load (known: table_name, batch, tags,"
        " conn)",
        "tasks.t.parameters.conn.host: Input should be a valid string, got 1",
        "tasks.t.parameters.table_name: missing required value (str)",
    ]
    assert problems(Load, {"table_name": "t", "batch": 5000}) == [
        "tasks.t.parameters: Value error, at most 1000 rows a batch"
    ]


@needs_pydantic
def test_model_config_strict_extra_and_class_config_are_honoured() -> None:
    assert problems(Strict, {"count": "5"}) == [
        "tasks.t.parameters.count: Input should be a valid integer, got '5'"
    ]
    lenient = Lenient(name="a", other=1)  # populate_by_name; extra allowed and kept
    assert (lenient.name, lenient.other) == ("a", 1)  # type: ignore[attr-defined]
    assert lenient.model_dump() == {"name": "a", "other": 1}
    assert not hasattr(OldStyle(count=2, other=1), "other")  # extra ignored


@needs_pydantic
def test_model_dump_and_model_fields_are_offered_as_0_12_tasks_had_them() -> None:
    load = Load(table_name="T", conn={"host": "h"})
    assert load.model_dump() == {
        "table": "t",
        "batch": 100,
        "tags": [],
        "conn": {"host": "h", "port": 5432},
    }
    assert load.model_dump(by_alias=True, exclude={"conn"}) == {
        "table_name": "t",
        "batch": 100,
        "tags": [],
    }
    assert list(Load.model_fields) == ["table", "batch", "tags", "conn"]
    assert isinstance(Load.model_fields["batch"], pydantic.fields.FieldInfo)
    listed = Load.parameters()
    assert [(p.name, p.required) for p in listed.values()] == [
        ("table", True),
        ("batch", False),
        ("tags", False),
        ("conn", False),
    ]
    assert (listed["batch"].default, listed["tags"].default) == (100, [])


class Plain(Task):
    count: int = 1

    def run(self) -> None:
        pass


def test_a_class_without_pydantic_constructs_has_no_model_dump() -> None:
    assert not hasattr(Plain, "model_fields")
    with pytest.raises(AttributeError, match="only task classes written with pydantic"):
        Plain().model_dump()  # type: ignore[operator]


@needs_pydantic
def test_a_pydantic_model_as_parameter_type_makes_pydantic_validate_the_class() -> None:
    assert ModelTyped(conn={"host": "h"}, retries="2").retries == 2
    assert problems(ModelTyped, {"conn": {"host": "h", "port": "x"}}) == [
        "tasks.t.parameters.conn.port: Input should be a valid integer, unable to parse string as"
        " an integer, got 'x'"
    ]


@needs_pydantic
def test_a_run_of_pydantic_tasks_on_both_executors() -> None:
    from flowmancer_exec import Runner, ThreadExecutor

    for executor in (None, ThreadExecutor()):
        result = Runner(
            [TaskSpec("load", Load, {"table_name": "X", "batch": "7"})],
            **({"executor": executor} if executor else {}),
        ).run()
        assert result.ok, result.reasons


@without_pydantic
def test_without_pydantic_a_class_that_needs_it_is_refused_with_the_fix() -> None:
    class Configured(Task):
        model_config = {"extra": "allow"}
        count: int = 1

        def run(self) -> None:
            pass

    assert problems(Configured, {}) == [
        "tasks.t.parameters: Configured uses pydantic (model_config), which is not installed:"
        " pip install 'flowmancer[pydantic]'"
    ]


def test_a_task_class_without_pydantic_constructs_never_imports_pydantic() -> None:
    code = textwrap.dedent(
        """
        import sys
        from flowmancer_exec import Runner, Task, TaskSpec, ThreadExecutor
        class Plain(Task):
            count: int = 1
            def model_post_init(self, context):
                self.shared_dict["seen"] = self.count
            def run(self):
                pass
        Plain(count="2")
        Runner([TaskSpec("p", Plain, {"count": "3"})], executor=ThreadExecutor()).run()
        print("pydantic" in sys.modules)
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
