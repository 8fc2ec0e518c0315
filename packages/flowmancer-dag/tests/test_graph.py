"""Building a graph and looking at it."""

import pytest

from flowmancer_dag import Graph, TaskState, TriggerRule, UnknownNodeError


def diamond() -> Graph[str]:
    return Graph({"a": [], "b": ["a"], "c": ["a"], "d": ["b", "c"]})


def test_len_contains_and_iteration_follow_insertion_order() -> None:
    g = Graph({"z": [], "y": ["z"], "x": []})
    assert len(g) == 3
    assert "y" in g
    assert "w" not in g
    assert [] not in g  # unhashable is simply not a node
    assert list(g) == ["z", "y", "x"]


def test_dependencies_are_kept_as_declared_without_duplicates() -> None:
    g = Graph({"a": [], "b": [], "c": ["b", "a", "b"]})
    assert g.dependencies("c") == ("b", "a")


def test_dependents_ancestors_descendants_roots_leaves() -> None:
    g = diamond()
    assert g.dependents("a") == ("b", "c")
    assert g.ancestors("d") == ["a", "b", "c"]
    assert g.descendants("a") == ["b", "c", "d"]
    assert g.descendants("d") == []
    assert g.roots() == ["a"]
    assert g.leaves() == ["d"]


def test_add_builds_incrementally_and_merges_dependencies() -> None:
    g: Graph[str] = Graph()
    g.add("load", ["transform"])  # a dependency may be added later
    g.add("transform", ["extract"])
    g.add("extract")
    g.add("load", ["extract", "transform"])
    assert g.dependencies("load") == ("transform", "extract")
    assert g.order() == ["extract", "transform", "load"]


def test_add_after_order_is_seen_by_the_next_order() -> None:
    g = Graph({"a": []})
    assert g.order() == ["a"]
    g.add("b", ["a"])
    assert g.order() == ["a", "b"]
    assert g.dependents("a") == ("b",)


def test_nodes_may_be_any_hashable() -> None:
    g = Graph({1: [], (2, "x"): [1], frozenset({3}): [(2, "x")]})
    assert g.order() == [1, (2, "x"), frozenset({3})]


def test_a_single_string_of_dependencies_is_refused_with_the_fix() -> None:
    with pytest.raises(TypeError, match=r"load: dependencies must be a collection.*\['extract'\]"):
        Graph({"load": "extract"})  # type: ignore[dict-item]
    g: Graph[str] = Graph()
    with pytest.raises(TypeError, match="not a single string"):
        g.add("load", "extract")


def test_trigger_rules_are_validated_and_reported() -> None:
    g = Graph({"a": [], "b": ["a"], "c": ["a"]}, trigger_rules={"b": "all_done"})
    assert g.trigger_rule("b") is TriggerRule.ALL_DONE
    assert g.trigger_rule("c") is TriggerRule.ALL_SUCCESS
    g.add("c", trigger_rule=TriggerRule.ONE_FAILED)
    assert g.trigger_rule("c") is TriggerRule.ONE_FAILED
    g.add("c")  # no rule given: kept
    assert g.trigger_rule("c") is TriggerRule.ONE_FAILED
    with pytest.raises(
        ValueError,
        match=r"b: unknown trigger rule 'any_success' "
        r"\(expected one of all_success, all_done, one_failed, finally\)",
    ):
        Graph({"b": []}, trigger_rules={"b": "any_success"})
    with pytest.raises(UnknownNodeError, match="unknown node in trigger_rules: x"):
        Graph({"b": []}, trigger_rules={"x": "all_done"})


def test_unknown_node_in_a_query_names_it_and_suggests() -> None:
    g = diamond()
    g.add("transform")
    with pytest.raises(UnknownNodeError) as info:
        g.dependents("transfrom")
    assert str(info.value) == "unknown node: transfrom (did you mean transform?)"
    assert info.value.nodes == ("transfrom",)
    with pytest.raises(KeyError):
        g.dependencies("zzz")


def test_task_state_is_a_string_enum() -> None:
    assert TaskState.COMPLETED == "COMPLETED"
    assert str(TaskState.FAILED) == "FAILED"
    assert TaskState("SKIPPED") is TaskState.SKIPPED
    assert [s.value for s in TaskState] == [
        "INIT",
        "PENDING",
        "RUNNING",
        "COMPLETED",
        "FAILED",
        "DEFAULTED",
        "SKIPPED",
        "ABORTED",
    ]
    assert {s for s in TaskState if s.is_finished} == {
        TaskState.COMPLETED,
        TaskState.FAILED,
        TaskState.DEFAULTED,
        TaskState.SKIPPED,
        TaskState.ABORTED,
    }
    assert {s for s in TaskState if s.satisfies_dependents} == {
        TaskState.COMPLETED,
        TaskState.SKIPPED,
    }


def test_repr_counts_nodes_and_dependencies() -> None:
    assert repr(diamond()) == "<Graph: 4 nodes, 4 dependencies>"
