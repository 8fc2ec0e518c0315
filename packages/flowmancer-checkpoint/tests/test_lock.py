"""The job lock, behind both stores: one run of a job at a time, never blocked by the dead."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from flowmancer_checkpoint import Checkpointer, CheckpointLockedError

LOCKER = """
import sys, time, os
sys.path.insert(0, {tests!r})
from pathlib import Path
from ckpt_support import BACKENDS
lock = BACKENDS[{backend!r}](Path({folder!r})).lock("nightly")
lock.acquire()
if {fork}:
    if os.fork() == 0:
        time.sleep(60)
        os._exit(0)
print("locked", flush=True)
time.sleep(60)
"""


def hold_lock(backend: str, folder: Path, fork: bool = False) -> subprocess.Popen[bytes]:
    code = LOCKER.format(
        tests=os.path.dirname(__file__), backend=backend, folder=str(folder), fork=fork
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, start_new_session=True
    )
    assert holder.stdout is not None and holder.stdout.readline() == b"locked\n"
    return holder


def test_a_second_run_of_the_job_is_refused_while_the_first_lives(
    store: Checkpointer, backend: str, tmp_path: Path
) -> None:
    holder = hold_lock(backend, tmp_path)
    try:
        with pytest.raises(CheckpointLockedError) as info, store.lock("nightly"):
            pass
        assert info.value.pid == holder.pid and info.value.alive
        assert f"job 'nightly' is already running: another run (pid {holder.pid})" in str(
            info.value
        )
        with store.lock("weekly"):  # other jobs are not affected
            pass
    finally:
        holder.kill()
        holder.wait()
        assert holder.stdout is not None
        holder.stdout.close()


def test_a_lock_left_by_a_killed_run_never_blocks_the_next(
    store: Checkpointer, backend: str, tmp_path: Path
) -> None:
    holder = hold_lock(backend, tmp_path)
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    assert holder.stdout is not None
    holder.stdout.close()
    with store.lock("nightly") as lock:
        assert lock.held
    assert not lock.held


def test_a_task_process_outliving_its_killed_driver_still_holds_the_lock(
    store: Checkpointer, backend: str, tmp_path: Path
) -> None:
    holder = hold_lock(backend, tmp_path, fork=True)
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    assert holder.stdout is not None
    holder.stdout.close()
    try:
        with pytest.raises(CheckpointLockedError) as info, store.lock("nightly"):
            pass
        assert not info.value.alive
        assert "a task process left by an earlier run" in str(info.value)
    finally:
        os.killpg(holder.pid, signal.SIGKILL)  # the orphan shares the holder's session
    deadline = time.monotonic() + 10
    while True:
        try:
            with store.lock("nightly"):
                break
        except CheckpointLockedError:
            assert time.monotonic() < deadline
            time.sleep(0.02)
