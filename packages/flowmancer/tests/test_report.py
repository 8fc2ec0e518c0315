"""The report page as a file: the run's data embedded once, unable to end its element, and a
policy that runs no script but the page's own."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from pathlib import Path

from flowmancer._report import render_page
from flowmancer_exec import Runner, Task, TaskSpec, ThreadExecutor
from flowmancer_log import FileLogger, RunRecorder, read_record

NASTY = "</script><!--<script>alert(1)</script>\u2028"


class Loud(Task):
    def run(self) -> None:
        print(NASTY)


def page_of(tmp_path: Path) -> str:
    logger = FileLogger(tmp_path)
    recorder = RunRecorder(
        tmp_path, beside=logger, details={"tasks": {NASTY: {"parameters": {"x": NASTY}}}}
    )
    Runner(
        [TaskSpec(NASTY, Loud)],
        job="nasty",
        observers=[logger, recorder],
        executor=ThreadExecutor(),
    ).run()
    assert recorder.path is not None
    return render_page(read_record(recorder.path), []).decode("utf-8")


def test_text_from_the_run_cannot_end_the_data_element(tmp_path: Path) -> None:
    page = page_of(tmp_path)
    (data,) = re.findall(
        r'<script type="application/json" id="run-data">(.*?)</script>', page, re.S
    )
    assert "<" not in data and ">" not in data and "\u2028" not in data
    loaded = json.loads(data)
    (task,) = loaded["tasks"]
    assert task["n"] == NASTY and task["p"] == {"x": NASTY}
    assert NASTY in loaded["logs"][0]
    assert page.count("<script") == 2  # the data and the page's own script, nothing else


def test_the_policy_allows_only_the_page_s_own_script_and_no_network(tmp_path: Path) -> None:
    page = page_of(tmp_path)
    policy = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', page)
    assert policy is not None
    (script,) = re.findall(r"<script>(.*?)</script>", page, re.S)
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    assert policy.group(1).split("; ") == [
        "default-src 'none'",
        "style-src 'unsafe-inline'",
        "img-src data:",
        f"script-src 'sha256-{digest}'",
    ]


def test_the_critical_path_is_the_chain_that_decided_when_the_run_ended(tmp_path: Path) -> None:
    from flowmancer._report._data import page_data
    from flowmancer_log import RecordedAttempt, RecordedRun, RecordedTask

    def ran(name: str, start: float, end: float, *deps: str) -> RecordedTask:
        attempt = RecordedAttempt(1, start, end, "COMPLETED")
        return RecordedTask(name, "COMPLETED", None, [attempt], {"dependencies": list(deps)})

    # x ran 2 s alone; y 1 s, then z 1 s, but z waited a second for a slot after y ended.
    # By durations alone x and y+z tie at 2 s; the run ended when z did: y, then z, 3 s.
    tasks = {t.name: t for t in (ran("x", 0, 2), ran("y", 0, 1), ran("z", 2, 3, "y"))}
    run = RecordedRun(tmp_path / "run.jsonl", "job", "run", 0.0, ended=3.0, tasks=tasks)
    data = page_data(run, [])
    assert [data["tasks"][i]["n"] for i in data["critical"]] == ["y", "z"]
    assert data["critical_total"] == 3.0
