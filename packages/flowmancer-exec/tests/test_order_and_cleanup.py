"""Left-out tasks keep the order of the rest; finally tasks run last, whatever happened, also
when the run is aborted; alerting and cleanup tasks read how the tasks upstream ended; a
DEFAULTED task names only what let it down."""

from __future__ import annotations

import json
import signal
import subprocess
import textwrap
import time
from pathlib import Path

import pytest
from conftest import run, start_driver
from exec_tasks import Fail, Noop, Sleep, Track, Witness, spans, upstream_told

from flowmancer_dag import TaskState
from flowmancer_exec import (
    ProcessExecutor,
    Runner,
    RunResult,
    StateChange,
    TaskSpec,
    ThreadExecutor,
    UpstreamState,
)

S = TaskState


def test_a_left_out_task_keeps_the_order_of_the_rest(executor: str, marks: Path) -> None:
    folder = {"folder": str(marks)}
    specs = [
        TaskSpec("extract", Track, {**folder, "seconds": 0.4}),
        TaskSpec("transform", Track, folder, depends_on=["extract"]),
        TaskSpec("load", Track, {**folder, "seconds": 0.0}, depends_on=["transform"]),
    ]
    result, recorder = run(specs, executor, run_kwargs={"skipped": ["transform"]})
    assert result.ok, result.reasons
    times = spans(marks)
    assert set(times) == {"extract", "load"}
    assert times["load"][0] >= times["extract"][1]  # load waited for extract, through transform
    assert recorder.states("transform") == ["SKIPPED"]
    assert result.reasons["transform"] == "left out of this run"


def test_a_left_out_task_below_a_failure_is_defaulted_and_nothing_after_it_runs(
    executor: str, marks: Path
) -> None:
    specs = [
        TaskSpec("extract", Fail),
        TaskSpec("transform", Noop, depends_on=["extract"]),
        TaskSpec("load", Track, {"folder": str(marks)}, depends_on=["transform"]),
    ]
    result, _ = run(specs, executor, run_kwargs={"skipped": ["transform"]})
    assert dict(result.states) == {
        "extract": S.FAILED,
        "transform": S.DEFAULTED,
        "load": S.DEFAULTED,
    }
    assert result.exit_code == 3
    assert not (marks / "track").exists()


def test_a_defaulted_task_names_only_the_upstream_that_failed(executor: str, marks: Path) -> None:
    folder = {"folder": str(marks), "seconds": 0.3}
    specs = [
        TaskSpec("bad", Fail),
        TaskSpec("slow1", Track, folder),
        TaskSpec("slow2", Track, folder),
        TaskSpec("merge", Noop, depends_on=["slow1", "bad", "slow2"]),
        TaskSpec("report", Noop, depends_on=["merge", "slow1"]),
    ]
    result, recorder = run(specs, executor)
    assert result.states["slow1"] is S.COMPLETED and result.states["slow2"] is S.COMPLETED
    assert result.reasons["merge"] == "upstream did not complete: bad"
    assert result.reasons["report"] == "upstream did not complete: merge"
    (change,) = [c for c in recorder.changes if c.task == "merge"]
    assert change.reason == "upstream did not complete: bad"


def test_a_finally_task_runs_after_every_other_task_whatever_happened(
    executor: str, marks: Path
) -> None:
    folder = {"folder": str(marks)}
    specs = [
        TaskSpec("extract", Fail, {"message": "no such table"}),
        TaskSpec("load", Noop, depends_on=["extract"]),
        TaskSpec("side", Track, {**folder, "seconds": 0.5}),  # still running when load fails
        TaskSpec("cleanup", Witness, folder, depends_on=["load"], trigger_rule="finally"),
    ]
    result, _ = run(specs, executor)
    assert dict(result.states) == {
        "extract": S.FAILED,
        "load": S.DEFAULTED,
        "side": S.COMPLETED,
        "cleanup": S.COMPLETED,
    }
    assert result.exit_code == 2  # the cleanup does not hide what failed
    times = spans(marks)
    assert times["cleanup"][0] >= times["side"][1]
    assert upstream_told(marks, "cleanup") == {
        "extract": ["FAILED", "ValueError: no such table", True],
        "load": ["DEFAULTED", "upstream did not complete: extract", True],
        "side": ["COMPLETED", None, False],
    }


def test_an_alert_reads_which_upstream_failed_and_why(executor: str, marks: Path) -> None:
    folder = {"folder": str(marks)}
    specs = [
        TaskSpec("fetch", Fail, {"message": "HTTP 503"}),
        TaskSpec("store", Noop, depends_on=["fetch"]),
        TaskSpec("alert", Witness, folder, depends_on=["store"], trigger_rule="one_failed"),
        TaskSpec("plain", Witness, folder),
    ]
    result, _ = run(specs, executor)
    assert result.states["alert"] is S.COMPLETED
    assert upstream_told(marks, "alert") == {
        "fetch": ["FAILED", "ValueError: HTTP 503", True],
        "store": ["DEFAULTED", "upstream did not complete: fetch", True],
    }
    assert upstream_told(marks, "plain") == {}  # all_success: everything upstream completed


def test_upstream_states_can_be_set_on_a_task_built_by_hand() -> None:
    task = Witness(folder=".")
    assert task.upstream_states == {}
    task.upstream_states = {"load": UpstreamState(S.FAILED, "boom")}
    assert task.upstream_states["load"].failed


DRIVER = textwrap.dedent(
    """
    import json, sys
    sys.path.insert(0, {tests!r})
    from exec_tasks import Sleep, Witness
    from flowmancer_exec import ProcessExecutor, Runner, TaskSpec, ThreadExecutor

    folder = {folder!r}
    specs = [
        TaskSpec("work", Sleep, {{"seconds": 60, "folder": folder}}),
        TaskSpec("later", Sleep, {{"seconds": 0}}, depends_on=["work"]),
        TaskSpec("cleanup", Witness, {{"folder": folder, "seconds": {cleanup_takes}}},
                 depends_on=["later"], trigger_rule="finally"),
        TaskSpec("report", Witness, {{"folder": folder}}, depends_on=["cleanup"],
                 trigger_rule="finally"),
    ]
    runner = Runner(specs, executor={executor}(grace_period=1), finally_grace_period={grace})
    result = runner.run()
    print(json.dumps({{"states": {{k: v.value for k, v in result.states.items()}},
                      "reasons": dict(result.reasons), "exit": result.exit_code}}))
    sys.exit(result.exit_code)
    """
)


def start(
    tmp_path: Path, executor: str, *, cleanup_takes: float = 0, grace: float = 30
) -> tuple[subprocess.Popen[str], Path]:
    chosen = "ProcessExecutor" if executor == "process" else "ThreadExecutor"
    return start_driver(
        tmp_path, DRIVER, ["work"], executor=chosen, cleanup_takes=cleanup_takes, grace=grace
    )


def outcome(process: subprocess.Popen[str]) -> dict[str, object]:
    out, err = process.communicate(timeout=30)
    assert "Traceback" not in err, err
    result: dict[str, object] = json.loads(out.splitlines()[-1])
    assert process.returncode == result["exit"]
    return result


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_an_aborted_run_still_runs_its_finally_tasks_in_order(
    tmp_path: Path, executor: str, sig: int
) -> None:
    process, folder = start(tmp_path, executor)
    process.send_signal(sig)
    result = outcome(process)
    assert result["states"] == {
        "work": "ABORTED",
        "later": "ABORTED",
        "cleanup": "COMPLETED",
        "report": "COMPLETED",
    }
    assert result["exit"] == 2  # the abort is not hidden by the cleanup
    assert (folder / "work.aborted").exists()  # stopped (on_abort) before the cleanup ran
    times = spans(folder)
    assert times["report"][0] >= times["cleanup"][1]
    assert upstream_told(folder, "cleanup") == {
        "work": ["ABORTED", "the run was aborted", True],
        "later": ["ABORTED", "the run was aborted before it started", True],
        "report": ["INIT", None, False],
    }


def test_finally_tasks_get_a_bounded_grace_period_after_an_abort(
    tmp_path: Path, executor: str
) -> None:
    process, folder = start(tmp_path, executor, cleanup_takes=60, grace=1)
    process.send_signal(signal.SIGTERM)
    while not (folder / "track").exists():
        assert process.poll() is None
        time.sleep(0.02)
    sent = time.monotonic()
    result = outcome(process)
    took = time.monotonic() - sent
    assert took < 8, f"took {took:.1f} s"  # 1 s of grace, then 1 s for on_abort
    assert result["states"] == {
        "work": "ABORTED",
        "later": "ABORTED",
        "cleanup": "ABORTED",
        "report": "ABORTED",
    }
    reasons = result["reasons"]
    assert isinstance(reasons, dict)
    assert reasons["cleanup"] == (
        "the run was aborted and its finally tasks' grace period (1 s) ran out"
    )
    assert (folder / "cleanup.aborted").exists()


def test_a_second_signal_stops_the_finally_tasks_at_once(tmp_path: Path, executor: str) -> None:
    process, folder = start(tmp_path, executor, cleanup_takes=60, grace=60)
    process.send_signal(signal.SIGINT)
    while not (folder / "track").exists():
        assert process.poll() is None
        time.sleep(0.02)
    sent = time.monotonic()
    process.send_signal(signal.SIGINT)
    result = outcome(process)
    assert time.monotonic() - sent < 5
    assert result["states"] == dict.fromkeys(["work", "later", "cleanup", "report"], "ABORTED")


class AbortWhenRunning:
    """An observer that aborts the run once ``task`` is RUNNING, as Ctrl-C would."""

    def __init__(self, task: str) -> None:
        self.task = task
        self.runner: Runner | None = None

    def on_state_change(self, change: StateChange) -> None:
        if change.task == self.task and change.after is S.RUNNING:
            assert self.runner is not None
            self.runner.abort()


def abort_when_running(
    task: str, specs: list[TaskSpec], executor: str, skipped: tuple[str, ...] = ()
) -> RunResult:
    watcher = AbortWhenRunning(task)
    chosen = ProcessExecutor(1) if executor == "process" else ThreadExecutor(1)
    runner = Runner(specs, executor=chosen, observers=[watcher], handle_signals=False)
    watcher.runner = runner
    return runner.run(skipped=skipped)


def test_an_abort_while_finally_tasks_run_lets_them_finish(executor: str, marks: Path) -> None:
    # The job's work is over and its cleanup is running when the stop comes: it is not cut.
    cleanup = TaskSpec(
        "cleanup", Witness, {"folder": str(marks), "seconds": 0.6}, ["work"], trigger_rule="finally"
    )
    result = abort_when_running("cleanup", [TaskSpec("work", Noop), cleanup], executor)
    assert dict(result.states) == {"work": S.COMPLETED, "cleanup": S.COMPLETED}
    assert not (marks / "cleanup.aborted").exists()
    assert result.aborted


def test_a_left_out_task_overtaken_by_an_abort_says_so(executor: str, marks: Path) -> None:
    specs = [
        TaskSpec("work", Sleep, {"seconds": 60, "folder": str(marks)}),
        TaskSpec("transform", Noop, depends_on=["work"]),
        TaskSpec("load", Noop, depends_on=["transform"]),
    ]
    result = abort_when_running("work", specs, executor, skipped=("transform",))
    assert dict(result.states) == dict.fromkeys(["work", "transform", "load"], S.ABORTED)
    assert result.reasons["transform"] == "the run was aborted before it settled (it was left out)"
    assert result.reasons["load"] == "the run was aborted before it started"
