"""``JSONLinesLogger``: one JSON object per line, appended, that a machine can follow."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from log_feed import T0, Feed

from flowmancer_log import JSONLinesLogger
from flowmancer_log._jsonl import json_default


def read(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_every_record_and_state_change_is_one_object_on_one_line(tmp_path: Path) -> None:
    logger = JSONLinesLogger(tmp_path / "{job}.jsonl")
    feed = Feed(logger, job="nightly", tasks=("load",)).start(started=T0)
    feed.begin("load")
    feed.log("load", "two\nlines", "WARNING", "logger")
    feed.change("load", "FAILED", "ValueError: bad")
    feed.end()
    objects = read(tmp_path / "nightly.jsonl")
    assert [o["kind"] for o in objects] == [
        "run_start",
        "state",
        "state",
        "log",
        "state",
        "run_end",
    ]
    start, _, running, log, failed, end = objects
    assert start["tasks"] == ["load"] and start["resumed"] is False
    assert start["timestamp"] == "2026-11-18T11:06:40.000000+00:00"
    assert running["after"] == "RUNNING" and running["attempt"] == 1
    assert log == {
        "timestamp": "2026-11-18T11:06:40.003000+00:00",
        "level": "warning",
        "kind": "log",
        "job": "nightly",
        "run_id": "run-1",
        "task": "load",
        "attempt": 1,
        "stream": "logger",
        "event": "two\nlines",
    }
    assert failed["level"] == "error" and failed["reason"] == "ValueError: bad"
    assert end["ok"] is False and end["exit_code"] == 1 and end["states"] == {"load": "FAILED"}


def test_runs_are_appended_and_the_path_may_name_the_run(tmp_path: Path) -> None:
    shared = JSONLinesLogger(tmp_path / "all.jsonl")
    per_run = JSONLinesLogger(tmp_path / "{job}" / "{run_id}.jsonl")
    for run_id in ("r1", "r2"):
        feed = Feed(shared, per_run)
        feed.run_id = run_id
        feed.start()
        feed.log("a", run_id)
        feed.end()
    assert [o["event"] for o in read(tmp_path / "all.jsonl") if o["kind"] == "log"] == [
        "r1",
        "r2",
    ]
    assert len(read(tmp_path / "job" / "r1.jsonl")) == 3
    assert len(read(tmp_path / "job" / "r2.jsonl")) == 3


def test_any_text_gives_valid_json(tmp_path: Path) -> None:
    logger = JSONLinesLogger(tmp_path / "x.jsonl")
    feed = Feed(logger).start()
    messages = [
        "héllo ✓ 日本語 🚀",
        b"\xff\xfe".decode("utf-8", "replace"),
        b"\xff".decode("utf-8", "surrogateescape"),
        'quotes " and \\ backslashes\ttabs\r\n and \x00',
        "x" * 2_000_000,
    ]
    for message in messages:
        feed.log("a", message)
    feed.end()
    events = [o["event"] for o in read(tmp_path / "x.jsonl") if o["kind"] == "log"]
    assert events[0] == messages[0]
    assert events[1] == "\ufffd\ufffd"
    assert events[2] == "\udcff"  # the lone surrogate, as a JSON escape
    assert events[3:] == messages[3:]


def test_lines_are_readable_once_the_event_loop_goes_idle(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    logger = JSONLinesLogger(path)

    async def main() -> tuple[int, int]:
        feed = Feed(logger).start()
        await asyncio.sleep(0)
        before = len(path.read_text().splitlines())
        feed.log("a", "one")
        await asyncio.sleep(0)
        after = len(path.read_text().splitlines())
        feed.end()
        return before, after

    assert asyncio.run(main()) == (1, 2)


def test_a_value_that_cannot_be_serialised_never_fails_the_line() -> None:
    class Weird:
        def __str__(self) -> str:
            raise RuntimeError("no")

    assert json_default(Path("/x")) == "/x"
    assert json_default(Weird()) == "<unprintable Weird>"


def test_a_custom_renderer_may_return_bytes(tmp_path: Path) -> None:
    def renderer(logger: object, name: str, event: Any) -> bytes:
        return json.dumps({"only": event["kind"]}).encode()

    logger = JSONLinesLogger(tmp_path / "x.jsonl", renderer=renderer)
    feed = Feed(logger).start()
    feed.log("a", "x")
    feed.end()
    assert read(tmp_path / "x.jsonl") == [
        {"only": "run_start"},
        {"only": "log"},
        {"only": "run_end"},
    ]


def test_a_path_with_an_unknown_field_is_refused_at_once() -> None:
    with pytest.raises(ValueError, match=r"only \{job\} and \{run_id\}"):
        JSONLinesLogger("./logs/{date}.jsonl")
    JSONLinesLogger("./logs/{{literal}}-{job}.jsonl")  # doubled braces are fine
