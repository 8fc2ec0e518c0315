"""validate(): every problem at once, each with its data and a message a person can act on."""

import pytest

from flowmancer_dag import CycleError, Graph, GraphError, MissingDependencyError


def test_a_valid_graph_validates() -> None:
    Graph({"a": [], "b": ["a"]}).validate()
    Graph().validate()


def test_a_cycle_carries_its_path_first_node_repeated() -> None:
    g = Graph({"a": ["c"], "b": ["a"], "c": ["b"], "d": ["a"]})
    with pytest.raises(CycleError) as info:
        g.validate()
    assert info.value.cycle == ("a", "c", "b", "a")
    assert str(info.value) == "dependency cycle: a -> c -> b -> a (each depends on the next)"
    assert info.value.problems == (info.value,)
    assert isinstance(info.value, ValueError)


def test_a_self_dependency_is_a_cycle_of_one() -> None:
    with pytest.raises(CycleError) as info:
        Graph({"a": ["a"]}).validate()
    assert info.value.cycle == ("a", "a")
    assert str(info.value) == "a depends on itself"


def test_a_missing_dependency_names_node_and_missing_with_a_suggestion() -> None:
    g = Graph({"extract": [], "load": ["extrac", "ghost"]})
    with pytest.raises(MissingDependencyError) as info:
        g.validate()
    assert info.value.node == "load"
    assert info.value.missing == ("extrac", "ghost")
    assert str(info.value) == (
        "load depends on extrac (did you mean extract?), ghost, which are not in the graph"
    )


def test_every_problem_is_reported_at_once() -> None:
    g = Graph(
        {
            "a": ["b"],
            "b": ["a"],
            "c": ["x"],
            "d": ["d"],
            "e": ["a"],  # downstream of a cycle, not on one: not reported as a cycle
            "f": ["g"],
            "g": ["h"],
            "h": ["f", "y"],
        }
    )
    with pytest.raises(GraphError) as info:
        g.validate()
    error = info.value
    assert type(error) is GraphError
    kinds = [
        (type(p).__name__, getattr(p, "cycle", None) or getattr(p, "node", None))
        for p in error.problems
    ]
    assert kinds == [
        ("MissingDependencyError", "c"),
        ("MissingDependencyError", "h"),
        ("CycleError", ("a", "b", "a")),
        ("CycleError", ("d", "d")),
        ("CycleError", ("f", "g", "h", "f")),
    ]
    lines = str(error).splitlines()
    assert lines[0] == "the graph has 5 problems:"
    assert lines[1:] == [f"  - {p}" for p in error.problems]


def test_order_levels_run_and_critical_path_refuse_an_invalid_graph() -> None:
    g = Graph({"a": ["b"], "b": ["a"]})
    for call in (g.order, g.levels, g.run, lambda: g.critical_path({})):
        with pytest.raises(CycleError):
            call()


def test_queries_still_work_on_an_invalid_graph() -> None:
    g = Graph({"a": ["b"], "b": ["a"], "c": ["a", "zz"]})
    assert g.dependents("a") == ("b", "c")
    assert g.ancestors("c") == ["a", "b"]
    assert g.descendants("a") == ["b", "c"]


def test_a_long_cycle_does_not_hit_the_recursion_limit() -> None:
    n = 50_000
    g = Graph({i: [(i + 1) % n] for i in range(n)})
    with pytest.raises(CycleError) as info:
        g.validate()
    assert len(info.value.cycle) == n + 1
    assert info.value.cycle[0] == info.value.cycle[-1] == 0


def test_non_string_nodes_are_shown_by_repr() -> None:
    with pytest.raises(MissingDependencyError, match=r"^\('job', 1\) depends on 2, which is not"):
        Graph({("job", 1): [2]}).validate()


def test_errors_survive_pickling_with_their_attributes() -> None:
    import pickle

    from flowmancer_dag import RunError, SelectionError, UnknownNodeError

    with pytest.raises(GraphError) as info:
        Graph({"a": ["b"], "b": ["a"], "c": ["x"]}).validate()
    errors: list[Exception] = [
        info.value,
        UnknownNodeError(["lod"], "skip", ["load"]),
        RunError("a", "cannot finish"),
        SelectionError("a", "b"),
    ]
    for error in errors:
        copy = pickle.loads(pickle.dumps(error))
        assert type(copy) is type(error)
        assert str(copy) == str(error)
        assert vars(copy).keys() == vars(error).keys()
    copy = pickle.loads(pickle.dumps(info.value))
    assert [str(p) for p in copy.problems] == [str(p) for p in info.value.problems]
    assert copy.problems[1].cycle == ("a", "b", "a")
