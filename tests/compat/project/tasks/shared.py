"""Tasks that pass values through shared_dict (0.12's documented import path)."""

from flowmancer.task import Task, task


@task
class Put(Task):
    key: str
    value: str

    def run(self):
        self.shared_dict[self.key] = self.value
        print(f"put {self.key}={self.value}")


@task
class Show(Task):
    keys: list
    literal: str = ""

    def run(self):
        for key in self.keys:
            print(f"{key} is {self.shared_dict[key]}")
        if self.literal:
            print(f"literal: {self.literal}")
