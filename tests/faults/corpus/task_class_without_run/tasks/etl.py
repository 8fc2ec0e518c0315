from flowmancer import Task, task


@task
class Extract(Task):
    source: str = "api"

    def runn(self) -> None:  # misspelt: the class has no run()
        pass
