"""order(), levels() and critical_path()."""

import pytest

from flowmancer_dag import Graph


def test_order_puts_dependencies_first_and_keeps_insertion_order_on_ties() -> None:
    g = Graph({"d": ["b", "c"], "c": ["a"], "b": ["a"], "a": []})
    assert g.order() == ["a", "c", "b", "d"]


def test_a_graph_written_in_a_valid_order_comes_back_as_written() -> None:
    names = [f"t{i}" for i in range(200)]
    g = Graph({n: names[max(0, i - 3) : i] for i, n in enumerate(names)})
    assert g.order() == names


def test_the_earliest_inserted_ready_node_always_goes_first() -> None:
    # "late" becomes ready before "b" does, but "b" was inserted first.
    g = Graph({"a": [], "b": ["a"], "late": []})
    assert g.order() == ["a", "b", "late"]


def test_levels_are_generations_in_insertion_order() -> None:
    g = Graph({"x": [], "a": [], "b": ["a"], "c": ["a", "x"], "d": ["b", "c"], "e": ["a"]})
    assert g.levels() == [["x", "a"], ["b", "c", "e"], ["d"]]
    assert Graph().levels() == []


def test_critical_path_is_the_longest_chain() -> None:
    g = Graph({"a": [], "b": ["a"], "c": ["a"], "d": ["b", "c"]})
    assert g.critical_path({"a": 1, "b": 2, "c": 5, "d": 1}) == (7.0, ["a", "c", "d"])
    assert g.critical_path({"a": 1, "b": 5, "c": 2, "d": 1}) == (7.0, ["a", "b", "d"])


def test_critical_path_breaks_ties_by_insertion_order_and_defaults_to_zero() -> None:
    g = Graph({"a": [], "b": [], "c": ["a", "b"]})
    assert g.critical_path({}) == (0.0, ["a", "c"])
    assert g.critical_path({"b": 1.5}) == (1.5, ["b", "c"])
    assert Graph().critical_path({}) == (0.0, [])


def test_critical_path_refuses_negative_durations() -> None:
    with pytest.raises(ValueError, match=r"a: duration must not be negative, got -1\.0"):
        Graph({"a": []}).critical_path({"a": -1})
