"""Real user code against flowmancer_dag that mypy --strict must accept as written."""

from __future__ import annotations

from collections.abc import Set as AbstractSet

from flowmancer_dag import (
    CycleError,
    FinallyDependencyError,
    Graph,
    GraphError,
    MissingDependencyError,
    Run,
    TaskState,
    TriggerRule,
)


def plan(jobs: dict[str, list[str]]) -> list[list[str]]:
    graph: Graph[str] = Graph(jobs, trigger_rules={"cleanup": TriggerRule.ALL_DONE})
    graph.add("alert", ["load"], trigger_rule="one_failed")
    graph.add("teardown", ["cleanup"], trigger_rule=TriggerRule.FINALLY)
    try:
        graph.validate()
    except CycleError as cycle:
        print(" -> ".join(str(n) for n in cycle.cycle))
        raise
    except GraphError as error:
        for problem in error.problems:
            if isinstance(problem, MissingDependencyError):
                print(problem.node, problem.missing)
            elif isinstance(problem, FinallyDependencyError):
                print(problem.node, "needs", problem.finally_nodes)
        raise
    return graph.levels()


def drive(graph: Graph[str], failing: AbstractSet[str]) -> dict[str, TaskState]:
    run: Run[str] = graph.run(skipped=[n for n in graph if n not in graph.select(run_to="load")])
    while not run.is_finished:
        for node in run.ready():
            run.start(node)
            for settled, state in run.finish(node, ok=node not in failing):
                print(f"{settled} is {state.value}")
    for node, state in run.abort_all_but_finally():
        print(f"{node} is {state.value}")
    total, path = graph.critical_path({"extract": 2.5, "load": 1})
    print(f"{total:.1f}s along {' -> '.join(path)}")
    print(graph.to_mermaid(run.states))
    return dict(run.states)


def numbers() -> list[int]:
    graph: Graph[int] = Graph({1: [], 2: [1], 3: [1, 2]})
    return graph.order() + graph.ancestors(3) + list(graph.dependents(1))
