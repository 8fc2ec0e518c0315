from pathlib import Path

from flowmancer import Task


class Extract(Task):  # @task forgotten
    def run(self) -> None:
        Path(f"ran-{self.metadata.name}").write_text("ran")
