"""Properties that hold for every graph, checked on random ones."""

from __future__ import annotations

import graphlib
import itertools
import random

from hypothesis import given
from hypothesis import strategies as st

from flowmancer_dag import CycleError, Graph, GraphError, MissingDependencyError, TaskState

Mapping = dict[str, list[str]]
FINISHED_OK = {TaskState.COMPLETED, TaskState.SKIPPED}


@st.composite
def mappings(draw: st.DrawFn, *, acyclic: bool = False, missing: bool = False) -> Mapping:
    """A random graph: random names, random insertion order, random edges."""
    n = draw(st.integers(0, 24))
    names = [f"t{i}" for i in range(n)]
    inserted = draw(st.permutations(names))
    mapping: Mapping = {name: [] for name in inserted}
    if n:
        pairs = draw(
            st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=3 * n)
        )
        for a, b in pairs:
            if acyclic and a <= b:  # edges only point to smaller numbers: no cycle possible
                continue
            mapping[names[a]].append(names[b])
    if missing and n:
        for name in draw(st.lists(st.sampled_from(names), max_size=3)):
            mapping[name].append(f"ghost-{name}")
    return mapping


def problems_of(graph: Graph[str]) -> list[GraphError]:
    try:
        graph.validate()
    except GraphError as error:
        return list(error.problems)
    return []


@given(mappings(acyclic=True))
def test_every_order_respects_every_edge(mapping: Mapping) -> None:
    order = Graph(mapping).order()
    assert sorted(order) == sorted(mapping)
    position = {node: i for i, node in enumerate(order)}
    for node, deps in mapping.items():
        for dep in deps:
            assert position[dep] < position[node]


@given(mappings(acyclic=True))
def test_order_is_the_insertion_earliest_topological_order(mapping: Mapping) -> None:
    # At every step the node taken is the earliest inserted among those whose deps are done.
    order = Graph(mapping).order()
    inserted = list(mapping)
    done: set[str] = set()
    for node in order:
        ready = [n for n in inserted if n not in done and set(mapping[n]) <= done]
        assert node == ready[0]
        done.add(node)


@given(mappings())
def test_a_cycle_is_reported_exactly_when_graphlib_finds_one(mapping: Mapping) -> None:
    try:
        graphlib.TopologicalSorter(mapping).prepare()
        graphlib_cyclic = False
    except graphlib.CycleError:
        graphlib_cyclic = True
    cycles = [p for p in problems_of(Graph(mapping)) if isinstance(p, CycleError)]
    assert bool(cycles) == graphlib_cyclic
    for problem in cycles:
        cycle = problem.cycle
        assert cycle[0] == cycle[-1]
        assert len(set(cycle[:-1])) == len(cycle) - 1  # a simple cycle
        for node, dep in itertools.pairwise(cycle):
            assert dep in mapping[str(node)]  # made of real edges


@given(mappings(missing=True))
def test_missing_dependencies_are_reported_exactly(mapping: Mapping) -> None:
    reported = {
        (p.node, m)
        for p in problems_of(Graph(mapping))
        if isinstance(p, MissingDependencyError)
        for m in p.missing
    }
    expected = {(n, d) for n, deps in mapping.items() for d in deps if d not in mapping}
    assert reported == expected


@given(mappings(acyclic=True), st.randoms(use_true_random=False), st.data())
def test_a_simulated_run_never_hands_out_a_node_too_early(
    mapping: Mapping, rnd: random.Random, data: st.DataObject
) -> None:
    rules = {
        n: data.draw(st.sampled_from(["all_success", "all_done", "one_failed"])) for n in mapping
    }
    graph = Graph(mapping, trigger_rules=rules)
    run = graph.run()
    handed_out: set[str] = set()
    running: list[str] = []
    while True:
        for node in run.ready():
            assert node not in handed_out
            handed_out.add(node)
            upstream = [run.states[d] for d in mapping[node]]
            assert all(s.is_finished for s in upstream) or rules[node] == "one_failed"
            if rules[node] == "all_success":
                assert all(s in FINISHED_OK for s in upstream)
            if rules[node] == "one_failed":
                assert any(s not in FINISHED_OK and s.is_finished for s in upstream)
            running.append(node)
        if not running:
            break
        node = running.pop(rnd.randrange(len(running)))
        run.finish(node, ok=rnd.random() < 0.7)
    assert run.is_finished
    assert all(s.is_finished for s in run.states.values())
    for node, state in run.states.items():
        assert (node in handed_out) == (state in {TaskState.COMPLETED, TaskState.FAILED})


@given(mappings(acyclic=True), st.data())
def test_failures_default_exactly_the_descendants_that_need_them(
    mapping: Mapping, data: st.DataObject
) -> None:
    graph = Graph(mapping)
    failing = set(data.draw(st.lists(st.sampled_from(list(mapping)))) if mapping else [])
    run = graph.run()
    while not run.is_finished:
        for node in run.ready():
            run.finish(node, ok=node not in failing)
    for node, state in run.states.items():
        upstream_failure = any(a in failing for a in graph.ancestors(node))
        if upstream_failure:
            assert state is TaskState.DEFAULTED
        elif node in failing:
            assert state is TaskState.FAILED
        else:
            assert state is TaskState.COMPLETED


@given(mappings(acyclic=True))
def test_levels_are_one_past_the_deepest_dependency(mapping: Mapping) -> None:
    levels = Graph(mapping).levels()
    level = {n: k for k, group in enumerate(levels) for n in group}
    assert sorted(level) == sorted(mapping)
    for node, deps in mapping.items():
        assert level[node] == (1 + max(level[d] for d in deps) if deps else 0)


@given(mappings(acyclic=True), st.data())
def test_select_matches_ancestors_and_descendants(mapping: Mapping, data: st.DataObject) -> None:
    if not mapping:
        return
    graph = Graph(mapping)
    node = data.draw(st.sampled_from(list(mapping)))
    assert set(graph.select(run_from=node)) == {node, *graph.descendants(node)}
    assert set(graph.select(run_to=node)) == {node, *graph.ancestors(node)}
    assert list(graph.select(run_to=node)) == [n for n in graph if n in graph.select(run_to=node)]


class _Simulated:
    """A run driven to its end, finishing running nodes in a random order, on one clock that
    ticks at every finish: when each node was handed out, finished, and settled (any final
    state, also without running), and the final states."""

    def __init__(
        self,
        graph: Graph[str],
        rnd: random.Random,
        failing: set[str],
        completed: set[str],
        skipped: set[str],
    ) -> None:
        run = graph.run(completed=sorted(completed), skipped=sorted(skipped))
        clock = itertools.count(1)
        self.started: dict[str, int] = {}
        self.ended: dict[str, int] = {}
        self.settled = {n: 0 for n, s in run.states.items() if s.is_finished}
        running: list[str] = []
        while True:
            for node in run.ready():
                assert node not in skipped and node not in completed
                self.started[node] = next(clock)
                running.append(node)
            if not running:
                break
            node = running.pop(rnd.randrange(len(running)))
            self.ended[node] = self.settled[node] = next(clock)
            for other, _ in run.finish(node, ok=node not in failing):
                self.settled[other] = self.ended[node]
        assert run.is_finished
        assert set(self.settled) == set(graph)
        self.states = dict(run.states)


def _draw_sets(data: st.DataObject, nodes: list[str]) -> tuple[set[str], set[str], set[str]]:
    """Left out, restored as completed, failing: a role per node, mostly running well."""
    roles = ["runs", "runs", "fails", "left out", "left out", "restored"]
    role = {n: data.draw(st.sampled_from(roles)) for n in nodes}

    def having(r: str) -> set[str]:
        return {n for n in nodes if role[n] == r}

    return having("left out"), having("restored"), having("fails")


@given(mappings(acyclic=True), st.randoms(use_true_random=False), st.data())
def test_every_node_that_runs_starts_after_every_ancestor_that_runs_has_finished(
    mapping: Mapping, rnd: random.Random, data: st.DataObject
) -> None:
    # The default trigger rule, whatever is left out or failing in between. A node restored
    # as completed is done before the run starts: nothing after it waits for what is before it.
    skipped, completed, failing = _draw_sets(data, list(mapping))
    graph = Graph(mapping)
    sim = _Simulated(graph, rnd, failing, completed, skipped)
    upstream: dict[str, set[str]] = {}  # ancestors reached without passing a restored node
    for v in graph.order():
        upstream[v] = set()
        for d in mapping[v]:
            if d not in completed:
                upstream[v] |= {d, *upstream[d]}
    for v, at in sim.started.items():
        for u in upstream[v]:
            if u in sim.started:
                assert sim.ended[u] < at, (u, v)
                assert u not in failing, (u, v)  # a failure upstream: v never runs


@given(mappings(acyclic=True), st.randoms(use_true_random=False), st.data())
def test_left_out_nodes_pass_order_through_under_every_trigger_rule(
    mapping: Mapping, rnd: random.Random, data: st.DataObject
) -> None:
    nodes = list(mapping)
    rules = {
        n: data.draw(st.sampled_from(["all_success", "all_done", "one_failed", "finally"]))
        for n in nodes
    }
    for n, deps in mapping.items():  # only a finally node may depend on a finally node
        if rules[n] != "finally":
            mapping[n] = [d for d in deps if rules[d] != "finally"]
    skipped, completed, failing = _draw_sets(data, nodes)
    graph = Graph(mapping, trigger_rules=rules)
    sim = _Simulated(graph, rnd, failing, completed, skipped)

    # What each node waits for: the nodes that run before it on a path along which nothing
    # settles early (a restored node is done from the start; a DEFAULTED node settles at the
    # first failure upstream; a one_failed node may run or settle then). Left-out nodes lie on
    # such paths like any other.
    waits: dict[str, set[str]] = {}
    for v in graph.order():
        w: set[str] = set()
        for d in mapping[v]:
            if d in sim.started:
                w.add(d)
            early = d in completed or rules[d] == "one_failed"
            if not early and sim.states[d] is not TaskState.DEFAULTED:
                w |= waits[d]
        waits[v] = w
    for v, at in sim.started.items():
        if rules[v] == "one_failed":
            continue  # runs at the first failure upstream, by design
        for u in waits[v]:
            assert sim.ended[u] < at, (u, v)
        if rules[v] == "finally":  # last: after everything that is not finally
            assert all(sim.ended[u] < at for u in sim.started if rules[u] != "finally"), v
    for x in skipped:
        assert sim.states[x] in (TaskState.SKIPPED, TaskState.DEFAULTED)
        if sim.states[x] is TaskState.SKIPPED and rules[x] != "one_failed":
            assert all(sim.settled[d] <= sim.settled[x] for d in mapping[x]), x
