"""SIGINT and SIGTERM to the driver abort the run cleanly; a second SIGINT stops it at once."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from conftest import alive, start_driver

DRIVER = textwrap.dedent(
    """
    import json, sys
    sys.path.insert(0, {tests!r})
    from exec_tasks import Noop, Sleep
    from flowmancer_exec import ProcessExecutor, Runner, TaskSpec, ThreadExecutor

    folder = {folder!r}

    class Store:
        def save(self, snapshot):
            with open(folder + "/checkpoint.json", "w") as f:
                json.dump({{"finished": snapshot.finished,
                           "states": {{k: v.value for k, v in snapshot.states.items()}}}}, f)

    specs = [
        TaskSpec("a", Sleep, {{"seconds": 60, "folder": folder, "abort_takes": {abort_takes}}}),
        TaskSpec("b", Sleep, {{"seconds": 60, "folder": folder}}),
        TaskSpec("after", Noop, depends_on=["a"]),
        TaskSpec("queued", Noop, depends_on=["b"]),
    ]
    executor = {executor}(grace_period={grace})
    result = Runner(specs, executor=executor, checkpoint=Store()).run()
    print(json.dumps({{"states": {{k: v.value for k, v in result.states.items()}},
                      "reasons": dict(result.reasons), "exit": result.exit_code}}))
    sys.exit(result.exit_code)
    """
)


def start(
    tmp_path: Path, executor: str = "ProcessExecutor", grace: float = 5, abort_takes: float = 0
) -> subprocess.Popen[str]:
    process, _ = start_driver(
        tmp_path, DRIVER, ["a", "b"], executor=executor, grace=grace, abort_takes=abort_takes
    )
    return process


def child_pids(folder: Path) -> list[int]:
    deadline = time.monotonic() + 10
    while True:  # the marks may exist a moment before their text is written
        texts = [(folder / f"{n}.start").read_text().split() for n in ("a", "b")]
        if all(len(t) == 2 for t in texts) or time.monotonic() > deadline:
            return [int(t[1]) for t in texts]
        time.sleep(0.01)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
@pytest.mark.parametrize("executor", ["ProcessExecutor", "ThreadExecutor"])
def test_a_signal_aborts_running_tasks_and_returns_promptly(
    tmp_path: Path, sig: int, executor: str
) -> None:
    process = start(tmp_path, executor)
    sent = time.monotonic()
    process.send_signal(sig)
    out, err = process.communicate(timeout=20)
    took = time.monotonic() - sent
    assert took < 5, f"took {took:.1f} s"
    assert process.returncode == 4, err
    outcome = json.loads(out.splitlines()[-1])
    assert outcome["states"] == {
        "a": "ABORTED",
        "b": "ABORTED",
        "after": "ABORTED",
        "queued": "ABORTED",
    }
    assert outcome["reasons"]["a"] == "the run was aborted"
    folder = tmp_path / "marks"
    assert (folder / "a.aborted").exists() and (folder / "b.aborted").exists()
    checkpoint = json.loads((folder / "checkpoint.json").read_text())
    assert checkpoint == {"finished": True, "states": outcome["states"]}
    if executor == "ProcessExecutor":
        assert not any(alive(pid) for pid in child_pids(folder))
    assert "Traceback" not in err


def test_a_second_sigint_stops_at_once(tmp_path: Path) -> None:
    process = start(tmp_path, grace=60, abort_takes=60)  # on_abort would take a minute
    process.send_signal(signal.SIGINT)
    time.sleep(0.5)
    assert process.poll() is None  # still waiting for on_abort within the grace period
    sent = time.monotonic()
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=20)
    assert time.monotonic() - sent < 5
    outcome = json.loads(out.splitlines()[-1])
    assert set(outcome["states"].values()) == {"ABORTED"}
    assert not any(alive(pid) for pid in child_pids(tmp_path / "marks"))


def test_attempts_die_with_a_runner_killed_by_kill_9(tmp_path: Path) -> None:
    # A runner that cannot stop its attempts must not leave them running: they would run beside
    # the resumed run (Linux: the children ask for SIGKILL when their parent dies).
    if not sys.platform.startswith("linux"):
        pytest.skip("PR_SET_PDEATHSIG is Linux's")
    process = start(tmp_path)
    pids = child_pids(tmp_path / "marks")
    assert all(alive(pid) for pid in pids)
    process.kill()
    process.communicate()
    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in pids):
        assert time.monotonic() < deadline, "an attempt outlived its runner"
        time.sleep(0.02)
