"""``finally`` nodes run after every other node has finished, whatever happened."""

import pickle

import pytest

from flowmancer_dag import FinallyDependencyError, Graph, GraphError, TaskState, TriggerRule

S = TaskState


def job() -> Graph[str]:
    return Graph(
        {
            "extract": [],
            "load": ["extract"],
            "side": [],
            "side2": ["side"],
            "cleanup": ["load"],
        },
        trigger_rules={"cleanup": "finally"},
    )


def test_finally_waits_for_every_other_node_not_only_its_dependencies() -> None:
    run = job().run()
    assert run.ready() == ["extract", "side"]
    run.finish("extract", ok=True)
    assert run.ready() == ["load"]
    run.finish("load", ok=True)
    assert run.ready() == []  # side2 has not run yet, and cleanup is last
    run.finish("side", ok=True)
    assert run.ready() == ["side2"]
    run.finish("side2", ok=True)
    assert run.ready() == ["cleanup"]
    run.finish("cleanup", ok=True)
    assert run.is_finished


def test_finally_runs_after_a_failure_once_the_other_branches_have_finished() -> None:
    # all_done would run beside side2 here (its upstream load is DEFAULTED at once).
    run = job().run()
    run.ready()
    assert run.finish("extract", ok=False) == [("load", S.DEFAULTED)]
    assert run.ready() == []
    run.finish("side", ok=True)
    run.ready()
    run.finish("side2", ok=False)
    assert run.ready() == ["cleanup"]
    run.finish("cleanup", ok=True)
    assert run.is_finished
    assert run.states["cleanup"] is S.COMPLETED


def test_finally_nodes_keep_their_order_among_themselves() -> None:
    g = Graph(
        {"work": [], "close": [], "report": ["close"], "other": []},
        trigger_rules={"close": "finally", "report": "finally", "other": "finally"},
    )
    run = g.run()
    assert run.ready() == ["work"]
    run.finish("work", ok=False)
    assert run.ready() == ["close", "other"]
    run.finish("other", ok=True)
    assert run.ready() == []
    run.finish("close", ok=False)  # report runs after close, whatever close did
    assert run.ready() == ["report"]


def test_a_graph_of_finally_nodes_alone_runs_them_at_once() -> None:
    run = Graph({"only": []}, trigger_rules={"only": "finally"}).run()
    assert run.ready() == ["only"]


def test_a_left_out_finally_node_settles_skipped_when_it_would_have_run() -> None:
    g = Graph(
        {"work": [], "close": [], "report": ["close"]},
        trigger_rules={"close": "finally", "report": "finally"},
    )
    run = g.run(skipped=["close"])
    assert run.ready() == ["work"]
    assert run.states["close"] is S.INIT
    assert run.finish("work", ok=True) == [("close", S.SKIPPED)]
    assert run.ready() == ["report"]


def test_finally_goes_at_once_when_everything_else_was_restored_or_left_out() -> None:
    run = job().run(completed=["extract", "load", "side"], skipped=["side2"])
    assert run.ready() == ["cleanup"]


def test_abort_all_but_finally_aborts_the_rest_and_lets_finally_run() -> None:
    run = job().run()
    run.ready()
    run.start("extract")
    run.finish("side", ok=True)
    assert run.ready() == ["side2"]
    assert run.abort_all_but_finally() == [
        ("extract", S.ABORTED),
        ("load", S.ABORTED),
        ("side2", S.ABORTED),
    ]
    assert run.states == {
        "extract": S.ABORTED,
        "load": S.ABORTED,
        "side": S.COMPLETED,
        "side2": S.ABORTED,
        "cleanup": S.PENDING,
    }
    assert run.ready() == ["cleanup"]
    assert not run.is_finished
    run.finish("cleanup", ok=True)
    assert run.is_finished


def test_abort_all_after_abort_all_but_finally_stops_the_finally_nodes_too() -> None:
    run = job().run()
    run.ready()
    run.abort_all_but_finally()
    assert run.abort_all() == ["cleanup"]
    assert run.ready() == []
    assert run.is_finished


def test_a_node_that_is_not_finally_cannot_depend_on_a_finally_node() -> None:
    g = Graph(
        {"work": [], "cleanup": ["work"], "report": ["cleanup"], "more": ["cleanup", "work"]},
        trigger_rules={"cleanup": TriggerRule.FINALLY},
    )
    with pytest.raises(GraphError) as info:
        g.validate()
    problems = info.value.problems
    assert [type(p) for p in problems] == [FinallyDependencyError, FinallyDependencyError]
    first = problems[0]
    assert isinstance(first, FinallyDependencyError)
    assert (first.node, first.finally_nodes) == ("report", ("cleanup",))
    assert str(first) == (
        "report depends on cleanup, a finally node: a finally node runs after every other node, "
        "so only finally nodes may depend on it (make report finally too, or drop the dependency)"
    )
    copy = pickle.loads(pickle.dumps(first))
    assert (copy.node, copy.finally_nodes, str(copy)) == (
        first.node,
        first.finally_nodes,
        str(first),
    )
    with pytest.raises(GraphError):
        g.run()
