"""Real user code against flowmancer_exec that mypy --strict must accept as written: async tasks,
results read downstream, and the conflicts a run reports."""

from __future__ import annotations

import asyncio
from typing import Any

from flowmancer_exec import Runner, SharedDictConflict, Task, TaskSpec, ThreadExecutor


class Extract(Task):
    url: str

    async def on_create(self) -> None:
        await asyncio.sleep(0)

    async def run(self) -> dict[str, Any]:
        await asyncio.sleep(0.01)
        return {"url": self.url, "rows": 3}

    async def on_destroy(self) -> None:
        await asyncio.sleep(0)


class Load(Task):
    def run(self) -> int:
        extracted: dict[str, Any] = self.results["extract"]
        self.shared_dict[f"loaded-{self.metadata.name}"] = extracted["rows"]
        return int(extracted["rows"])


def main() -> list[SharedDictConflict]:
    result = Runner(
        [
            TaskSpec("extract", Extract, {"url": "https://example.org"}),
            TaskSpec("load", Load, depends_on=["extract"]),
        ],
        executor=ThreadExecutor(),
        shared_dict_conflicts="error",
    ).run()
    print(result.results.get("load"))
    return list(result.conflicts)
