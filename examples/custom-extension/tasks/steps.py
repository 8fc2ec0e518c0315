import time

from flowmancer import Task, task


@task
class Work(Task):
    """Works for a moment; fails its first `flaky` attempts, as real services sometimes do."""

    seconds: float = 0.1
    flaky: int = 0

    def run(self) -> None:
        time.sleep(self.seconds)
        if self.metadata.attempt <= self.flaky:
            raise TimeoutError(f"attempt {self.metadata.attempt} timed out upstream")
        print(f"worked {self.seconds} s")
