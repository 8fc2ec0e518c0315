"""Floods of output through the driver: one task writing hundreds of megabytes, and fifty tasks
writing at once in every way a task can. Each task's log file must hold every line exactly once,
whole, at its level and in no other task's file; the driver's peak memory must not grow with
the amount of output.
"""

from __future__ import annotations

import collections
import re
from pathlib import Path

import pytest
from faults_support import no_leftovers, write_project
from tasks_support import LOGGERS, PEAK_MAIN, Run, run_job

TASKS = """\
import os, sys
from flowmancer import Task, task


def line(task, number, width):
    # Distinct and self-checking: the number is in the head and, in hex, all along the body.
    head = f"{task} {number:08d} "
    return head + (f"{number:x}." * width)[: max(0, width - len(head))]


@task
class Chatter(Task):
    lines: int
    width: int = 80
    raw: bool = True  # the thread executor does not attribute raw descriptor writes
    # writelines and buffer.write once failed the task (process) or missed its log (thread).

    batch: int = 0  # > 0: whole batches of lines per write, for volume

    def run(self):
        name = self.metadata.name
        if self.batch:
            for start in range(0, self.lines, self.batch):
                end = min(start + self.batch, self.lines)
                text = "".join(line(name, n, self.width) + "\\n" for n in range(start, end))
                if start // self.batch % 2:
                    os.write(1, text.encode())
                else:
                    sys.stdout.write(text)
            return
        for number in range(self.lines):
            text = line(name, number, self.width)
            way = number % 8
            if way == 0:
                print(text)
            elif way == 1:  # a line in two writes
                half = len(text) // 2
                sys.stdout.write(text[:half])
                sys.stdout.write(text[half:] + "\\n")
            elif way == 2 and self.raw:  # straight to the descriptor, also in two writes
                data = (text + "\\n").encode()
                os.write(1, data[: len(data) // 2])
                os.write(1, data[len(data) // 2 :])
            elif way == 2:
                sys.stdout.write(text + "\\n")
            elif way == 3:
                self.logger.info("%s", text)
            elif way == 4:
                print(text, file=sys.stderr)
            elif way == 5 and self.raw:
                os.write(2, (text + "\\n").encode())
            elif way == 5:
                sys.stderr.write(text[:7])
                sys.stderr.write(text[7:] + "\\n")
            elif way == 6:
                sys.stdout.writelines([text[:5], text[5:], "\\n"])
            else:  # the binary side, in two writes
                data = (text + "\\n").encode()
                sys.stdout.buffer.write(data[:9])
                sys.stdout.buffer.write(data[9:])
"""

# Ways 4 and 5 write to stderr, which is logged at ERROR.
LEVELS = ["INFO"] * 4 + ["ERROR"] * 2 + ["INFO"] * 2
STATE_CHANGE = (" -> PENDING", " -> RUNNING", " -> COMPLETED")


def expected_line(task: str, number: int, width: int) -> str:
    """The line a Chatter task writes as its ``number``th (the same function as in TASKS)."""
    head = f"{task} {number:08d} "
    return head + (f"{number:x}." * width)[: max(0, width - len(head))]


def check_log_whole(run: Run, task: str, lines: int, width: int, *, batch: int = 0) -> None:
    """Every line the task wrote is in its log exactly once, whole and at its level; nothing
    else is there but the attempt header and the task's state changes."""
    seen = bytearray(lines)
    with (run.log_dir or Path()).joinpath(f"{task}.log").open() as log:
        for entry in log:
            entry = entry.rstrip("\n")
            if entry.startswith("----- attempt 1 "):
                continue
            stamp_level, _, message = entry.partition(" - ")
            if message.endswith(STATE_CHANGE) and " -> " in message:
                continue
            level = stamp_level.rsplit("] ", 1)[-1]
            name, number_text, _ = message.split(" ", 2)
            number = int(number_text)
            assert name == task, f"{task}.log holds another task's line: {entry!r}"
            assert message == expected_line(task, number, width), f"torn line: {entry!r}"
            assert level == ("INFO" if batch else LEVELS[number % 8]), f"wrong level: {entry!r}"
            assert not seen[number], f"line {number} twice in {task}.log"
            seen[number] = 1
    missing = [n for n in range(lines) if not seen[n]]
    assert not missing, f"{task}.log lacks {len(missing)} lines, first {missing[:5]}"


# Only the per-task files: the JSON-lines logger would write the whole flood a second time.
FILES_ONLY = "loggers:\n  file: {logger: FileLogger, parameters: {base_log_dir: ./logs}}\n"


def chatter_job(
    tasks: dict[str, int], width: int, loggers: str = LOGGERS, *, raw: bool = True, batch: int = 0
) -> str:
    body = "".join(
        f"  {name}: {{task: Chatter, parameters: {{lines: {lines}, width: {width}, "
        f"raw: {str(raw).lower()}, batch: {batch}}}}}\n"
        for name, lines in tasks.items()
    )
    return "config: {name: output}\ntasks:\n" + body + loggers


@pytest.mark.parametrize("executor", ["process", "thread"])
def test_fifty_tasks_writing_at_once_each_get_every_line_whole_in_their_own_log(
    tmp_path: Path, soak: bool, executor: str
) -> None:
    count, lines = (50, 20_000) if soak else (50, 2_000)
    tasks = {f"chatter-{i:02d}": lines for i in range(count)}
    write_project(tmp_path, TASKS, chatter_job(tasks, 80, raw=executor == "process"))
    with no_leftovers() as tag:
        run = run_job(tmp_path, "-j", "job.yaml", "--executor", executor, tag=tag, timeout=300)
    run.check_clean()
    assert set(run.states.values()) == {"COMPLETED"}, run.reasons
    for name in tasks:
        check_log_whole(run, name, lines, 80)


def test_one_task_writing_hundreds_of_megabytes_leaves_the_drivers_memory_flat(
    tmp_path: Path, soak: bool
) -> None:
    width = 200
    big_mb = 1000 if soak else 200
    peaks = {}
    for mb in (1, big_mb):
        folder = tmp_path / f"mb{mb}"
        lines = mb * 2**20 // (width + 1)
        # Batches of 200 lines, alternately through sys.stdout and os.write: the runner still
        # takes every line on its own, the task spends little time making them.
        job = chatter_job({"flood": lines}, width, FILES_ONLY, batch=200)
        write_project(folder, TASKS, job)
        with no_leftovers() as tag:
            run = run_job(folder, "-j", "job.yaml", tag=tag, timeout=600, main=PEAK_MAIN)
        assert run.returncode == 0, run.stderr[-3000:]
        assert "Traceback" not in run.stdout + run.stderr
        with (run.log_dir or folder).joinpath("flood.log").open("rb") as log:
            log.seek(-200, 2)
            assert log.read().endswith(b"RUNNING -> COMPLETED\n")
        check_log_whole(run, "flood", lines, width, batch=200)
        peaks[mb] = run.peak_rss_kib()
        (run.log_dir or folder).joinpath("flood.log").unlink()  # a gigabyte in soak mode
    # Output is streamed to the log as it comes: 200 (or 1000) times more of it may not cost
    # more than a few MiB of the driver's memory.
    assert peaks[big_mb] - peaks[1] < 6 * 1024, peaks


LONG_LINE_TASKS = """\
import os, sys
from flowmancer import Task, task


@task
class LongLine(Task):
    mb: int
    way: str

    def run(self):
        text = "".join(chr(ord("a") + i % 26) for i in range(26 * 41)) * (self.mb * 2**20 // 1066)
        if self.way == "partial":  # the line's end comes in a later write
            sys.stdout.write(text)
            sys.stdout.write("\\n")
        elif self.way == "complete":
            sys.stdout.write(text + "\\n")
        else:
            os.write(1, (text + "\\n").encode())
        print("after the long line")
"""
WAYS = ("partial", "complete", "raw")


def test_a_line_of_many_megabytes_reaches_the_log_whole_in_pieces_and_memory_stays_flat(
    tmp_path: Path, soak: bool
) -> None:
    big_mb = 256 if soak else 64
    peaks = {}
    for mb in (1, big_mb):
        folder = tmp_path / f"mb{mb}"
        # One after another: each task holds its line (and a copy) in memory.
        tasks = "".join(
            f"  {way}: {{task: LongLine, parameters: {{mb: {mb}, way: {way}}}"
            + (f", dependencies: [{WAYS[i - 1]}]" if i else "")
            + "}\n"
            for i, way in enumerate(WAYS)
        )
        write_project(
            folder, LONG_LINE_TASKS, "config: {name: long}\ntasks:\n" + tasks + FILES_ONLY
        )
        with no_leftovers() as tag:
            # A hang guard: cutting the line once took time quadratic in its length (minutes).
            run = run_job(folder, "-j", "job.yaml", tag=tag, timeout=120, main=PEAK_MAIN)
        assert run.returncode == 0, run.stderr[-3000:]
        assert "Traceback" not in run.stdout + run.stderr
        unit = "".join(chr(ord("a") + i % 26) for i in range(26 * 41))
        expected = unit * (mb * 2**20 // 1066)
        for way in WAYS:
            messages = [
                entry.partition(" - ")[2]
                for entry in run.log(way).splitlines()
                if entry.startswith("[") and " -> " not in entry
            ]
            assert messages[-1] == "after the long line", (way, messages[-1][:100])
            assert all(len(m) <= 64 * 1024 for m in messages), way
            assert "".join(messages[:-1]) == expected, way
        peaks[mb] = run.peak_rss_kib()
    assert peaks[big_mb] - peaks[1] < 6 * 1024, peaks


THREADED_TASKS = """\
import sys, threading
from flowmancer import Task, task


@task
class ThreadedChatter(Task):
    small: int
    big: int

    def run(self):
        sys.setswitchinterval(1e-6)  # switch threads as often as possible

        def work(k):
            if k % 4 == 0:  # many small writes, a line end every tenth
                for i in range(self.small):
                    sys.stdout.write(f"<{k}:{i}>" + ("\\n" if i % 10 == 9 else ""))
                sys.stdout.write("\\n")
                return
            for i in range(self.big):  # lines larger than a pipe's atomic write
                text = f"<{k}:{i}>" + "z" * 10_000
                if k % 4 == 1:
                    self.logger.info(text)
                elif k % 4 == 2:
                    print(text)
                else:
                    print(text, file=sys.stderr)

        threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
"""


def test_threads_of_one_task_writing_at_once_lose_and_repeat_nothing(
    tmp_path: Path, soak: bool
) -> None:
    # Once, two threads could take the same partial line (pieces were lost or sent twice), and
    # frames written at once were interleaved (the channel was garbled and the task FAILED).
    small, big = (200_000, 10_000) if soak else (20_000, 1_000)
    job = (
        "config: {name: threaded}\ntasks:\n"
        f"  threads: {{task: ThreadedChatter, parameters: {{small: {small}, big: {big}}}}}\n"
    )
    write_project(tmp_path, THREADED_TASKS, job + FILES_ONLY)
    with no_leftovers() as tag:
        run = run_job(tmp_path, "-j", "job.yaml", tag=tag, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "Traceback" not in run.stdout + run.stderr
    found = collections.Counter(re.findall(r"<\d:\d+>", run.log("threads")))
    expected = {f"<{k}:{i}>" for k in range(8) for i in range(small if k % 4 == 0 else big)}
    assert set(found) == expected, (len(expected - set(found)), len(set(found) - expected))
    assert set(found.values()) == {1}, found.most_common(3)
