"""A task that fails until its attempt number reaches `succeed_on` (counted in a file)."""

import os

import flowmancer.task


@flowmancer.task.task
class Flaky(flowmancer.task.Task):
    counter: str
    succeed_on: int = 2

    def run(self):
        attempt = 1
        if os.path.exists(self.counter):
            with open(self.counter) as f:
                attempt = int(f.read()) + 1
        with open(self.counter, "w") as f:
            f.write(str(attempt))
        print(f"attempt {attempt}")
        if attempt < self.succeed_on:
            raise RuntimeError(f"failing on attempt {attempt}")
        self.shared_dict["flaky"] = attempt
