"""Tasks that die hard, hang, leave processes behind or fail in a hook, each beside branches that
must not notice: run through the driver, on the process executor and (where a fault can happen
in a thread at all) on the thread executor.

Several faults share one job to keep the suite fast. Each must end in its documented state with
its reason in the task's log, the independent branches must complete, the exit status must count
what did not complete, the driver must print no traceback, and no process may be left.
"""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest
from faults_support import no_leftovers, write_project
from tasks_support import LOGGERS, Run, alive, run_job, wait_for_file

TASKS = """\
import ctypes, os, resource, signal, subprocess, sys, time
from pathlib import Path
from flowmancer import Task, task


def mark(path, text):
    # Written whole or not at all: the test polls for it.
    Path(path + ".tmp").write_text(text)
    os.replace(path + ".tmp", path)


@task
class Fine(Task):
    seconds: float = 0.0

    def run(self):
        time.sleep(self.seconds)
        print(f"{self.metadata.name} finished")


@task
class Segfault(Task):
    def run(self):
        print("about to read address 0", flush=True)
        ctypes.string_at(0)


@task
class HardExit(Task):
    def run(self):
        os._exit(7)


@task
class SysExit(Task):
    def run(self):
        sys.exit(3)


@task
class WaitToBeKilled(Task):
    def run(self):
        mark("killed.pid", str(os.getpid()))
        time.sleep(120)


@task
class BlowUpMemory(Task):
    def run(self):
        with open("/proc/self/status") as status:
            size = next(int(l.split()[1]) for l in status if l.startswith("VmSize:")) * 1024
        resource.setrlimit(resource.RLIMIT_AS, (size + (256 << 20), resource.RLIM_INFINITY))
        chunks = []
        while True:
            chunks.append(bytearray(16 << 20))


@task
class Spin(Task):
    deaf: bool = False  # SIGTERM blocked: only the SIGKILL after the grace period ends it

    def run(self):
        if self.deaf:
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
        while True:
            pass


@task
class SlowAbort(Task):
    def run(self):
        while True:
            time.sleep(0.01)

    def on_abort(self):
        time.sleep(600)


@task
class CloseStreams(Task):
    def run(self):
        print("before closing")
        sys.stdout.close()
        sys.stderr.close()
        print("after closing")


class Unprintable(Exception):
    def __str__(self):
        raise RuntimeError("no text for this one")


@task
class RaiseUnprintable(Task):
    def run(self):
        raise Unprintable()


GRANDCHILD = (
    "import os, signal, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
    "print('grandchild up', flush=True); "
    "open(sys.argv[1] + '.tmp', 'w').write(str(os.getpid())); "
    "os.replace(sys.argv[1] + '.tmp', sys.argv[1]); time.sleep(600)"
)


@task
class LeaveGrandchild(Task):
    pid_file: str
    wait: bool = False

    def run(self):
        child = subprocess.Popen([sys.executable, "-c", GRANDCHILD, self.pid_file])
        while not os.path.exists(self.pid_file):  # up, and ignoring SIGTERM
            time.sleep(0.01)
        if self.wait:
            child.wait()


@task
class RaiseIn(Task):
    hook: str
    forever: bool = False

    def at(self, name):
        self.logger.info("reached %s", name)
        if name == self.hook:
            raise RuntimeError(f"planted failure ({name})")

    def on_create(self):
        self.at("on_create")

    def on_restart(self):
        self.at("on_restart")

    def run(self):
        self.at("run")
        if self.forever:
            mark(f"{self.metadata.name}.started", "")
        while self.forever:
            time.sleep(0.01)
        if self.hook in ("on_failure", "on_restart"):
            raise ValueError("run failed first")

    def on_success(self):
        self.at("on_success")

    def on_failure(self):
        self.at("on_failure")

    def on_abort(self):
        self.at("on_abort")

    def on_destroy(self):
        self.at("on_destroy")
"""

# name: (job entry, final state, reason (part of it), what its log must also hold)
Fault = tuple[str, str, str, tuple[str, ...]]
PLANTED = "RuntimeError: planted failure"
FAULTS: dict[str, Fault] = {
    "segfault": (
        "{task: Segfault}",
        "FAILED",
        "killed by signal 11 (SIGSEGV)",
        ("about to read address 0", "Segmentation fault"),
    ),
    "hard-exit": (
        "{task: HardExit}",
        "FAILED",
        "exited with code 7 before reporting a result",
        (),
    ),
    "sys-exit": ("{task: SysExit}", "FAILED", "sys.exit(3)", ()),
    "killed": (
        "{task: WaitToBeKilled}",
        "FAILED",
        "killed by signal 9 (SIGKILL); out of memory, or killed from outside",
        (),
    ),
    "memory": ("{task: BlowUpMemory}", "FAILED", "MemoryError", ()),
    "spin": ("{task: Spin, timeout: 1}", "FAILED", "timed out after 1 s", ()),
    # These two cost the grace period (5 s) but run beside the others.
    "deaf-spin": (
        "{task: Spin, parameters: {deaf: true}, timeout: 1}",
        "FAILED",
        "timed out after 1 s",
        (),
    ),
    "slow-abort": ("{task: SlowAbort, timeout: 1}", "FAILED", "timed out after 1 s", ()),
    # Closing sys.stdout in a thread once closed the driver's own (its summary was lost).
    "close-streams": (
        "{task: CloseStreams}",
        "COMPLETED",
        "",
        ("before closing", "after closing"),
    ),
    # An exception whose __str__ raises once failed its attempt as "could not start" (process)
    # or killed a worker thread with a traceback on the driver's stderr (thread).
    "unprintable": (
        "{task: RaiseUnprintable}",
        "FAILED",
        "Unprintable: <exception str() failed>",
        ("raise Unprintable()",),
    ),
    "grandchild": (
        "{task: LeaveGrandchild, parameters: {pid_file: grandchild.pid}}",
        "COMPLETED",
        "",
        ("grandchild up",),
    ),
    "grandchild-timeout": (
        "{task: LeaveGrandchild, parameters: {pid_file: grandchild-timeout.pid, wait: true},"
        " timeout: 1}",
        "FAILED",
        "timed out after 1 s",
        (),
    ),
    "hook-on_create": (
        "{task: RaiseIn, parameters: {hook: on_create}}",
        "FAILED",
        f"{PLANTED} (on_create) in on_create",
        ("reached on_failure", "reached on_destroy"),
    ),
    "hook-on_success": (
        "{task: RaiseIn, parameters: {hook: on_success}}",
        "FAILED",
        f"{PLANTED} (on_success) in on_success",
        ("reached run", "reached on_destroy"),
    ),
    "hook-on_failure": (
        "{task: RaiseIn, parameters: {hook: on_failure}}",
        "FAILED",
        "ValueError: run failed first",
        (f"{PLANTED} (on_failure)", "reached on_destroy"),
    ),
    "hook-on_destroy": (
        "{task: RaiseIn, parameters: {hook: on_destroy}}",
        "FAILED",
        f"{PLANTED} (on_destroy) in on_destroy",
        ("reached on_success",),
    ),
    "hook-on_abort": (
        "{task: RaiseIn, parameters: {hook: on_abort, forever: true}, timeout: 1}",
        "FAILED",
        "timed out after 1 s",
        (f"{PLANTED} (on_abort)", "reached on_destroy"),
    ),
}
# What cannot happen in a thread without taking the driver down with it (a crash, os._exit, a
# kill, an address-space limit), or is documented as out of a thread's reach (grandchildren).
PROCESS_ONLY = {
    "segfault",
    "hard-exit",
    "killed",
    "memory",
    "deaf-spin",
    "slow-abort",
    "grandchild",
    "grandchild-timeout",
}


def fault_job(faults: list[str]) -> str:
    """A job of the given faults, each with a dependent, beside two branches that must finish;
    one of them (steady) still runs after most faults have happened."""
    lines = [
        "config: {name: faults}",
        "tasks:",
        "  fine-1: {task: Fine}",
        "  fine-2: {task: Fine, dependencies: [fine-1]}",
        "  steady: {task: Fine, parameters: {seconds: 1.5}}",
        "  after-steady: {task: Fine, dependencies: [steady]}",
    ]
    for name in faults:
        lines.append(f"  {name}: {FAULTS[name][0]}")
        lines.append(f"  after-{name}: {{task: Fine, dependencies: [{name}]}}")
    return "\n".join(lines) + "\n" + LOGGERS


def check_fault(run: Run, name: str) -> None:
    _, state, reason, log_holds = FAULTS[name]
    log = run.log(name)
    assert run.states[name] == state, (name, run.states[name], run.reasons.get(name), log)
    if reason:
        assert reason in run.reasons[name], (name, run.reasons[name])
        assert reason in log, (name, log)
    for text in log_holds:
        assert text in log, (name, text, log)
    if state == "COMPLETED":
        assert run.states[f"after-{name}"] == "COMPLETED"
    else:
        assert run.states[f"after-{name}"] == "DEFAULTED"
        assert f"upstream did not complete: {name}" in run.reasons[f"after-{name}"]


@pytest.mark.parametrize("executor", ["process", "thread"])
def test_each_fault_ends_in_its_state_with_its_reason_and_spares_independent_branches(
    tmp_path: Path, executor: str
) -> None:
    faults = [f for f in FAULTS if executor == "process" or f not in PROCESS_ONLY]
    write_project(tmp_path, TASKS, fault_job(faults))

    def kill(proc: subprocess.Popen[bytes]) -> None:
        if "killed" in faults:
            os.kill(int(wait_for_file(tmp_path / "killed.pid", proc)), signal.SIGKILL)

    with no_leftovers() as tag:
        run = run_job(tmp_path, "-j", "job.yaml", "--executor", executor, tag=tag, during=kill)
    # On a busy machine the timeout may strike before the second grandchild is up.
    pid_files = [tmp_path / f"{name}.pid" for name in ("grandchild", "grandchild-timeout")]
    grandchildren = [int(path.read_text()) for path in pid_files if path.exists()]
    run.check_clean()
    assert "flowmancer: job 'faults' failed" in run.stdout, run.stderr[-3000:]
    for name in ("fine-1", "fine-2", "steady", "after-steady"):
        assert run.states[name] == "COMPLETED", (name, run.states, run.stderr[-3000:])
    for name in faults:
        check_fault(run, name)
    assert not [pid for pid in grandchildren if alive(pid)]
    # Hooks after a planted failure still ran; run never did after on_create failed.
    assert "reached run" not in run.log("hook-on_create")


RESTART_JOB = (
    """\
config: {name: resume}
tasks:
  fine: {task: Fine}
  restart-hook: {task: RaiseIn, parameters: {hook: on_restart}}
  # all_done: it starts once restart-hook has failed, so both are settled before the abort.
  abort-hook:
    task: RaiseIn
    parameters:
      hook: on_abort
      forever: $VAR{forever:true}
    dependencies: [restart-hook]
    trigger_rule: all_done
"""
    + LOGGERS
)


@pytest.mark.parametrize("executor", ["process", "thread"])
def test_failing_on_abort_still_aborts_and_failing_on_restart_fails_the_resumed_task(
    tmp_path: Path, executor: str
) -> None:
    write_project(tmp_path, TASKS, RESTART_JOB)

    def interrupt(proc: subprocess.Popen[bytes]) -> None:
        wait_for_file(tmp_path / "abort-hook.started", proc)
        proc.send_signal(signal.SIGINT)

    args = ("-j", "job.yaml", "--executor", executor)
    with no_leftovers() as tag:
        first = run_job(tmp_path, *args, tag=tag, during=interrupt)
    first.check_clean()
    assert first.states == {
        "fine": "COMPLETED",
        "restart-hook": "FAILED",
        "abort-hook": "ABORTED",
    }, first.reasons
    assert "ValueError: run failed first" in first.reasons["restart-hook"]
    abort_log = first.log("abort-hook")
    assert f"{PLANTED} (on_abort)" in abort_log
    assert "reached on_destroy" in abort_log

    with no_leftovers() as tag:
        second = run_job(tmp_path, *args, "-r", "--var", "forever=false", tag=tag)
    second.check_clean()
    assert second.states == {
        "fine": "COMPLETED",
        "restart-hook": "FAILED",
        "abort-hook": "COMPLETED",
    }, second.reasons
    assert f"{PLANTED} (on_restart) in on_restart" in second.reasons["restart-hook"]
    restart_log = second.log("restart-hook")
    assert f"{PLANTED} (on_restart)" in restart_log
    assert "reached run" not in restart_log
    assert "reached on_failure" in restart_log and "reached on_destroy" in restart_log
