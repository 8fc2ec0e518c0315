"""``ConsoleLogger``: task-prefixed lines, coloured only on a terminal and without NO_COLOR."""

from __future__ import annotations

import io
import os
import pty
import sys

import pytest
from log_feed import Feed

from flowmancer_log import ConsoleLogger


def test_plain_lines_are_prefixed_by_the_task_padded_to_the_longest_name() -> None:
    out = io.StringIO()
    feed = Feed(ConsoleLogger(out), tasks=("extract", "load")).start()
    feed.begin("load")
    feed.log("load", "reading")
    feed.log("load", "Traceback:\n  line\nValueError: bad", "ERROR", "runner")
    feed.change("load", "PENDING", "attempt 1 of 2 failed (ValueError: bad); next in 1 s")
    feed.change("load", "RUNNING")
    feed.change("load", "FAILED", "ValueError: bad")
    feed.change("extract", "DEFAULTED", "upstream did not complete: load")
    feed.end()
    assert out.getvalue().splitlines() == [
        "load    → RUNNING",
        "load    | reading",
        "load    | ERROR Traceback:",
        "load    | ERROR   line",
        "load    | ERROR ValueError: bad",
        "load    → PENDING (attempt 1 of 2 failed (ValueError: bad); next in 1 s)",
        "load    → RUNNING (attempt 2)",
        "load    → FAILED (ValueError: bad)",
        "extract → DEFAULTED (upstream did not complete: load)",
    ]


def test_colours_on_a_terminal_unless_no_color_is_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    leader, follower = pty.openpty()
    try:
        with open(follower, "w", closefd=False) as tty:
            logger = ConsoleLogger(tty)
            Feed(logger).start()
            assert logger._colour
            monkeypatch.setenv("NO_COLOR", "1")
            Feed(logger).start()
            assert not logger._colour
            monkeypatch.setenv("NO_COLOR", "")  # empty means unset (no-color.org)
            Feed(logger).start()
            assert logger._colour
    finally:
        os.close(leader)
        os.close(follower)


def test_colours_can_be_forced_either_way() -> None:
    out = io.StringIO()
    feed = Feed(ConsoleLogger(out, colors=True)).start()
    feed.log("a", "warned", "WARNING")
    feed.change("a", "FAILED", "boom")
    feed.end()
    text = out.getvalue()
    assert "\x1b[33mWARNING\x1b[0m warned" in text
    assert "\x1b[1;31mFAILED\x1b[0m (boom)" in text
    plain = io.StringIO()
    plain.isatty = lambda: True  # type: ignore[method-assign]
    feed = Feed(ConsoleLogger(plain, colors=False)).start()
    feed.log("a", "x")
    assert "\x1b" not in plain.getvalue()


def test_the_default_stream_is_stderr_at_the_time_of_writing(
    capsys: pytest.CaptureFixture[str],
) -> None:
    logger = ConsoleLogger()  # made before the stream it will use exists
    feed = Feed(logger).start()
    feed.log("a", "to stderr")
    feed.end()
    captured = capsys.readouterr()
    assert captured.err == "a | to stderr\n" and captured.out == ""
    assert logger.stream is None and sys.stderr is not None


def test_a_console_that_cannot_show_a_character_gets_an_escape() -> None:
    raw = io.BytesIO()
    out = io.TextIOWrapper(raw, encoding="ascii", errors="strict")
    feed = Feed(ConsoleLogger(out)).start()
    feed.log("a", "snow ☃")
    feed.change("a", "COMPLETED")
    feed.end()
    assert raw.getvalue().decode().splitlines() == ["a | snow \\u2603", "a -> COMPLETED"]


def test_pending_without_a_reason_is_not_shown_and_a_reason_shows_its_first_line() -> None:
    out = io.StringIO()
    feed = Feed(ConsoleLogger(out)).start()
    feed.change("a", "PENDING")
    feed.change("a", "RUNNING")
    feed.change("a", "FAILED", "first line\nsecond line")
    assert out.getvalue().splitlines() == ["a → RUNNING", "a → FAILED (first line)"]
