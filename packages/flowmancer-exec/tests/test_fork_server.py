"""The fork server through the Python API: attempts forked by it once it has their module, the
driver's own fork path when it is switched off, and nothing left once it is closed. The fault
suite (tests/faults/test_fork_server.py) runs it under the real driver, with crashes and signals.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from exec_tasks import Parent

from flowmancer_exec import ProcessExecutor, Runner, TaskSpec
from flowmancer_exec._fork_client import fork_server_for_run


def _chain(folder: Path, count: int) -> list[TaskSpec]:
    return [
        TaskSpec(f"p{i}", Parent, {"folder": str(folder)}, depends_on=[f"p{i - 1}"] if i else [])
        for i in range(count)
    ]


def _parents(folder: Path, count: int) -> list[int]:
    return [int((folder / f"p{i}.parent").read_text()) for i in range(count)]


def _gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[0] in (b"Z", b"X")
    except OSError:
        return True


@pytest.fixture
def asked_for(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLOWMANCER_FORK_SERVER", "1")


@pytest.mark.usefixtures("asked_for")
def test_attempts_are_forked_by_the_server_once_it_has_their_module(tmp_path: Path) -> None:
    with fork_server_for_run() as server:
        assert server is not None
        result = Runner(_chain(tmp_path, 12)).run()
        server_pid = server.pid
    assert result.exit_code == 0
    parents = _parents(tmp_path, 12)
    # The first may be forked here while the server looks the module up; the last is not.
    assert set(parents) <= {os.getpid(), server_pid}
    assert parents[-1] == server_pid
    # shared_dict and results travel as on the driver's own path.
    assert result.shared_dict == {f"p{i}": i for i in range(12)}
    assert result.results["p11"] == 12
    assert _gone(server_pid)


@pytest.mark.usefixtures("asked_for")
def test_switched_off_the_driver_forks_every_attempt(tmp_path: Path) -> None:
    with fork_server_for_run() as server:
        assert server is not None
        result = Runner(_chain(tmp_path, 6), executor=ProcessExecutor(fork_server=False)).run()
    assert result.exit_code == 0
    assert set(_parents(tmp_path, 6)) == {os.getpid()}


def test_not_asked_for_no_server_is_started(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FLOWMANCER_FORK_SERVER", raising=False)
    with fork_server_for_run() as server:
        assert server is None


def test_without_a_server_the_driver_forks_every_attempt(tmp_path: Path) -> None:
    result = Runner(_chain(tmp_path, 6)).run()
    assert result.exit_code == 0
    assert set(_parents(tmp_path, 6)) == {os.getpid()}
