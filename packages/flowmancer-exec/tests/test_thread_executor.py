"""ThreadExecutor specifics: worker threads, stops, and tracing tools left undisturbed."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from conftest import run
from exec_tasks import Noop, Sleep

from flowmancer_dag import TaskState
from flowmancer_exec import TaskSpec

HERE = Path(__file__).resolve().parent


def test_a_run_under_a_trace_function_finishes() -> None:
    # Coverage, debuggers and profilers install trace functions; a stopped attempt once left
    # the interpreter in a state where the event loop never ran again under one.
    script = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {str(HERE)!r})
        from exec_tasks import Noop, Sleep
        from flowmancer_exec import Runner, TaskSpec, ThreadExecutor
        sys.settrace(lambda *a: None)
        specs = [TaskSpec("slow", Sleep, {{"seconds": 5}}, timeout=0.3)]
        specs += [TaskSpec(f"t{{i}}", Noop, depends_on=["slow"], trigger_rule="all_done")
                  for i in range(50)]
        result = Runner(specs, executor=ThreadExecutor(grace_period=2)).run()
        print(result.exit_code)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "1"


def test_attempts_after_a_stopped_one_run_normally() -> None:
    specs = [TaskSpec(f"t{i}", Noop, depends_on=[f"t{i - 1}"] if i else []) for i in range(20)]
    specs.append(TaskSpec("slow", Sleep, {"seconds": 5}, timeout=0.2, depends_on=["t19"]))
    specs.append(TaskSpec("after", Noop, depends_on=["slow"], trigger_rule="all_done"))
    result, _ = run(specs, "thread")
    assert result.states["slow"] is TaskState.FAILED
    assert result.states["after"] is TaskState.COMPLETED
    assert all(result.states[f"t{i}"] is TaskState.COMPLETED for i in range(20))


def test_shared_values_are_copied_key_by_key_and_only_uncopyable_ones_are_shared() -> None:
    import threading

    from flowmancer_exec._thread import _copy_shared

    lock = threading.Lock()
    values = {"lock": lock, "rows": {"a": [1, 2]}}
    copied = _copy_shared(values)
    assert copied["lock"] is lock  # cannot be copied: shared as it is
    assert copied["rows"] == values["rows"] and copied["rows"] is not values["rows"]
    copied["rows"]["a"].append(3)
    assert values["rows"] == {"a": [1, 2]}  # the runner's own value is untouched
