"""Run: the state machine a runner drives."""

import pytest

from flowmancer_dag import Graph, RunError, TaskState, UnknownNodeError

S = TaskState


def chain() -> Graph[str]:
    return Graph({"a": [], "b": ["a"], "c": ["b"]})


def test_nodes_are_handed_out_once_as_they_become_ready() -> None:
    g = Graph({"a": [], "b": [], "c": ["a", "b"]})
    run = g.run()
    assert run.states == {"a": S.PENDING, "b": S.PENDING, "c": S.INIT}
    assert run.ready() == ["a", "b"]
    assert run.ready() == []
    assert run.finish("a", ok=True) == []
    assert run.ready() == []  # c still waits for b
    run.finish("b", ok=True)
    assert run.ready() == ["c"]
    assert not run.is_finished
    run.finish("c", ok=True)
    assert run.is_finished
    assert set(run.states.values()) == {S.COMPLETED}


def test_start_marks_running_and_is_optional() -> None:
    run = chain().run()
    run.ready()
    run.start("a")
    assert run.states["a"] is S.RUNNING
    run.finish("a", ok=True)
    (b,) = run.ready()
    run.finish(b, ok=True)  # never started: still fine
    assert run.states["b"] is S.COMPLETED


def test_a_failure_defaults_every_descendant_without_handing_it_out() -> None:
    g = Graph({"a": [], "b": ["a"], "c": ["b"], "d": ["c"], "side": []})
    run = g.run()
    assert run.ready() == ["a", "side"]
    settled = run.finish("a", ok=False)
    assert settled == [("b", S.DEFAULTED), ("c", S.DEFAULTED), ("d", S.DEFAULTED)]
    assert run.ready() == []
    assert not run.is_finished  # side is still out
    run.finish("side", ok=True)
    assert run.is_finished
    assert run.states["a"] is S.FAILED


def test_a_node_is_defaulted_as_soon_as_one_upstream_fails() -> None:
    g = Graph({"slow": [], "bad": [], "join": ["slow", "bad"]})
    run = g.run()
    run.ready()
    assert run.finish("bad", ok=False) == [("join", S.DEFAULTED)]
    assert run.finish("slow", ok=True) == []
    assert run.ready() == []
    assert run.is_finished


def test_all_done_runs_after_every_upstream_finished_whatever_the_outcome() -> None:
    g = Graph(
        {"a": [], "b": ["a"], "x": [], "cleanup": ["b", "x"]},
        trigger_rules={"cleanup": "all_done"},
    )
    run = g.run()
    assert run.ready() == ["a", "x"]
    assert run.finish("a", ok=False) == [("b", S.DEFAULTED)]
    assert run.ready() == []  # x is still running
    run.finish("x", ok=True)
    assert run.ready() == ["cleanup"]
    run.finish("cleanup", ok=True)
    assert run.is_finished


def test_one_failed_runs_at_the_first_failure() -> None:
    g = Graph(
        {"a": [], "b": [], "alert": ["a", "b"]},
        trigger_rules={"alert": "one_failed"},
    )
    run = g.run()
    run.ready()
    run.finish("a", ok=False)
    assert run.ready() == ["alert"]  # does not wait for b
    run.finish("b", ok=True)
    run.finish("alert", ok=True)
    assert run.is_finished


def test_one_failed_is_skipped_when_everything_upstream_succeeded() -> None:
    g = Graph(
        {"a": [], "alert": ["a"], "after": ["alert"]},
        trigger_rules={"alert": "one_failed"},
    )
    run = g.run()
    run.ready()
    assert run.finish("a", ok=True) == [("alert", S.SKIPPED)]
    assert run.ready() == ["after"]  # SKIPPED satisfies dependents


def test_one_failed_fires_for_a_defaulted_upstream() -> None:
    g = Graph({"a": [], "b": ["a"], "alert": ["b"]}, trigger_rules={"alert": "one_failed"})
    run = g.run()
    run.ready()
    assert run.finish("a", ok=False) == [("b", S.DEFAULTED)]
    assert run.ready() == ["alert"]


def test_a_one_failed_root_is_skipped_at_once() -> None:
    run = Graph({"alert": []}, trigger_rules={"alert": "one_failed"}).run()
    assert run.states["alert"] is S.SKIPPED
    assert run.ready() == []
    assert run.is_finished


def test_completed_and_skipped_nodes_satisfy_dependents() -> None:
    g = Graph({"a": [], "b": ["a"], "c": ["b"], "d": ["c"]})
    run = g.run(completed=["a"], skipped=["b"])
    assert run.states == {"a": S.COMPLETED, "b": S.SKIPPED, "c": S.PENDING, "d": S.INIT}
    assert run.ready() == ["c"]


def test_everything_completed_is_finished_at_once() -> None:
    run = chain().run(completed=["a", "b", "c"])
    assert run.is_finished
    assert run.ready() == []


def test_completed_or_skipped_must_be_known_and_disjoint() -> None:
    with pytest.raises(UnknownNodeError, match="unknown node in completed: zz"):
        chain().run(completed=["zz"])
    with pytest.raises(UnknownNodeError, match="unknown node in skipped: q"):
        chain().run(skipped=["q"])
    with pytest.raises(ValueError, match="both completed and skipped: b"):
        chain().run(completed=["a", "b"], skipped=["b"])


def test_finishing_a_node_never_handed_out_raises_naming_it() -> None:
    run = chain().run()
    with pytest.raises(RunError, match="a: cannot finish: it is ready but was not handed out"):
        run.finish("a", ok=True)
    run.ready()
    with pytest.raises(RunError, match="b: cannot finish: it is not ready") as info:
        run.finish("b", ok=True)
    assert info.value.node == "b"


def test_finishing_twice_raises() -> None:
    run = chain().run()
    run.ready()
    run.finish("a", ok=True)
    with pytest.raises(RunError, match=r"a: cannot finish: it has already finished \(COMPLETED\)"):
        run.finish("a", ok=False)


def test_finishing_a_defaulted_node_raises() -> None:
    run = chain().run()
    run.ready()
    run.finish("a", ok=False)
    with pytest.raises(RunError, match=r"b: cannot finish: it has already finished \(DEFAULTED\)"):
        run.finish("b", ok=True)


def test_start_misuse_raises() -> None:
    run = chain().run()
    with pytest.raises(RunError, match="a: cannot start"):
        run.start("a")
    run.ready()
    run.start("a")
    with pytest.raises(RunError, match="a: cannot start: it is RUNNING"):
        run.start("a")


def test_unknown_node_in_finish_is_named() -> None:
    run = chain().run()
    with pytest.raises(UnknownNodeError, match="unknown node: nope"):
        run.finish("nope", ok=True)


def test_abort_marks_one_node_and_defaults_what_needed_it() -> None:
    g = Graph({"a": [], "b": ["a"], "side": []})
    run = g.run()
    run.ready()
    run.start("a")
    assert run.abort("a") == [("b", S.DEFAULTED)]
    assert run.states["a"] is S.ABORTED
    with pytest.raises(RunError, match=r"a: cannot abort: it has already finished \(ABORTED\)"):
        run.abort("a")


def test_a_node_aborted_before_it_is_handed_out_is_never_handed_out() -> None:
    run = Graph({"a": [], "b": []}).run()
    run.abort("a")
    assert run.ready() == ["b"]


def test_abort_all_aborts_everything_unfinished_and_hands_out_nothing_more() -> None:
    g = Graph({"a": [], "b": ["a"], "c": [], "d": ["c"]})
    run = g.run()
    run.ready()
    run.finish("c", ok=True)
    assert run.abort_all() == ["a", "b", "d"]
    assert run.ready() == []
    assert run.is_finished
    assert run.states == {"a": S.ABORTED, "b": S.ABORTED, "c": S.COMPLETED, "d": S.ABORTED}


def test_a_run_does_not_see_nodes_added_to_its_graph_later() -> None:
    g = Graph({"a": []})
    run = g.run()
    g.add("b", ["a"])
    run.ready()
    run.finish("a", ok=True)
    assert run.is_finished
    assert list(run.states) == ["a"]


def test_states_is_a_live_read_only_view() -> None:
    run = chain().run()
    states = run.states
    assert len(states) == 3
    run.ready()
    run.finish("a", ok=True)
    assert states["a"] is S.COMPLETED
    assert "COMPLETED" in repr(states)
    with pytest.raises(TypeError):
        states["a"] = S.FAILED  # type: ignore[index]
