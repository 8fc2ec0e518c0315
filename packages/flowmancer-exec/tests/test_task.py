"""Task classes, the @task registry, and tasks built by hand for users' own tests."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from flowmancer_exec import (
    ParameterError,
    Task,
    TaskNotFoundError,
    TaskRegistrationError,
    get_task_class,
    registered_tasks,
    task,
)


@task
class Greet(Task):
    """A task as a 0.12 user writes one."""

    who: str
    times: int = 1

    def run(self) -> None:
        for _ in range(self.times):
            print(f"hello {self.who}")
        self.shared_dict["greeted"] = self.who


def test_task_is_registered_by_class_name() -> None:
    assert get_task_class("Greet") is Greet
    assert registered_tasks()["Greet"] is Greet
    with pytest.raises(TypeError):
        registered_tasks()["X"] = Greet  # type: ignore[index]


def test_registering_the_same_class_again_is_fine() -> None:
    assert task(Greet) is Greet


def test_a_different_class_under_a_taken_name_names_both_modules() -> None:
    with pytest.raises(TaskRegistrationError) as info:

        @task
        class Greet(Task):
            def run(self) -> None:
                pass

    message = str(info.value)
    assert "task name 'Greet' is already registered by" in message
    assert message.count("test_task") == 2


def test_the_same_file_imported_under_two_module_names_is_the_same_class(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "mytasks.py").write_text(
        "from flowmancer_exec import Task, task\n"
        "@task\nclass Twice(Task):\n    def run(self): pass\n"
    )
    script = textwrap.dedent(
        f"""
        import importlib.util, sys
        sys.path.insert(0, {str(tmp_path)!r})
        import pkg.mytasks
        path = {str(tmp_path / "pkg" / "mytasks.py")!r}
        spec = importlib.util.spec_from_file_location("mytasks_again", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        from flowmancer_exec import get_task_class
        print(get_task_class("Twice").__module__)
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "mytasks_again"


def test_task_decorator_refuses_what_is_not_a_task() -> None:
    with pytest.raises(TypeError, match="@task needs a subclass of flowmancer Task"):
        task(int)  # type: ignore[type-var]


def test_an_unknown_name_suggests_the_closest() -> None:
    with pytest.raises(
        TaskNotFoundError, match=r"no task class named 'Gret' .*\(did you mean Greet\?\)"
    ):
        get_task_class("Gret")


def test_a_task_built_by_hand_runs_for_a_unit_test(capsys: pytest.CaptureFixture[str]) -> None:
    greet = Greet(who="world", times="2")
    greet.run()
    assert capsys.readouterr().out == "hello world\nhello world\n"
    assert greet.shared_dict == {"greeted": "world"}
    assert greet.metadata.name == "Greet" and greet.metadata.attempt == 1
    assert repr(greet) == "Greet(who='world', times=2)"
    with pytest.raises(ParameterError, match="Greet.who: missing required value"):
        Greet()


def test_a_task_built_by_hand_writes_to_the_shared_dict_it_is_given() -> None:
    # 0.12's way of unit-testing a task: hand it a dict, run it, look in the dict.
    d: dict[str, object] = {"before": 1}
    Greet(shared_dict=d, who="world").run()
    assert d == {"before": 1, "greeted": "world"}


def test_shared_dict_is_not_a_parameter_in_a_job() -> None:
    from flowmancer_exec import JobError, Runner, TaskSpec

    with pytest.raises(JobError, match=r"tasks.g.parameters.shared_dict: unknown parameter"):
        Runner([TaskSpec("g", Greet, {"who": "x", "shared_dict": {}})])


def test_the_logger_formats_like_logging_and_adds_tracebacks(
    capsys: pytest.CaptureFixture[str],
) -> None:
    greet = Greet(who="x")
    greet.logger.info("loaded %d rows from %s", 3, "db")
    try:
        raise KeyError("missing")
    except KeyError:
        greet.logger.exception("lookup failed")
    err = capsys.readouterr().err
    assert "INFO - loaded 3 rows from db" in err
    assert "ERROR - lookup failed\nTraceback (most recent call last):" in err
    assert "KeyError: 'missing'" in err


def test_run_is_required() -> None:
    class NoRun(Task):
        pass

    with pytest.raises(TypeError, match="abstract"):
        NoRun()  # type: ignore[abstract]
