"""Left-out nodes (``Graph.run(skipped=...)``) pass order through: what follows one still waits
for what precedes it, and a failure before one is never turned into a run after it."""

from flowmancer_dag import Graph, TaskState

S = TaskState


def test_a_chain_with_its_middle_left_out_keeps_its_order() -> None:
    run = Graph({"extract": [], "transform": ["extract"], "load": ["transform"]}).run(
        skipped=["transform"]
    )
    assert run.states == {"extract": S.PENDING, "transform": S.INIT, "load": S.INIT}
    assert run.ready() == ["extract"]  # load waits for extract, through transform
    assert run.finish("extract", ok=True) == [("transform", S.SKIPPED)]
    assert run.ready() == ["load"]
    run.finish("load", ok=True)
    assert run.is_finished


def test_a_diamond_with_one_arm_left_out_waits_for_both_arms() -> None:
    g = Graph({"top": [], "left": ["top"], "right": ["top"], "join": ["left", "right"]})
    run = g.run(skipped=["left"])
    assert run.ready() == ["top"]
    assert run.finish("top", ok=True) == [("left", S.SKIPPED)]
    assert run.ready() == ["right"]  # join still waits for right
    run.finish("right", ok=True)
    assert run.ready() == ["join"]


def test_a_left_out_arm_of_a_diamond_does_not_let_the_join_overtake_the_top() -> None:
    g = Graph({"top": [], "left": ["top"], "right": ["top"], "join": ["left", "right"]})
    run = g.run(skipped=["left", "right"])
    assert run.ready() == ["top"]
    assert run.states["join"] is S.INIT
    assert run.finish("top", ok=True) == [("left", S.SKIPPED), ("right", S.SKIPPED)]
    assert run.ready() == ["join"]


def test_a_left_out_node_below_a_failure_is_defaulted_and_so_is_what_follows() -> None:
    run = Graph({"a": [], "b": ["a"], "c": ["b"]}).run(skipped=["b"])
    run.ready()
    assert run.finish("a", ok=False) == [("b", S.DEFAULTED), ("c", S.DEFAULTED)]
    assert run.ready() == []
    assert run.is_finished


def test_a_left_out_node_whose_upstream_is_left_out_too_waits_for_what_runs_before() -> None:
    g = Graph({"a": [], "b": ["a"], "c": ["b"], "d": ["c"]})
    run = g.run(skipped=["b", "c"])
    assert run.ready() == ["a"]
    assert run.finish("a", ok=True) == [("b", S.SKIPPED), ("c", S.SKIPPED)]
    assert run.ready() == ["d"]


def test_left_out_roots_and_their_left_out_dependents_settle_at_once() -> None:
    g = Graph({"a": [], "b": ["a"], "c": ["b"], "d": ["c"]})
    run = g.run(skipped=["a", "b"])
    assert run.states == {"a": S.SKIPPED, "b": S.SKIPPED, "c": S.PENDING, "d": S.INIT}
    assert run.ready() == ["c"]


def test_a_left_out_node_after_a_restored_one_settles_at_once() -> None:
    run = Graph({"a": [], "b": ["a"], "c": ["b"]}).run(completed=["a"], skipped=["b"])
    assert run.states == {"a": S.COMPLETED, "b": S.SKIPPED, "c": S.PENDING}


def test_a_one_failed_dependent_of_a_left_out_node_hears_of_a_failure_before_it() -> None:
    g = Graph({"a": [], "b": ["a"], "alert": ["b"]}, trigger_rules={"alert": "one_failed"})
    run = g.run(skipped=["b"])
    assert run.states["alert"] is S.INIT  # not SKIPPED at once: a may still fail
    run.ready()
    assert run.finish("a", ok=False) == [("b", S.DEFAULTED)]
    assert run.ready() == ["alert"]


def test_a_one_failed_dependent_of_a_left_out_node_is_skipped_when_all_went_well() -> None:
    g = Graph({"a": [], "b": ["a"], "alert": ["b"]}, trigger_rules={"alert": "one_failed"})
    run = g.run(skipped=["b"])
    run.ready()
    assert run.finish("a", ok=True) == [("b", S.SKIPPED), ("alert", S.SKIPPED)]
    assert run.is_finished


def test_an_all_done_dependent_of_a_left_out_node_waits_for_what_precedes_it() -> None:
    g = Graph({"a": [], "b": ["a"], "cleanup": ["b"]}, trigger_rules={"cleanup": "all_done"})
    run = g.run(skipped=["b"])
    assert run.ready() == ["a"]  # not cleanup: it would run beside a
    assert run.finish("a", ok=False) == [("b", S.DEFAULTED)]
    assert run.ready() == ["cleanup"]


def test_a_left_out_node_keeps_its_own_trigger_rule() -> None:
    # Leaving a node out is running it as a no-op that succeeds: an all_done node left out
    # settles once its upstream has finished, however that went, and lets its dependents go.
    g = Graph(
        {"a": [], "tidy": ["a"], "after": ["tidy"]},
        trigger_rules={"tidy": "all_done"},
    )
    run = g.run(skipped=["tidy"])
    run.ready()
    assert run.finish("a", ok=False) == [("tidy", S.SKIPPED)]
    assert run.ready() == ["after"]


def test_a_left_out_one_failed_node_settles_where_it_would_have_run() -> None:
    g = Graph(
        {"a": [], "b": [], "alert": ["a", "b"], "page": ["alert"]},
        trigger_rules={"alert": "one_failed"},
    )
    run = g.run(skipped=["alert"])
    run.ready()
    assert run.finish("a", ok=False) == [("alert", S.SKIPPED)]
    assert run.ready() == ["page"]


def test_aborting_the_node_before_a_left_out_one_defaults_it() -> None:
    run = Graph({"a": [], "b": ["a"], "c": ["b"]}).run(skipped=["b"])
    run.ready()
    assert run.abort("a") == [("b", S.DEFAULTED), ("c", S.DEFAULTED)]
