import time

from flowmancer import Task, task


@task
class WaitAndSucceed(Task):
    """Waits a moment, then tells its dependents something through shared_dict."""

    my_var: str
    seconds: float = 0.3

    def run(self) -> None:
        print(f"starting with {self.my_var!r}")
        time.sleep(self.seconds)
        self.shared_dict[self.metadata.name] = self.my_var.upper()
        self.logger.info("done, wrote %r to shared_dict", self.my_var.upper())


@task
class FailImmediately(Task):
    """Fails by design while `fail` is true; `--var fail=false` fixes it."""

    fail: bool = True

    def run(self) -> None:
        print(f"upstream wrote: {dict(sorted(self.shared_dict.items()))}")
        if self.fail:
            raise RuntimeError("failing by design; fix with: -r --var fail=false")
        print("not failing this time")

    def on_restart(self) -> None:
        print("resumed after an earlier failure")
