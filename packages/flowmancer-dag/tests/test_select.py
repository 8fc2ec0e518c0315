"""select(): what a partial run executes."""

import pytest

from flowmancer_dag import Graph, SelectionError, UnknownNodeError


@pytest.fixture
def g() -> Graph[str]:
    #   extract -> clean -> load -> report
    #           \-> audit
    #   side (independent)
    return Graph(
        {
            "extract": [],
            "clean": ["extract"],
            "audit": ["extract"],
            "load": ["clean"],
            "report": ["load"],
            "side": [],
        }
    )


def test_no_selection_is_everything_in_insertion_order(g: Graph[str]) -> None:
    assert list(g.select()) == list(g)


def test_run_from_is_the_node_and_everything_downstream(g: Graph[str]) -> None:
    assert list(g.select(run_from="clean")) == ["clean", "load", "report"]


def test_run_to_is_the_node_and_everything_upstream(g: Graph[str]) -> None:
    assert list(g.select(run_to="load")) == ["extract", "clean", "load"]


def test_run_from_and_run_to_together_are_the_nodes_between(g: Graph[str]) -> None:
    assert list(g.select(run_from="clean", run_to="report")) == ["clean", "load", "report"]
    assert list(g.select(run_from="load", run_to="load")) == ["load"]


def test_skip_leaves_nodes_out(g: Graph[str]) -> None:
    chosen = g.select(skip=["clean", "side"])
    assert list(chosen) == ["extract", "audit", "load", "report"]
    assert "clean" not in chosen
    assert list(g.select(run_from="extract", skip=["audit"])) == [
        "extract",
        "clean",
        "load",
        "report",
    ]


def test_the_result_is_a_set(g: Graph[str]) -> None:
    chosen = g.select(run_to="clean")
    assert chosen == {"extract", "clean"}
    assert set(g) - chosen == {"audit", "load", "report", "side"}


def test_unknown_names_are_a_clear_error(g: Graph[str]) -> None:
    with pytest.raises(
        UnknownNodeError, match=r"unknown node in run_from: laod \(did you mean load\?\)"
    ):
        g.select(run_from="laod")
    with pytest.raises(UnknownNodeError, match="unknown node in run_to: nope"):
        g.select(run_to="nope")
    with pytest.raises(UnknownNodeError, match="unknown nodes in skip: x, y") as info:
        g.select(skip=["x", "load", "y"])
    assert info.value.nodes == ("x", "y")
    assert info.value.argument == "skip"


def test_run_to_upstream_of_run_from_selects_nothing_and_says_so(g: Graph[str]) -> None:
    with pytest.raises(SelectionError, match="run_to extract is not downstream of run_from load"):
        g.select(run_from="load", run_to="extract")
    with pytest.raises(SelectionError):
        g.select(run_from="audit", run_to="report")  # parallel branches


def test_selection_feeds_a_run(g: Graph[str]) -> None:
    chosen = g.select(run_from="load")
    run = g.run(skipped=[n for n in g if n not in chosen])
    assert run.ready() == ["load"]
