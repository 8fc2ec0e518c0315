"""The run report as a person sees it: real runs of a real project, the page opened in chromium.

Three runs of one job (the last one slower in one task), then the last run's report, written at
its end (``--report``), is clicked through: every task with its state, the graph, the timeline
with its retry, a task's log tail, sorting, the comparison with the earlier runs, a script in a
task name that never runs, no console errors. Screenshots of each view go to tests/artifacts/.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from browser_support import browser, console_errors, open_page, screenshot
from report_support import (
    DASH,
    EXPECTED,
    HTML_TITLE,
    SCRIPT_NAME,
    UNICODE_NAME,
    drive,
    make_project,
)


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    yield from browser()


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The report of the third of three runs (the third one's ``extract`` slower)."""
    folder = make_project(tmp_path_factory.mktemp("report") / "project")
    for extra in ([], [], ["--var", "slow=1.5", "--report"]):
        done = drive(folder, *extra)
        assert done.returncode == 2, done.stderr  # broken FAILED, after-broken DEFAULTED
    said = re.search(r"; report: (\S+report\.html)$", done.stdout, re.M)  # the summary line
    assert said, f"the summary line names no report:\n{done.stdout}"
    return Path(said.group(1))


def view(driver: Any, name: str) -> Any:
    driver.find_element("css selector", f'#tabs button[data-view="{name}"]').click()
    return driver.find_element("id", f"view-{name}")


def seconds(text: str) -> float:
    """A duration as the page writes it ("545 ms", "1.25 s"), in seconds (-1 for none)."""
    if text == DASH:
        return -1.0
    number, unit = text.split()
    return float(number) / (1000 if unit == "ms" else 1)


def table_rows(driver: Any) -> list[tuple[str, str]]:
    rows = driver.find_elements("css selector", "#tasks tbody tr")
    return [
        (r.find_element("css selector", "td.name").text, r.get_attribute("data-state"))
        for r in rows
    ]


def test_every_task_is_in_the_table_with_its_final_state(chromium: Any, report: Path) -> None:
    open_page(chromium, report)
    view(chromium, "tasks")
    assert dict(table_rows(chromium)) == EXPECTED
    header = chromium.find_element("id", "head").text
    assert "report-demo" in header and "failed" in header
    assert "to resume:" in header and "-r" in header
    counts = chromium.find_element("id", "counts").text
    assert "6 completed" in counts and "1 failed" in counts and "1 defaulted" in counts
    assert console_errors(chromium) == []


def test_the_graph_draws_every_task_coloured_by_state_with_its_edges(
    chromium: Any, report: Path
) -> None:
    open_page(chromium, report)
    graph = view(chromium, "graph")
    nodes = graph.find_elements("css selector", "g.node")
    shown = {n.find_element("css selector", "title").get_attribute("textContent") for n in nodes}
    assert shown == {f"{name} — {state}" for name, state in EXPECTED.items()}
    assert len(graph.find_elements("css selector", "path.edge")) == 8  # the job's dependencies
    assert graph.find_elements("css selector", "path.edge.crit")  # the critical path
    screenshot(chromium, "graph")
    assert console_errors(chromium) == []


def test_the_timeline_has_a_bar_per_attempt_and_the_retry_wait(chromium: Any, report: Path) -> None:
    open_page(chromium, report)
    timeline = view(chromium, "timeline")
    rows = {
        r.get_attribute("data-i"): r for r in timeline.find_elements("css selector", "g.tl-row")
    }
    assert len(rows) == 7  # all but the DEFAULTED one ran
    flaky = next(r for r in rows.values() if "flaky" in r.text)
    bars = flaky.find_elements("css selector", "rect.bar")
    assert [b.get_attribute("data-outcome") for b in bars] == ["RETRY", "COMPLETED"]
    assert len(flaky.find_elements("css selector", "line.wait")) == 1
    assert timeline.find_elements("css selector", "g.tl-row.crit")  # the critical path
    axis = timeline.find_element("css selector", ".tl-axis").text
    assert re.search(r"\d{1,2}:\d\d:\d\d", axis), axis  # times of day, the viewer's own
    screenshot(chromium, "timeline")
    assert console_errors(chromium) == []


def test_clicking_a_task_shows_its_last_100_log_lines_as_text(chromium: Any, report: Path) -> None:
    open_page(chromium, report)
    view(chromium, "tasks")
    for row in chromium.find_elements("css selector", "#tasks tbody tr td.name"):
        if row.text == SCRIPT_NAME:
            row.click()
            break
    assert chromium.find_element("id", "detail-name").text.startswith(SCRIPT_NAME)
    log = chromium.find_element("id", "detail-log").text.splitlines()
    assert len(log) == 100
    assert log[-2:] == [
        "["
        + log[-2].split("[", 1)[1].split("]", 1)[0]
        + "] INFO - line 150 of 150 <b>not bold</b> & été",
        log[-1],
    ]
    assert log[-1].endswith("RUNNING -> COMPLETED")
    detail = chromium.find_element("id", "detail").text
    assert HTML_TITLE in detail  # the parameter, as text
    screenshot(chromium, "task")
    assert console_errors(chromium) == []


def test_a_failed_task_shows_its_reason(chromium: Any, report: Path) -> None:
    open_page(chromium, report)
    view(chromium, "tasks")
    chromium.find_element("css selector", "#tasks tbody tr[data-state='FAILED']").click()
    reason = chromium.find_element("id", "detail-reason").text
    assert reason == "ValueError: broken <i>on purpose</i>"
    assert "ValueError: broken <i>on purpose</i>" in chromium.find_element("id", "detail-log").text


def test_sorting_by_duration_state_and_attempts(chromium: Any, report: Path) -> None:
    open_page(chromium, report)
    view(chromium, "tasks")

    def column(key: str) -> list[str]:
        chromium.find_element("css selector", f'#tasks th[data-key="{key}"] button').click()
        index = ["name", "state", "attempts", "duration"].index(key) + 1
        cells = chromium.find_elements("css selector", f"#tasks tbody tr td:nth-child({index})")
        return [c.text for c in cells]

    longest_first = [seconds(t) for t in column("duration")]
    assert longest_first == sorted(longest_first, reverse=True)
    sort = chromium.find_element("css selector", '#tasks th[data-key="duration"]')
    assert sort.get_attribute("aria-sort") == "descending"
    shortest_first = [seconds(t) for t in column("duration")]
    assert shortest_first == sorted(shortest_first)
    states = column("state")
    assert states[:2] == ["FAILED", "DEFAULTED"] and set(states[2:]) == {"COMPLETED"}
    attempts = [int(a) for a in column("attempts")]
    assert attempts == sorted(attempts, reverse=True) and attempts[0] == 2
    assert console_errors(chromium) == []


def test_script_in_names_parameters_and_logs_is_shown_never_run(
    chromium: Any, report: Path
) -> None:
    open_page(chromium, report)
    for name in ("graph", "timeline", "tasks", "compare"):
        view(chromium, name)
    view(chromium, "tasks")
    for cell in chromium.find_elements("css selector", "#tasks tbody tr td.name"):
        cell.click()  # every task's detail, its parameters and log tail drawn
    assert chromium.execute_script("return window.alert.toString()").endswith("{ [native code] }")
    assert chromium.execute_script("return document.body.dataset.pwned") is None
    assert chromium.execute_script("return document.querySelectorAll('script').length") == 2
    assert chromium.execute_script("return document.querySelectorAll('#tasks img').length") == 0
    names = [c.text for c in chromium.find_elements("css selector", "#tasks td.name")]
    assert SCRIPT_NAME in names and UNICODE_NAME in names
    chromium.switch_to.window(chromium.current_window_handle)  # no alert is open
    assert console_errors(chromium) == []


def test_the_comparison_puts_the_slowest_regression_first(chromium: Any, report: Path) -> None:
    open_page(chromium, report)
    compare = view(chromium, "compare")
    assert "median of the last 2 runs" in compare.text
    rows = compare.find_elements("css selector", "#compare tbody tr")
    changes = {}
    for row in rows:
        text = row.find_elements("css selector", "td")[3].text  # "+545 ms (+739 %)"
        sign = -1 if text.startswith("\N{MINUS SIGN}") else 1
        changes[row.get_attribute("data-task")] = sign * seconds(text[1:].split(" (")[0])
    assert list(changes.values()) == sorted(changes.values(), reverse=True)
    assert changes["extract"] >= 0.8  # slept 1.5 s instead of 0.05 s (noise aside)
    assert set(changes) == {n for n, s in EXPECTED.items() if s == "COMPLETED"}
    screenshot(chromium, "compare")
    assert console_errors(chromium) == []


def test_secrets_in_parameters_never_reach_the_page(report: Path) -> None:
    page = report.read_text(encoding="utf-8")
    assert "hunter2" not in page
    assert "postgres://me:***@db/x" in page


def test_the_page_loads_nothing_from_anywhere(report: Path) -> None:
    page = report.read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert "@import" not in page and "url(" not in page
    assert "default-src 'none'" in page
