"""An extension that writes every state change it heard of, when the run ends."""

from flowmancer.eventbus.execution import ExecutionState, ExecutionStateTransition
from flowmancer.extensions.extension import Extension, extension


@extension
class StateLog(Extension):
    path: str = "./states.txt"

    async def on_create(self):
        self._lines = ["create"]

    async def update(self, e):
        if isinstance(e, ExecutionStateTransition):
            self._lines.append(f"{e.name} {e.from_state.value}->{e.to_state.value}")
            if e.to_state == ExecutionState.FAILED:
                self._lines.append(f"{e.name} failed")

    async def on_success(self):
        self._lines.append("success")

    async def on_failure(self):
        self._lines.append("failure")

    async def on_destroy(self):
        with open(self.path, "w") as f:
            f.write("\n".join(self._lines) + "\n")
