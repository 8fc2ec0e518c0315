"""The quickstart job, run for real by flowmancer_exec: each task in its own forked process.

Two tasks wait side by side, then one fails by design and is retried once; a cleanup runs
last, whatever happened (trigger rule finally). Everything the tasks print and
log comes back through an observer, attributed and timed. This goes through the Python API of
flowmancer_exec, without a job file; examples/quickstart is the same job as a project run with
`python main.py -j job.yaml`.

    hatch run python examples/runner/main.py
"""

from __future__ import annotations

import sys
import time

from flowmancer_exec import LogRecord, Runner, StateChange, Task, TaskSpec, task


@task
class WaitAndSucceed(Task):
    my_var: str
    seconds: float = 0.3

    def run(self) -> None:
        print(f"{self.metadata.name} starting with {self.my_var!r}")
        time.sleep(self.seconds)
        self.shared_dict[self.metadata.name] = self.my_var.upper()
        self.logger.info("done, wrote %s to shared_dict", self.my_var.upper())


@task
class FailImmediately(Task):
    def run(self) -> None:
        print(f"upstream wrote: {dict(sorted(self.shared_dict.items()))}")
        raise RuntimeError("fails by design")


@task
class CleanUp(Task):
    def run(self) -> None:
        print("removing temporary files")


class Console:
    """A tiny observer: one line per state change and per line of output."""

    def __init__(self) -> None:
        self.start = time.time()

    def on_state_change(self, change: StateChange) -> None:
        why = f"  ({change.reason})" if change.reason else ""
        print(f"{change.time - self.start:6.2f}s  {change.task:>15} | {change.after}{why}")

    def on_log(self, record: LogRecord) -> None:
        first = record.message.splitlines()[0] if record.message else ""
        print(f"{record.time - self.start:6.2f}s  {record.task:>15} > {record.level:<7} {first}")


def main() -> int:
    job = [
        TaskSpec("do-something-1", "WaitAndSucceed", {"my_var": "hello"}),
        TaskSpec("do-something-2", "WaitAndSucceed", {"my_var": "world"}),
        TaskSpec(
            "do-something-3",
            "FailImmediately",
            depends_on=["do-something-1", "do-something-2"],
            max_attempts=2,
            backoff=0.2,
        ),
        TaskSpec("cleanup", "CleanUp", depends_on=["do-something-3"], trigger_rule="finally"),
    ]
    result = Runner(job, job="quickstart", observers=[Console()]).run()
    print()
    for name, state in result.states.items():
        print(f"  {name:>15}: {state}  {result.reasons.get(name, '')}")
    print(f"\nexit code {result.exit_code}: one task did not complete, by design.")
    return 0 if result.exit_code == 1 else 1  # the demo worked if exactly that happened


if __name__ == "__main__":
    sys.exit(main())
