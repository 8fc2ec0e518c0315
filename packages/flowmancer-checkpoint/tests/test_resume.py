"""Resume rules: what a resumed run keeps, what it runs again, and the one line that says so."""

from __future__ import annotations

from ckpt_support import Snapshot, snapshot

from flowmancer_checkpoint import Definition, MemoryCheckpointer, plan_resume
from flowmancer_dag import Graph, TaskState

S = TaskState


def saved(**states: str) -> MemoryCheckpointer:
    store = MemoryCheckpointer()
    snap = snapshot(**states)
    store.save(Snapshot(**{**snap.__dict__, "shared_dict": {"rows": 7}}))
    return store


def now(*names: str, **changed: str) -> dict[str, str]:
    return {**{name: f"fp-{name}" for name in names}, **changed}


def test_no_checkpoint_is_a_fresh_start_said_in_one_line() -> None:
    plan = plan_resume("nightly", None, now("a"))
    assert plan.fresh and plan.completed == ()
    assert plan.summary() == "no checkpoint for job 'nightly': starting a fresh run"


def test_completed_and_unchanged_tasks_stay_completed() -> None:
    store = saved(a="COMPLETED", b="COMPLETED", c="FAILED")
    plan = plan_resume("nightly", store.load("nightly"), now("a", "b", "c"))
    assert plan.completed == ("a", "b")
    assert plan.shared_dict == {"rows": 7}


def test_failed_tasks_run_again_with_on_restart() -> None:
    store = saved(a="COMPLETED", b="FAILED")
    plan = plan_resume("nightly", store.load("nightly"), now("a", "b"))
    assert plan.restarted == ("b",) and "b" not in plan.completed


def test_aborted_defaulted_running_and_pending_tasks_run_again_without_on_restart() -> None:
    store = saved(a="ABORTED", b="DEFAULTED", c="RUNNING", d="PENDING", e="INIT", f="SKIPPED")
    plan = plan_resume("nightly", store.load("nightly"), now(*"abcdef"))
    assert plan.completed == () and plan.restarted == ()
    assert dict(plan.again) == {
        "a": S.ABORTED,
        "b": S.DEFAULTED,
        "c": S.RUNNING,
        "d": S.PENDING,
        "e": S.INIT,
        "f": S.SKIPPED,
    }


def test_a_task_whose_class_or_parameters_changed_runs_again() -> None:
    store = saved(a="COMPLETED", b="COMPLETED")
    plan = plan_resume("nightly", store.load("nightly"), now("a", b="fp-b-edited"))
    assert plan.completed == ("a",) and plan.changed == ("b",)


def test_added_tasks_run_and_removed_ones_are_dropped() -> None:
    store = saved(a="COMPLETED", gone="FAILED")
    plan = plan_resume("nightly", store.load("nightly"), now("a", "new"))
    assert plan.completed == ("a",)
    assert plan.added == ("new",) and plan.dropped == ("gone",)
    assert plan.restarted == ()  # a dropped failure is not restarted


def test_the_summary_says_what_is_kept_and_what_will_run() -> None:
    store = saved(a="COMPLETED", b="COMPLETED", c="FAILED", d="ABORTED", gone="COMPLETED")
    plan = plan_resume("nightly", store.load("nightly"), now("a", "c", "d", "e", b="edited"))
    line = plan.summary()
    assert "\n" not in line
    assert line.startswith("resuming job 'nightly' from run 20261126T140307Z-1a2b3c4d (saved ")
    assert line.endswith(
        "1 completed kept; running 1 failed (c), 1 aborted (d), 1 changed since (b), "
        "1 new (e); dropped 1 no longer in the job (gone)"
    )


def test_the_summary_names_lost_shared_values() -> None:
    store = MemoryCheckpointer(report=lambda _: None)
    snap = snapshot(a="FAILED")
    store.save(Snapshot(**{**snap.__dict__, "shared_dict": {"conn": object(), "n": 1}}))
    plan = plan_resume("nightly", store.load("nightly"), now("a"))
    assert plan.lost == {"conn": "object cannot be saved as JSON"}
    assert plan.shared_dict == {"n": 1}
    assert "shared_dict lost 'conn' (not saved)" in plan.summary()


def test_long_lists_of_names_are_shortened() -> None:
    store = saved(**{f"t{i}": "FAILED" for i in range(8)})
    plan = plan_resume("nightly", store.load("nightly"), now(*(f"t{i}" for i in range(8))))
    assert "8 failed (t0, t1, t2, t3, t4, +3 more)" in plan.summary()


def test_a_completed_task_saved_without_a_fingerprint_is_kept() -> None:
    from flowmancer_checkpoint import Checkpoint, TaskEntry

    record = Checkpoint("nightly", "old", 0.0, 0.0, {"a": TaskEntry(S.COMPLETED)})
    plan = plan_resume("nightly", record, now("a"))
    assert plan.completed == ("a",) and plan.changed == ()


def chain_graph(*names: str) -> Graph[str]:
    return Graph({name: [names[i - 1]] if i else [] for i, name in enumerate(names)})


def test_everything_downstream_of_a_task_that_runs_again_runs_again() -> None:
    store = saved(a="COMPLETED", b="COMPLETED", c="COMPLETED", d="FAILED", side="COMPLETED")
    graph = chain_graph("a", "b", "c", "d")
    graph.add("side", [])
    plan = plan_resume(
        "nightly", store.load("nightly"), now("b", "c", "d", "side", a="edited"), graph=graph
    )
    assert plan.completed == ("side",)
    assert plan.changed == ("a",)
    assert dict(plan.downstream) == {"b": "a", "c": "b"}
    assert plan.why["c"] == "upstream b runs again"
    assert "2 downstream of a task that runs again (b, c)" in plan.summary()


def test_a_failed_task_does_not_make_its_completed_upstream_run_again() -> None:
    store = saved(a="COMPLETED", b="FAILED")
    plan = plan_resume("nightly", store.load("nightly"), now("a", "b"), graph=chain_graph("a", "b"))
    assert plan.completed == ("a",) and plan.restarted == ("b",)


def test_a_task_left_out_never_makes_its_dependents_run_again() -> None:
    store = saved(a="FAILED", b="COMPLETED")
    plan = plan_resume(
        "nightly", store.load("nightly"), now("a", "b"), graph=chain_graph("a", "b"), left_out=["a"]
    )
    assert plan.completed == ("b",) and plan.restarted == ()


def test_a_task_named_to_keep_is_kept_though_changed_and_its_dependents_with_it() -> None:
    store = saved(a="COMPLETED", b="COMPLETED", c="FAILED")
    plan = plan_resume(
        "nightly",
        store.load("nightly"),
        now("b", "c", a="edited"),
        graph=chain_graph("a", "b", "c"),
        keep=["a"],
    )
    assert set(plan.completed) == {"a", "b"} and plan.restarted == ("c",)
    assert dict(plan.kept) == {"a": "changed since (class, code or parameters)"}


def test_a_stale_task_left_out_by_selection_is_neither_kept_nor_run() -> None:
    # --run-to a: b is downstream of a, which runs again, and is not in the selection: it must
    # not stay COMPLETED (a later resume runs it), nor run now.
    store = saved(a="COMPLETED", b="COMPLETED")
    plan = plan_resume(
        "nightly",
        store.load("nightly"),
        now("b", a="edited"),
        graph=chain_graph("a", "b"),
        left_out=["b"],
    )
    assert plan.completed == () and plan.changed == ("a",) and "b" not in plan.why


def test_what_changed_is_named_with_old_and_new_values() -> None:
    store = MemoryCheckpointer()
    store.definitions = {
        "a": Definition("Load", "code-1", {"rows": ("d10", "10"), "gone": ("dg", "'x'")}),
        "b": Definition("Load", "code-1", {}),
    }
    store.save(snapshot(a="COMPLETED", b="COMPLETED"))
    plan = plan_resume(
        "nightly",
        store.load("nightly"),
        now(a="edited", b="edited"),
        definitions={
            "a": Definition("Load", "code-1", {"rows": ("d50", "50"), "new": ("dn", "***")}),
            "b": Definition("Load", "code-2", {}),
        },
    )
    assert plan.changes["a"] == (
        "parameter rows changed: 10 -> 50",
        "parameter gone removed (was 'x')",
        "parameter new added: ***",
    )
    assert plan.why["b"] == "code of Load changed"


def test_a_task_whose_output_could_not_be_saved_runs_again() -> None:
    store = MemoryCheckpointer(report=lambda _: None)
    snap = snapshot(a="COMPLETED", b="COMPLETED", c="FAILED")
    store.save(
        Snapshot(
            **{
                **snap.__dict__,
                "shared_dict": {"frame": object(), "n": 1},
                "writers": {"frame": "a", "n": "b"},
            }
        )
    )
    record = store.load("nightly")
    assert record is not None and dict(record.unrestorable) == {
        "a": "shared_dict['frame']: object cannot be saved as JSON"
    }
    plan = plan_resume("nightly", record, now("a", "b", "c"), graph=chain_graph("a", "b", "c"))
    assert plan.unrestorable == {"a": "shared_dict['frame']: object cannot be saved as JSON"}
    assert plan.completed == () and dict(plan.downstream) == {"b": "a"}


def test_results_of_kept_tasks_are_handed_back() -> None:
    store = MemoryCheckpointer(report=lambda _: None)
    snap = snapshot(a="COMPLETED", b="COMPLETED", c="FAILED")
    results = {"a": {"rows": 3}, "b": object()}
    store.save(Snapshot(**{**snap.__dict__, "results": results}))
    record = store.load("nightly")
    assert record is not None
    assert dict(record.results) == {"a": {"rows": 3}}
    assert dict(record.unrestorable) == {"b": "its result: object cannot be saved as JSON"}
    plan = plan_resume("nightly", record, now("a", "b", "c"))
    assert plan.completed == ("a",) and plan.results == {"a": {"rows": 3}}


def test_a_completed_finally_task_runs_again_when_anything_else_runs() -> None:
    # cleanup has no dependency: it is not downstream of anything, yet cleanup follows the work
    # it cleans up after, so a resume that runs b runs it again too, and says why.
    store = saved(a="COMPLETED", b="FAILED", cleanup="COMPLETED")
    graph = Graph({"a": [], "b": ["a"], "cleanup": []})
    plan = plan_resume(
        "nightly",
        store.load("nightly"),
        now("a", "b", "cleanup"),
        graph=graph,
        finally_tasks=["cleanup"],
    )
    assert plan.completed == ("a",) and plan.finally_again == ("cleanup",)
    assert plan.why["cleanup"] == "finally, again after what this resume runs"
    assert "1 finally again (cleanup)" in plan.summary()


def test_a_completed_finally_task_is_kept_when_nothing_else_runs_or_it_is_left_out() -> None:
    store = saved(a="COMPLETED", cleanup="COMPLETED")
    plan = plan_resume(
        "nightly", store.load("nightly"), now("a", "cleanup"), finally_tasks=["cleanup"]
    )
    assert plan.completed == ("a", "cleanup") and plan.finally_again == ()
    store = saved(a="COMPLETED", b="FAILED", cleanup="COMPLETED")
    plan = plan_resume(
        "nightly",
        store.load("nightly"),
        now("a", "b", "cleanup"),
        finally_tasks=["cleanup"],
        left_out=["cleanup"],
    )
    assert plan.finally_again == () and "cleanup" in plan.completed
