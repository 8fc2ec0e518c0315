"""The report of the smallest job (one task), of a run killed with ``kill -9``, and of a large one
(10,000 tasks in 100 layers), run for real and opened in chromium: every task is there, the
killed run's page says it is incomplete, the large graph collapses to its layers with counts,
the table pages and sorts, the timeline draws only what is in view. How long the report takes
to build and the page to respond is measured in benchmarks/report.py."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from browser_support import browser, console_errors, open_page, screenshot
from report_support import DASH, HANGS, drive, flowmancer, kill_9_while_hanging, make_project

LAYERS, WIDTH = 100, 100


def large_job(layers: int = LAYERS, width: int = WIDTH) -> str:
    """``layers`` x ``width`` tasks, each depending on two of the layer before."""
    lines = ["config:", "  name: large", "  executor: thread", "extensions: {}", "tasks:"]
    for level in range(layers):
        for i in range(width):
            lines += [f"  t{level}-{i}:", "    task: Sleep", "    parameters: {seconds: 0}"]
            if level:
                lines.append(
                    f"    dependencies: [t{level - 1}-{i}, t{level - 1}-{(i + 1) % width}]"
                )
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    yield from browser()


@pytest.fixture(scope="module")
def large_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = make_project(tmp_path_factory.mktemp("large") / "project", large_job())
    done = drive(folder, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    written = flowmancer(folder, "report", "job.yaml")
    assert written.returncode == 0, written.stderr
    return Path(written.stdout.strip())


def test_a_job_of_one_task_has_a_whole_report(chromium: Any, tmp_path: Path) -> None:
    one = "config: {name: one}\ntasks:\n  only:\n    task: Sleep\n    parameters: {seconds: 0.01}\n"
    folder = make_project(tmp_path / "project", one)
    assert drive(folder, "--report").returncode == 0
    page = next((folder / "logs" / "one").glob("*/report.html"))
    open_page(chromium, page)
    assert chromium.find_element("id", "status").text == "succeeded"
    assert len(chromium.find_elements("css selector", "#view-graph g.node")) == 1
    chromium.find_element("css selector", '#tabs button[data-view="timeline"]').click()
    assert len(chromium.find_elements("css selector", "g.tl-row")) == 1
    chromium.find_element("css selector", '#tabs button[data-view="compare"]').click()
    assert "No earlier runs of this job" in chromium.find_element("id", "view-compare").text
    assert console_errors(chromium) == []


def test_the_page_of_a_run_killed_with_kill_9_says_it_is_incomplete(
    chromium: Any, tmp_path: Path
) -> None:
    folder = make_project(tmp_path / "project", HANGS)
    kill_9_while_hanging(folder)
    written = flowmancer(folder, "report", "job.yaml")
    assert written.returncode == 0, written.stderr
    open_page(chromium, Path(written.stdout.strip()))
    assert chromium.find_element("id", "status").text == "incomplete"
    assert chromium.find_element("id", "incomplete").text.startswith("Incomplete: the record ends")
    assert "to resume:" in chromium.find_element("id", "resume").text
    chromium.find_element("css selector", '#tabs button[data-view="tasks"]').click()
    states = {
        r.find_element("css selector", "td.name").text: r.get_attribute("data-state")
        for r in chromium.find_elements("css selector", "#tasks tbody tr")
    }
    assert states == {"quick": "COMPLETED", "hang": "RUNNING", "never": "INIT"}
    assert console_errors(chromium) == []


def test_a_report_of_10000_tasks_is_under_10_mb(large_report: Path) -> None:
    assert large_report.stat().st_size <= 10_000_000


def test_10000_tasks_collapse_to_layers_with_counts(chromium: Any, large_report: Path) -> None:
    open_page(chromium, large_report)
    graph = chromium.find_element("id", "view-graph")
    assert f"10000 tasks in {LAYERS} layers" in graph.text
    layers = graph.find_elements("css selector", "g.layer")
    assert len(layers) == LAYERS and not graph.find_elements("css selector", "g.node")
    counts = [int(re.search(r"(\d+) tasks", g.text).group(1)) for g in layers]  # type: ignore[union-attr]
    assert counts == [WIDTH] * LAYERS
    screenshot(chromium, "graph-10000")
    layers[3].click()  # lists that layer's tasks
    shown = chromium.find_element("id", "shown").text
    assert shown.startswith(f"{WIDTH} of 10000 tasks (layers 3{DASH}3)")
    assert console_errors(chromium) == []


def test_10000_tasks_page_and_sort_in_the_table(chromium: Any, large_report: Path) -> None:
    open_page(chromium, large_report)
    chromium.find_element("css selector", '#tabs button[data-view="tasks"]').click()
    assert chromium.find_element("id", "shown").text == f"10000 tasks, 1{DASH}500 shown"
    assert len(chromium.find_elements("css selector", "#tasks tbody tr")) == 500
    chromium.find_element("css selector", '#pages button[data-step="1"]').click()
    assert chromium.find_element("id", "shown").text == f"10000 tasks, 501{DASH}1000 shown"
    chromium.find_element("css selector", '#tasks th[data-key="name"] button').click()
    names = [c.text for c in chromium.find_elements("css selector", "#tasks td.name")]
    assert names == sorted(names) and names[0] == "t0-0"
    chromium.find_element("css selector", "#filter").send_keys("t99-")
    assert chromium.find_element("id", "shown").text == f"{WIDTH} of 10000 tasks"
    assert console_errors(chromium) == []


def test_10000_tasks_on_the_timeline_draw_only_the_rows_in_view(
    chromium: Any, large_report: Path
) -> None:
    open_page(chromium, large_report)
    chromium.find_element("css selector", '#tabs button[data-view="timeline"]').click()
    space = chromium.find_element("css selector", ".tl-space")
    assert space.size["height"] == 10000 * 22
    drawn = chromium.find_elements("css selector", "g.tl-row")
    assert 0 < len(drawn) < 200
    chromium.execute_script("document.querySelector('.tl-scroll').scrollTop = 22 * 9000")
    chromium.execute_script("return new Promise(r => requestAnimationFrame(() => r()))")
    rows = chromium.find_elements("css selector", "g.tl-row")
    first = int(rows[0].get_attribute("data-i"))
    assert first > 8000  # rows near the bottom, in start order
    assert console_errors(chromium) == []
