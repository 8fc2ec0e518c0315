"""The Runner: ordering, limits, retries, trigger rules, shared_dict, observers, checkpoints."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import run
from exec_tasks import Fail, FailTimes, Noop, ReadShared, Track, WriteShared, overlap

from flowmancer_dag import TaskState
from flowmancer_exec import (
    JobError,
    ProcessExecutor,
    Runner,
    RunSnapshot,
    TaskSpec,
    ThreadExecutor,
    fingerprint,
)

S = TaskState


def test_dependencies_finish_before_dependents_start(marks: Path, executor: str) -> None:
    specs = [
        TaskSpec("a", Track, {"folder": str(marks), "seconds": 0.1}),
        TaskSpec("b", Track, {"folder": str(marks), "seconds": 0.1}, depends_on=["a"]),
        TaskSpec("c", Track, {"folder": str(marks), "seconds": 0.1}, depends_on=["a"]),
    ]
    result, recorder = run(specs, executor)
    assert result.ok
    events = (marks / "track").read_text().splitlines()
    assert events[0].startswith("start a") and events[1].startswith("end a")
    assert overlap(marks) == 2  # b and c side by side
    assert recorder.states("b") == ["PENDING", "RUNNING", "COMPLETED"]


def test_max_concurrency_limits_what_runs_at_once(marks: Path, executor: str) -> None:
    specs = [TaskSpec(f"t{i}", Track, {"folder": str(marks), "seconds": 0.15}) for i in range(6)]
    result, _ = run(specs, executor, max_concurrency=2)
    assert result.ok
    assert overlap(marks) == 2


def test_pools_limit_their_members_only(marks: Path) -> None:
    specs = [
        *(
            TaskSpec(f"db{i}", Track, {"folder": str(marks), "seconds": 0.2}, pool="db")
            for i in range(4)
        ),
        TaskSpec("free", Track, {"folder": str(marks), "seconds": 0.2}),
    ]
    result, _ = run(specs, "thread", pools={"db": 1})
    assert result.ok
    lines = (marks / "track").read_text().splitlines()
    db_running = peak = 0
    for line in sorted(lines, key=lambda x: (float(x.split()[2]), x.startswith("start"))):
        kind, name, _ = line.split()
        if name.startswith("db"):
            db_running += 1 if kind == "start" else -1
            peak = max(peak, db_running)
    assert peak == 1
    assert overlap(marks) == 2  # the free task ran beside one db task


def test_retries_until_success_with_backoff_reported(executor: str) -> None:
    result, recorder = run(
        [
            TaskSpec(
                "flaky", FailTimes, {"times": 2}, max_attempts=3, backoff=0.05, backoff_factor=2
            )
        ],
        executor,
    )
    assert result.states["flaky"] is S.COMPLETED
    assert result.attempts["flaky"] == 3
    assert "flaky" not in result.reasons
    reasons = [c.reason for c in recorder.changes if c.task == "flaky" and c.after is S.PENDING][1:]
    assert reasons == [
        "attempt 1 of 3 failed (ConnectionError: attempt 1); next in 0.05 s",
        "attempt 2 of 3 failed (ConnectionError: attempt 2); next in 0.1 s",
    ]


def test_max_backoff_caps_and_jitter_spreads_the_wait() -> None:
    result, recorder = run(
        [
            TaskSpec(
                "flaky",
                FailTimes,
                {"times": 3},
                max_attempts=4,
                backoff=0.04,
                backoff_factor=10,
                max_backoff=0.1,
                jitter=True,
            )
        ],
        "thread",
    )
    assert result.ok
    waits = [
        float(c.reason.rsplit("next in ", 1)[1].split()[0])
        for c in recorder.changes
        if c.task == "flaky" and c.reason and "next in" in c.reason
    ]
    assert len(waits) == 3
    assert 0.02 <= waits[0] <= 0.04
    assert all(0.05 <= w <= 0.1 for w in waits[1:])


def test_retry_on_retries_only_the_named_exceptions(executor: str) -> None:
    result, _ = run(
        [
            TaskSpec("named", FailTimes, {"times": 1}, max_attempts=3, retry_on=["OSError"]),
            TaskSpec(
                "other",
                FailTimes,
                {"times": 1, "error": "ValueError"},
                max_attempts=3,
                retry_on=["OSError"],
            ),
        ],
        executor,
    )
    assert result.states["named"] is S.COMPLETED  # ConnectionError is an OSError
    assert result.attempts["named"] == 2
    assert result.states["other"] is S.FAILED
    assert result.attempts["other"] == 1


def test_trigger_rules_run_cleanup_and_alert(executor: str) -> None:
    specs = [
        TaskSpec("work", Fail),
        TaskSpec("next", Noop, depends_on=["work"]),
        TaskSpec("cleanup", Noop, depends_on=["next"], trigger_rule="all_done"),
        TaskSpec("alert", Noop, depends_on=["work"], trigger_rule="one_failed"),
        TaskSpec("quiet", Noop, depends_on=["cleanup"], trigger_rule="one_failed"),
    ]
    result, recorder = run(specs, executor)
    assert result.states == {
        "work": S.FAILED,
        "next": S.DEFAULTED,
        "cleanup": S.COMPLETED,
        "alert": S.COMPLETED,
        "quiet": S.SKIPPED,
    }
    assert result.reasons["next"] == "upstream did not complete: work"
    assert result.exit_code == 2


def test_shared_dict_flows_downstream_and_failed_writes_are_kept(
    marks: Path, executor: str
) -> None:
    specs = [
        TaskSpec("w1", WriteShared, {"key": "a", "value": 1}),
        TaskSpec("w2", WriteShared, {"key": "b", "value": 2, "fail": True}),
        TaskSpec(
            "r", ReadShared, {"folder": str(marks)}, depends_on=["w1"], trigger_rule="all_done"
        ),
        TaskSpec(
            "r2",
            ReadShared,
            {"folder": str(marks)},
            depends_on=["w1", "w2"],
            trigger_rule="all_done",
        ),
    ]
    result, _ = run(
        specs, executor, max_concurrency=1, run_kwargs={"shared_dict": {"drop": 0, "x": 9}}
    )
    assert result.states["w2"] is S.FAILED
    seen = eval((marks / "r2.shared").read_text())
    assert ("a", 1) in seen and ("b", 2) in seen and ("x", 9) in seen
    assert result.shared_dict["a"] == 1 and result.shared_dict["b"] == 2
    assert "drop" not in result.shared_dict  # a deletion is a write too
    assert sorted(result.shared_dict["seen"]) in (["w1"], ["w2"], ["w1", "w2"])


def test_shared_dict_writes_of_side_by_side_tasks_merge_key_by_key(executor: str) -> None:
    specs = [TaskSpec(f"w{i}", WriteShared, {"key": f"k{i}", "value": i}) for i in range(5)]
    result, _ = run(specs, executor)
    assert {f"k{i}": i for i in range(5)}.items() <= dict(result.shared_dict).items()


class FailingObserver:
    def __init__(self) -> None:
        self.calls = 0

    def on_state_change(self, change: Any) -> None:
        self.calls += 1
        raise RuntimeError("observer bug")


def test_an_observer_that_raises_is_reported_once_and_the_run_goes_on(
    capfd: pytest.CaptureFixture[str],
) -> None:
    bad = FailingObserver()
    result, recorder = run(
        [TaskSpec("a", Noop), TaskSpec("b", Noop, depends_on=["a"])], "thread", observers=[bad]
    )
    assert result.ok
    assert bad.calls >= 6
    assert capfd.readouterr().err.count("observer FailingObserver.on_state_change failed") == 1
    assert recorder.result is result


class Store:
    def __init__(self) -> None:
        self.snapshots: list[RunSnapshot] = []

    def save(self, snapshot: RunSnapshot) -> None:
        self.snapshots.append(snapshot)


def test_the_checkpoint_store_hears_of_finishes_and_gets_the_final_state() -> None:
    store = Store()
    specs = [TaskSpec(f"t{i}", Noop, depends_on=[f"t{i - 1}"] if i else []) for i in range(5)]
    result = Runner(specs, executor=ThreadExecutor(), checkpoint=store).run()
    assert result.ok
    assert store.snapshots[-1].finished
    assert store.snapshots[-1].states == result.states
    assert not any(s.finished for s in store.snapshots[:-1])
    assert len(store.snapshots) <= 7  # coalesced: the start, at most one per finish, the end
    completed = [sum(st is S.COMPLETED for st in s.states.values()) for s in store.snapshots]
    assert completed == sorted(completed)
    last = store.snapshots[-1]
    assert last.ok and not last.aborted
    assert set(last.fingerprints) == {f"t{i}" for i in range(5)}
    assert last.fingerprints["t0"] == fingerprint(Noop, {})


class KeepingStore:
    """Keeps every snapshot, and what each said the moment it was saved."""

    def __init__(self) -> None:
        self.kept: list[tuple[RunSnapshot, dict[str, S], dict[str, int]]] = []

    def save(self, snapshot: RunSnapshot) -> None:
        self.kept.append((snapshot, dict(snapshot.states), dict(snapshot.attempts)))


def test_a_snapshot_kept_by_the_store_never_changes_after_the_save(executor: str) -> None:
    # More tasks than one chunk of the run's columns (64): the run writes on after each save.
    store = KeepingStore()
    n = 150
    specs = [TaskSpec(f"t{i}", Noop, depends_on=[f"t{i - 1}"] if i else []) for i in range(n)]
    chosen = ThreadExecutor() if executor == "thread" else ProcessExecutor()
    result = Runner(specs, executor=chosen, checkpoint=store).run()
    assert result.ok
    assert len(store.kept) > n // 2  # a chain finishes one task at a time: many saves
    for snapshot, states, attempts in store.kept:
        assert dict(snapshot.states) == states
        assert dict(snapshot.attempts) == attempts
        assert list(snapshot.states) == [f"t{i}" for i in range(n)]
        assert snapshot.states.get("nope", "absent") == "absent"
    done = [sum(st is S.COMPLETED for st in states.values()) for _, states, _ in store.kept]
    assert done == sorted(done) and done[0] == 0 and done[-1] == n


def test_observers_are_told_whether_the_run_resumes_an_earlier_one() -> None:
    specs = [TaskSpec("a", Noop), TaskSpec("b", Noop, depends_on=["a"])]
    _, fresh = run(specs, "thread")
    _, resumed = run(specs, "thread", run_kwargs={"completed": ["a"]})
    _, skipping = run(specs, "thread", run_kwargs={"skipped": ["a"]})
    assert fresh.started is not None and resumed.started is not None
    assert skipping.started is not None
    assert (fresh.started.resumed, resumed.started.resumed) == (False, True)
    assert not skipping.started.resumed  # --skip alone is not a resume
    assert fresh.started.tasks == ("a", "b") and fresh.started.job == "flowmancer"


def test_exit_code_counts_what_did_not_complete_capped_at_255() -> None:
    specs = [TaskSpec(f"f{i}", Fail) for i in range(260)]
    result, _ = run(specs, "thread")
    assert result.exit_code == 255
    assert not result.ok


def test_completed_and_skipped_tasks_are_not_run(marks: Path) -> None:
    specs = [
        TaskSpec("a", Track, {"folder": str(marks)}),
        TaskSpec("b", Track, {"folder": str(marks)}, depends_on=["a"]),
        TaskSpec("c", Track, {"folder": str(marks)}, depends_on=["b"]),
    ]
    result, recorder = run(specs, "thread", run_kwargs={"completed": ["a"], "skipped": ["b"]})
    assert result.states == {"a": S.COMPLETED, "b": S.SKIPPED, "c": S.COMPLETED}
    assert [line.split()[1] for line in (marks / "track").read_text().splitlines()] == ["c", "c"]
    assert recorder.changes[0].reason == "completed in an earlier run"


def test_a_bad_job_is_refused_with_every_problem_before_anything_runs() -> None:
    with pytest.raises(JobError) as info:
        Runner(
            [
                TaskSpec("a", "NoSuchTask"),
                TaskSpec(
                    "b", Track, {"seconds": "x"}, depends_on=["a", "zz"], pool="db", max_attempts=0
                ),
                TaskSpec("c", Noop, depends_on=["c"], timeout=-1, trigger_rule="sometimes"),
                TaskSpec("a", Noop),
            ],
            max_concurrency=-1,
        )
    assert [str(p) for p in info.value.problems] == [
        "config.max_concurrency: expected an integer >= 0, got -1",
        "tasks.a.task: no task class named 'NoSuchTask' is registered with @task",
        "tasks.b.parameters.folder: missing required value (str)",
        "tasks.b.parameters.seconds: expected float, got 'x'",
        "tasks.b.max_attempts: expected an integer >= 1, got 0",
        "tasks.b.pool: unknown pool 'db' (pools: none are defined)",
        "tasks.c.timeout: expected a number >= 0, got -1",
        "tasks.c.trigger_rule: expected one of all_success, all_done, one_failed, finally, "
        "got 'sometimes'",
        "tasks.a: defined more than once",
        "tasks.b.dependencies: depends on zz, which is not in the job",
        "tasks.c.dependencies: c depends on itself",
    ]
