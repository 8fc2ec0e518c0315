"""The quickstart job's shape, driven by flowmancer_dag alone.

Two tasks wait side by side, then one fails by design; an alert runs because something failed,
and a cleanup runs last, whatever happened (trigger rule finally: after every other task).
flowmancer_dag decides *when* each task may run; this script decides *how* (here: a thread
pool), exactly as the Flowmancer runner does.

    hatch run demo-graph        # or: python examples/graph/main.py
"""

from __future__ import annotations

import sys
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

from flowmancer_dag import Graph, GraphError, TaskState


def wait_and_succeed(name: str) -> None:
    time.sleep(0.3)
    print(f"    {name}: waited 0.3 s, done")


def fail_immediately(name: str) -> None:
    raise RuntimeError(f"{name} fails by design")


def clean_up(name: str) -> None:
    print(f"    {name}: removing temporary files")


def send_alert(name: str) -> None:
    print(f"    {name}: something upstream failed, paging the on-call")


JOB = {
    "do-something-1": ([], wait_and_succeed),
    "do-something-2": ([], wait_and_succeed),
    "do-something-3": (["do-something-1", "do-something-2"], fail_immediately),
    "publish": (["do-something-3"], wait_and_succeed),
    "cleanup": (["publish"], clean_up),
    "alert": (["do-something-3"], send_alert),
}


def main() -> int:
    graph = Graph(
        {name: deps for name, (deps, _) in JOB.items()},
        trigger_rules={"cleanup": "finally", "alert": "one_failed"},
    )
    graph.validate()
    print("order: ", " -> ".join(graph.order()))
    print("levels:", " | ".join(", ".join(level) for level in graph.levels()))

    print("\nrunning (each task in a thread; flowmancer_dag only says what is ready):")
    start = time.monotonic()
    run = graph.run()
    with ThreadPoolExecutor(max_workers=4) as pool:
        running: dict[Future[None], str] = {}
        while not run.is_finished:
            for name in run.ready():
                run.start(name)
                print(f"  {time.monotonic() - start:5.2f}s  {name} RUNNING")
                running[pool.submit(JOB[name][1], name)] = name
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                name = running.pop(future)
                ok = future.exception() is None
                print(
                    f"  {time.monotonic() - start:5.2f}s  {name} {'COMPLETED' if ok else 'FAILED'}"
                    + ("" if ok else f": {future.exception()}")
                )
                for other, state in run.finish(name, ok):
                    print(f"  {time.monotonic() - start:5.2f}s  {other} {state} (without running)")

    failed = [n for n, s in run.states.items() if s in (TaskState.FAILED, TaskState.DEFAULTED)]
    tasks = "task" if len(failed) == 1 else "tasks"
    print(f"\nfinished: {len(failed)} {tasks} did not complete: {', '.join(failed)}")
    print("\nthe run as a mermaid chart (paste into any Markdown file on GitHub):\n")
    print(graph.to_mermaid(run.states))

    print("a partial run, --run-from do-something-3 --skip alert, would execute:")
    print("   ", ", ".join(graph.select(run_from="do-something-3", skip=["alert"])))

    print("\nand a broken job is refused before anything runs, every problem at once:")
    broken = Graph({"extract": ["load"], "load": ["extract"], "report": ["laod"]})
    try:
        broken.validate()
    except GraphError as error:
        print("   ", str(error).replace("\n", "\n    "))
    return 0


if __name__ == "__main__":
    sys.exit(main())
