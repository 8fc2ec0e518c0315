"""Records through structlog: a user's own processors and renderer apply."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import pytest
import structlog
from log_feed import T0, Feed
from structlog.testing import capture_logs

from flowmancer_log import StructlogLogger, configure_structlog


@pytest.fixture(autouse=True)
def _restore_structlog() -> Iterator[None]:
    yield
    structlog.reset_defaults()


def test_records_and_state_changes_become_structlog_events_with_the_run_fields() -> None:
    with capture_logs() as events:
        feed = Feed(StructlogLogger()).start(started=T0)
        feed.begin("a")
        feed.log("a", "hello", "WARNING", "logger")
        feed.change("a", "FAILED", "ValueError: bad")
        feed.end()
    by_event = {e["event"]: e for e in events if e["event"] != "state change"}
    assert by_event["hello"] == {
        "event": "hello",
        "log_level": "warning",
        "timestamp": "2026-11-18T11:06:40.003000+00:00",
        "job": "job",
        "run_id": "run-1",
        "task": "a",
        "attempt": 1,
        "stream": "logger",
    }
    failed = [e for e in events if e.get("after") == "FAILED"]
    assert failed[0]["log_level"] == "error" and failed[0]["reason"] == "ValueError: bad"
    assert by_event["run started"]["tasks"] == ["a"]
    assert by_event["run ended"]["log_level"] == "error"
    assert by_event["run ended"]["exit_code"] == 1


def test_configure_structlog_runs_the_users_processors_then_the_renderer() -> None:
    out = io.StringIO()

    def redact(logger: Any, name: str, event: Any) -> Any:
        event["event"] = event["event"].replace("hunter2", "***")
        return event

    def drop_state_changes(logger: Any, name: str, event: Any) -> Any:
        if event["event"] == "state change":
            raise structlog.DropEvent
        return event

    configure_structlog(
        [redact, drop_state_changes],
        renderer=structlog.processors.JSONRenderer(),
        stream=out,
        level="info",
    )
    feed = Feed(StructlogLogger()).start()
    feed.begin("a")
    feed.log("a", "password hunter2")
    feed.log("a", "too detailed", "DEBUG")
    feed.end()
    events = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [e["event"] for e in events] == ["run started", "password ***", "run ended"]
    assert events[1]["level"] == "info" and events[1]["task"] == "a"


def test_configure_structlog_defaults_to_a_plain_console_renderer_off_a_terminal() -> None:
    out = io.StringIO()
    configure_structlog(stream=out)
    feed = Feed(StructlogLogger()).start()
    feed.log("a", "hello there")
    feed.end()
    lines = out.getvalue().splitlines()
    assert any("hello there" in ln and "task=a" in ln for ln in lines)
    assert "\x1b[" not in out.getvalue()


def test_an_unknown_level_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="unknown level 'LOUD'"):
        configure_structlog(level="LOUD")


def test_a_given_logger_is_used_and_unknown_levels_fall_back_to_info() -> None:
    with capture_logs() as events:
        feed = Feed(StructlogLogger(structlog.get_logger("mine"))).start()
        feed.log("a", "odd", "NOTICE")
        feed.end()
    assert [e["log_level"] for e in events if e["event"] == "odd"] == ["info"]
