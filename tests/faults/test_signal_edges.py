"""Signals at the edges of a run: the exit status always agrees with the checkpoint. A stop that
comes once the last task has succeeded cannot make a finished job look interrupted (a wrapper
retrying on non-zero would run it all again); SIGHUP (the terminal closed) aborts a run as
SIGTERM does: on_abort, ABORTED, the checkpoint kept, nothing left running, and -r resumes."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
from faults_support import assert_none_left, new_tag, run_driver, start_driver, write_project

TASKS = """\
import os
import subprocess
import time
from pathlib import Path

from flowmancer import Task, task


@task
class Quick(Task):
    def run(self) -> None:
        with open("ran.txt", "a") as f:
            f.write(self.metadata.name + "\\n")


@task
class Waits(Task):
    def run(self) -> None:
        subprocess.Popen(["sleep", "60"])  # a grandchild, ended with the attempt's group
        Path("started").touch()
        for _ in range(600):  # naps: a thread is stopped between Python instructions
            time.sleep(0.1)

    def on_abort(self) -> None:
        Path("on_abort").touch()
"""

# An extension that stops its own driver once the run has ended (every task completed, the
# checkpoint not yet cleared): the moment a late Ctrl-C or SIGTERM lands on.
EXTENSION = """\
import os
import signal

from flowmancer.extensions import Extension, extension


@extension
class StopsAtTheEnd(Extension):
    signal: str = "SIGTERM"

    async def update(self, e) -> None:
        pass

    async def on_destroy(self) -> None:
        os.kill(os.getpid(), getattr(signal, self.signal))
"""


def project_with(tmp_path: Path, job: str) -> Path:
    write_project(tmp_path, TASKS, job)
    (tmp_path / "extensions").mkdir()
    (tmp_path / "extensions" / "__init__.py").write_text(EXTENSION)
    return tmp_path


# A stop as the run ends (SIGINT there was already remembered, not raised), and one as the
# driver says the job succeeded (see WATCH).
LATE = [
    ("run_end", "SIGTERM"),
    ("run_end", "SIGHUP"),
    ("said", "SIGTERM"),
    ("said", "SIGINT"),
    ("said", "SIGHUP"),
]

# A main.py whose standard output stops its own process when the driver says "succeeded".
WATCH = """\
import os, signal, sys
from flowmancer import Flowmancer
class Watch:
    def __init__(self, stream):
        self.stream = stream
    def write(self, text):
        if "succeeded" in text:
            os.kill(os.getpid(), signal.{name})
        return self.stream.write(text)
    def __getattr__(self, name):
        return getattr(self.stream, name)
if __name__ == "__main__":
    sys.stdout = Watch(sys.stdout)  # the summary line is said there
    sys.exit(Flowmancer().start())
"""


@pytest.mark.parametrize(("moment", "name"), LATE)
def test_a_stop_after_the_last_task_succeeded_exits_0_with_the_checkpoint_cleared(
    tmp_path: Path, moment: str, name: str
) -> None:
    project = project_with(
        tmp_path,
        f"""\
        config: {{name: edges}}
        tasks:
          a: {{task: Quick}}
          b: {{task: Quick, dependencies: [a]}}
        extensions: {{stop: {{extension: StopsAtTheEnd, parameters: {{signal: {name}}}}}}}
        """,
    )
    if moment == "said":
        (project / "main.py").write_text(WATCH.replace("{name}", name))
        (project / "job.yaml").write_text(
            "config: {name: edges}\ntasks:\n  a: {task: Quick}\n"
            "  b: {task: Quick, dependencies: [a]}\nextensions: {}\n"
        )
    done = run_driver(project, "-j", "job.yaml")
    assert done.returncode == 0, done.stderr
    assert "job 'edges' succeeded" in done.stdout
    assert not list((project / ".flowmancer").glob("edges.j*"))
    assert (project / "ran.txt").read_text().split() == ["a", "b"]


@pytest.mark.parametrize("name", ["SIGTERM", "SIGINT", "SIGHUP"])
def test_a_stop_after_start_returned_keeps_the_job_s_exit_status(tmp_path: Path, name: str) -> None:
    write_project(
        tmp_path,
        TASKS,
        """\
        config: {name: edges}
        tasks:
          a: {task: Quick}
        extensions: {}
        """,
    )
    (tmp_path / "main.py").write_text(
        "import os, signal, sys, time\n"
        "from flowmancer import Flowmancer\n"
        "if __name__ == '__main__':\n"
        "    status = Flowmancer().start()\n"
        f"    os.kill(os.getpid(), signal.{name})\n"
        "    time.sleep(5)\n"
        "    sys.exit(status)\n"
    )
    done = run_driver(tmp_path, "-j", "job.yaml")
    assert done.returncode == 0, done.stderr
    assert not list((tmp_path / ".flowmancer").glob("edges.j*"))


def test_the_checkpoint_is_cleared_before_success_is_said(tmp_path: Path) -> None:
    # What is in the checkpoint folder at the moment the driver says the job succeeded: nothing
    # of the job's, so a kill -9 right after the words can never leave a journal behind them.
    write_project(
        tmp_path,
        TASKS,
        """\
        config: {name: edges}
        tasks:
          a: {task: Quick}
        extensions: {}
        """,
    )
    (tmp_path / "main.py").write_text(
        "import sys\n"
        "from pathlib import Path\n"
        "from flowmancer import Flowmancer\n"
        "class Watch:\n"
        "    def __init__(self, stream):\n"
        "        self.stream = stream\n"
        "    def write(self, text):\n"
        "        if 'succeeded' in text:\n"
        "            left = sorted(p.name for p in Path('.flowmancer').glob('edges.j*'))\n"
        "            Path('left-at-success').write_text(repr(left))\n"
        "        return self.stream.write(text)\n"
        "    def __getattr__(self, name):\n"
        "        return getattr(self.stream, name)\n"
        "if __name__ == '__main__':\n"
        "    sys.stdout = Watch(sys.stdout)  # the summary line is said there\n"
        "    sys.exit(Flowmancer().start())\n"
    )
    done = run_driver(tmp_path, "-j", "job.yaml")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "left-at-success").read_text() == "[]"


@pytest.mark.parametrize("executor", ["process", "thread"])
def test_sighup_aborts_the_run_like_sigterm(tmp_path: Path, executor: str) -> None:
    write_project(
        tmp_path,
        TASKS,
        f"""\
        config: {{name: hangup, executor: {executor}}}
        tasks:
          first: {{task: Quick}}
          waits: {{task: Waits, dependencies: [first]}}
          after: {{task: Quick, dependencies: [waits]}}
        extensions: {{}}
        """,
    )
    tag = new_tag()
    driver = start_driver(tmp_path, "-j", "job.yaml", tag=tag)
    deadline = time.monotonic() + 60
    while not (tmp_path / "started").exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    os.kill(driver.pid, signal.SIGHUP)  # the driver alone, as a closed terminal does
    _, err = driver.communicate(timeout=60)
    text = err.decode()
    assert driver.returncode == 2, text  # waits ABORTED, after ABORTED
    assert (tmp_path / "on_abort").exists()
    assert "Traceback" not in text
    assert_none_left(tag)  # the task's grandchild too
    (tmp_path / "started").unlink()
    resumed = start_driver(tmp_path, "-j", "job.yaml", "-r", tag=tag)
    while not (tmp_path / "started").exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    os.kill(resumed.pid, signal.SIGTERM)
    _, err = resumed.communicate(timeout=60)
    assert "1 completed kept" in err.decode(), err.decode()
    assert (tmp_path / "ran.txt").read_text().split() == ["first"]
    assert_none_left(tag)


@pytest.mark.parametrize("name", ["SIGTERM", "SIGHUP"])
def test_a_stop_while_the_job_is_read_is_one_line_and_128_plus_its_number(
    tmp_path: Path, name: str
) -> None:
    write_project(
        tmp_path,
        TASKS + "\nimport os, signal\nos.kill(os.getpid(), signal." + name + ")\n",
        """\
        config: {name: edges}
        tasks:
          a: {task: Quick}
        """,
    )
    done = run_driver(tmp_path, "-j", "job.yaml")
    number = getattr(signal, name).value
    assert done.returncode == 128 + number, done.stderr
    assert done.stderr == f"flowmancer: interrupted ({name})\n"
    assert not (tmp_path / "ran.txt").exists()
