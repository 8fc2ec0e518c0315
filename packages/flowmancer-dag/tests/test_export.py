"""to_mermaid() and to_dot()."""

import shutil
import subprocess

import pytest

from flowmancer_dag import Graph, TaskState


def test_mermaid_has_a_box_per_node_and_an_arrow_per_dependency() -> None:
    g = Graph({"extract": [], "load": ["extract"]})
    assert g.to_mermaid() == ('flowchart LR\n    n0["extract"]\n    n1["load"]\n    n0 --> n1\n')


def test_mermaid_with_states_styles_each_node_and_names_its_state() -> None:
    g = Graph({"a": [], "b": ["a"], "c": ["a"]})
    text = g.to_mermaid({"a": TaskState.COMPLETED, "b": "FAILED"})
    assert '    n0["a (COMPLETED)"]' in text
    assert '    n1["b (FAILED)"]' in text
    assert '    n2["c"]' in text
    assert "    classDef completed fill:" in text
    assert "    class n0 completed" in text
    assert "    class n1 failed" in text


def test_mermaid_escapes_what_would_break_a_label() -> None:
    text = Graph({'say "hi" <b> #1': []}).to_mermaid()
    assert '    n0["say #quot;hi#quot; #lt;b#gt; #35;1"]' in text


def test_dot_uses_quoted_names_and_fills_by_state() -> None:
    g = Graph({'ex"tract': [], "load": ['ex"tract']})
    text = g.to_dot({"load": TaskState.RUNNING})
    assert text.startswith("digraph flowmancer {\n")
    assert '    "ex\\"tract";' in text
    assert '    "ex\\"tract" -> "load";' in text
    assert '"load" [label="load\\nRUNNING", fillcolor=' in text
    assert text.endswith("}\n")


def test_dot_numbers_nodes_that_print_alike() -> None:
    text = Graph({1: [], "1": [1]}).to_dot()
    assert '    n0 [label="1"];' in text
    assert "    n0 -> n1;" in text


@pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz is not installed")
def test_dot_output_is_accepted_by_graphviz() -> None:
    g = Graph({"a": [], "b": ["a"], 'c "q"': ["a", "b"]})
    result = subprocess.run(
        ["dot", "-Tsvg"], input=g.to_dot({"a": "COMPLETED"}), capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
