"""A job's mistakes are found before it runs, with the fix in sight: a misspelt parameter gets
the closest known name; a task class without ``run()`` is refused by the checks, not by its
first attempt."""

from __future__ import annotations

import pytest

from flowmancer_exec import JobError, Runner, Task, TaskSpec, prepare


class Load(Task):
    table: str
    batch_size: int = 500

    def run(self) -> None:
        print(self.table)


class Idle(Task):  # run() misspelt: the class stays abstract
    seconds: int = 1

    def runn(self) -> None:
        pass


def problems_of(*specs: TaskSpec) -> list[str]:
    with pytest.raises(JobError) as raised:
        prepare(specs)
    return [str(p) for p in raised.value.problems]


def test_a_misspelt_parameter_gets_the_closest_known_name() -> None:
    assert problems_of(TaskSpec("load", Load, {"table": "t", "batch_sise": 10})) == [
        "tasks.load.parameters.batch_sise: unknown parameter of Load; did you mean "
        "'batch_size'? (known: table, batch_size)"
    ]


def test_a_parameter_like_none_known_gets_only_the_list() -> None:
    assert problems_of(TaskSpec("load", Load, {"table": "t", "colour": "red"})) == [
        "tasks.load.parameters.colour: unknown parameter of Load (known: table, batch_size)"
    ]


def test_a_task_class_without_run_is_refused_before_anything_runs() -> None:
    found = problems_of(TaskSpec("idle", Idle, {"seconds": "x"}), TaskSpec("load", Load, {}))
    assert found == [
        f"tasks.idle.task: task class Idle ({__name__}.Idle) does not define run(): it cannot run",
        # the class's other problems and the job's are still said, all at once
        "tasks.idle.parameters.seconds: expected int, got 'x'",
        "tasks.load.parameters.table: missing required value (str)",
    ]
    with pytest.raises(JobError):
        Runner([TaskSpec("idle", Idle)])
