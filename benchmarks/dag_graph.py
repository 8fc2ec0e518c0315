"""flowmancer_dag against graphlib, side by side in one process.

Builds a random DAG (default 100,000 nodes and 300,000 edges, string names, shuffled insertion
order) and times, best of --repeat rounds, alternating which side goes first:

  graphlib   TopologicalSorter(mapping) + tuple(static_order())
  ours       Graph(mapping) + validate() + order()
  run        Graph(mapping).run() driven to the end: ready() / finish() for every node

Targets (issue 2): ours / graphlib <= 1.0 and run / graphlib < 2.0. ``--check`` exits 1 when a
target is missed. Flowmancer 0.12.4 has no graph to compare: it only checked for missing and
self dependencies (a cycle hung the run), so its side-by-side figures are in the runner
benchmarks instead.

    python benchmarks/dag_graph.py [--nodes N] [--edges E] [--repeat R] [--check]
"""

from __future__ import annotations

import argparse
import gc
import graphlib
import random
import sys
import time
from collections.abc import Callable

from flowmancer_dag import Graph


def random_dag(nodes: int, edges: int, seed: int) -> dict[str, list[str]]:
    rnd = random.Random(seed)
    names = [f"task-{i}" for i in range(nodes)]
    deps: dict[str, list[str]] = {name: [] for name in names}
    for _ in range(edges):
        a = rnd.randrange(1, nodes)
        deps[names[a]].append(names[rnd.randrange(a)])  # only to earlier names: acyclic
    items = list(deps.items())
    rnd.shuffle(items)
    return dict(items)


def with_graphlib(mapping: dict[str, list[str]]) -> int:
    return len(tuple(graphlib.TopologicalSorter(mapping).static_order()))


def with_graph(mapping: dict[str, list[str]]) -> int:
    graph = Graph(mapping)
    graph.validate()
    return len(graph.order())


def with_run(mapping: dict[str, list[str]]) -> int:
    run = Graph(mapping).run()
    finished = 0
    while not run.is_finished:
        for node in run.ready():
            run.finish(node, ok=True)
            finished += 1
    return finished


def timed(call: Callable[[dict[str, list[str]]], int], mapping: dict[str, list[str]]) -> float:
    gc.collect()
    start = time.perf_counter()
    count = call(mapping)
    elapsed = time.perf_counter() - start
    assert count == len(mapping), (call.__name__, count)
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description="flowmancer_dag vs graphlib")
    parser.add_argument("--nodes", type=int, default=100_000)
    parser.add_argument("--edges", type=int, default=300_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--check", action="store_true", help="exit 1 if a target is missed")
    args = parser.parse_args()

    mapping = random_dag(args.nodes, args.edges, args.seed)
    sides = {"graphlib": with_graphlib, "ours": with_graph, "run": with_run}
    best = dict.fromkeys(sides, float("inf"))
    for round_ in range(args.repeat):
        names = list(sides)
        if round_ % 2:
            names.reverse()
        for name in names:
            best[name] = min(best[name], timed(sides[name], mapping))

    base = best["graphlib"]
    print(
        f"random DAG: {args.nodes:,} nodes, {args.edges:,} edges; best of {args.repeat}; "
        f"Python {sys.version.split()[0]}"
    )
    print(f"{'':40} {'seconds':>8} {'x graphlib':>11}")
    rows = [
        ("graphlib static_order (build + order)", "graphlib"),
        ("Graph build + validate + order", "ours"),
        ("Graph.run() ready/finish every node", "run"),
    ]
    for title, key in rows:
        print(f"{title:40} {best[key]:8.3f} {best[key] / base:11.2f}")
    met = best["ours"] / base <= 1.0 and best["run"] / base < 2.0
    print("targets (<= 1.00 and < 2.00):", "met" if met else "MISSED")
    return 0 if met or not args.check else 1


if __name__ == "__main__":
    sys.exit(main())
