"""Each example runs as a user would run it, and does what it says.

The project examples (a main.py, a tasks/ package, a job.yaml) are copied under ``tmp_path``
first, so their runs leave no logs or checkpoints in the repository.
"""

from __future__ import annotations

import csv
import datetime
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


def run_example(name: str) -> str:
    """Run ``examples/<name>/main.py`` as a user would; its output, after checking it exited 0."""
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / name / "main.py")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def copy_example(tmp_path: Path, name: str) -> Path:
    """A copy of ``examples/<name>`` without anything an earlier run left there."""
    ignore = shutil.ignore_patterns("logs", ".flowmancer", "__pycache__", "*.pyc")
    return Path(shutil.copytree(EXAMPLES / name, tmp_path / name, ignore=ignore))


def drive(root: Path, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """``python main.py -j job.yaml ARGS`` in the project folder (or ``cwd``)."""
    job = root / "job.yaml" if cwd else Path("job.yaml")
    return subprocess.run(
        [sys.executable, str(root / "main.py"), "-j", str(job), *args],
        cwd=cwd or root,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def run_folders(root: Path, job: str) -> list[Path]:
    """The job's log folders, oldest first (their names are the runs' start times)."""
    return sorted((root / "logs" / job).iterdir())


def log_names(run: Path) -> list[str]:
    return sorted(path.name for path in run.iterdir() if path.suffix == ".log")


_ATTEMPT = re.compile(r"^----- attempt \d+ · (\S+) -----$", re.MULTILINE)
_ENDED = re.compile(r"^\[(\S+)\] \w+ - RUNNING -> \w+", re.MULTILINE)


def attempt_windows(log: str) -> list[tuple[datetime.datetime, datetime.datetime]]:
    """When each attempt in a task's log file started and ended."""
    starts = [datetime.datetime.fromisoformat(t) for t in _ATTEMPT.findall(log)]
    ends = [datetime.datetime.fromisoformat(t) for t in _ENDED.findall(log)]
    assert len(starts) == len(ends), log
    return list(zip(starts, ends, strict=True))


def most_at_once(windows: list[tuple[datetime.datetime, datetime.datetime]]) -> int:
    """The largest number of windows open at the same instant."""
    edges = sorted([(start, 1) for start, _ in windows] + [(end, -1) for _, end in windows])
    running = most = 0
    for _, step in edges:  # at equal times an end (-1) sorts before a start (+1)
        running += step
        most = max(most, running)
    return most


# -- the Python API and the graph on its own ---------------------------------------------------


def test_the_graph_demo_runs_the_quickstart_shape_and_shows_the_failure() -> None:
    out = run_example("graph")
    assert "do-something-3 FAILED: do-something-3 fails by design" in out
    assert "publish DEFAULTED (without running)" in out
    assert "cleanup COMPLETED" in out  # finally runs after a failure
    assert "alert COMPLETED" in out  # one_failed runs because of it
    assert out.index("alert COMPLETED") < out.index("cleanup RUNNING")  # finally: last
    assert "finished: 2 tasks did not complete: do-something-3, publish" in out
    assert out.index("do-something-1 COMPLETED") < out.index("do-something-3 RUNNING")
    assert out.index("do-something-2 COMPLETED") < out.index("do-something-3 RUNNING")
    assert "do-something-3, publish, cleanup" in out
    assert "dependency cycle: extract -> load -> extract" in out
    assert "report depends on laod (did you mean load?)" in out


def test_the_runner_demo_runs_the_quickstart_in_real_processes() -> None:
    out = run_example("runner")
    lines = out.splitlines()

    def first(text: str) -> int:
        return next(i for i, line in enumerate(lines) if text in line)

    assert first("do-something-1 | COMPLETED") < first("do-something-3 | RUNNING")
    assert first("do-something-2 | COMPLETED") < first("do-something-3 | RUNNING")
    assert "upstream wrote: {'do-something-1': 'HELLO', 'do-something-2': 'WORLD'}" in out
    assert "attempt 1 of 2 failed (RuntimeError: fails by design); next in 0.2 s" in out
    assert "do-something-3 | FAILED  (RuntimeError: fails by design)" in out
    assert "cleanup > INFO    removing temporary files" in out
    assert "exit code 1: one task did not complete, by design." in out


# -- quickstart ---------------------------------------------------------------------------------


def test_the_quickstart_fails_by_design_then_r_resumes_without_redoing_finished_tasks(
    tmp_path: Path,
) -> None:
    root = copy_example(tmp_path, "quickstart")
    failed = drive(root)
    assert failed.returncode == 1, failed.stderr  # one task did not complete
    assert "do-something-3: FAILED: RuntimeError: failing by design" in failed.stderr
    assert (root / ".flowmancer" / "quickstart.json").is_file()  # the checkpoint

    (first,) = run_folders(root, "quickstart")
    assert log_names(first) == ["do-something-1.log", "do-something-2.log", "do-something-3.log"]
    waited = [attempt_windows((first / f"do-something-{n}.log").read_text()) for n in (1, 2)]
    assert most_at_once([w for windows in waited for w in windows]) == 2  # side by side
    failure = (first / "do-something-3.log").read_text()
    assert "upstream wrote: {'do-something-1': 'HELLO', 'do-something-2': 'WORLD'}" in failure
    assert "Traceback (most recent call last)" in failure
    assert "RUNNING -> FAILED (RuntimeError: failing by design" in failure

    resumed = drive(root, "-r", "--var", "fail=false")
    assert resumed.returncode == 0, resumed.stderr
    assert "2 completed kept; running 1 failed (do-something-3)" in resumed.stderr
    second = run_folders(root, "quickstart")[-1]
    assert log_names(second) == ["do-something-3.log"]  # the finished ones did not run again
    fixed = (second / "do-something-3.log").read_text()
    assert "resumed after an earlier failure" in fixed  # on_restart
    assert "upstream wrote: {'do-something-1': 'HELLO', 'do-something-2': 'WORLD'}" in fixed
    assert not (root / ".flowmancer" / "quickstart.json").exists()  # cleared on success


def test_the_quickstart_runs_from_another_folder(tmp_path: Path) -> None:
    root = copy_example(tmp_path, "quickstart")
    done = drive(root, "--var", "fail=false", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert len(run_folders(root, "quickstart")) == 1  # logs beside main.py, not in the cwd
    assert not (tmp_path / "logs").exists()


def test_hatch_run_demo_shows_the_failure_the_logs_and_the_resume(tmp_path: Path) -> None:
    root = copy_example(tmp_path, "quickstart")
    demo = subprocess.run(
        [sys.executable, str(root / "demo.py")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert demo.returncode == 0, demo.stdout + demo.stderr
    out = demo.stdout
    assert "exit status 1: the number of tasks that did not complete" in out
    assert re.search(r"logs/quickstart/[^/]+/do-something-3\.log", out)
    assert "ERROR - RuntimeError: failing by design" in out  # the failed task's log, shown
    assert "only the fixed task ran again: do-something-3.log" in out
    assert "INFO - resumed after an earlier failure" in out
    assert out.rstrip().endswith("=== the demo worked")
    assert "do-something-3: FAILED" in demo.stderr  # the driver's own output
    assert "2 completed kept; running 1 failed (do-something-3)" in demo.stderr
    assert 'demo = "python examples/quickstart/demo.py {args}"' in (ROOT / "hatch.toml").read_text()


# -- etl ----------------------------------------------------------------------------------------

ETL_TOTALS = {
    "by_product": {"gadget": 405.9, "gizmo": 145.09, "widget": 222.75},
    "by_region": {"apac": 121.0, "eu": 242.75, "us": 409.99},
}


def test_the_etl_retries_the_busy_warehouse_cleans_up_and_skips_the_alert(tmp_path: Path) -> None:
    root = copy_example(tmp_path, "etl")
    done = drive(root)
    assert done.returncode == 0, done.stderr
    assert "job 'etl' succeeded" in done.stdout and "6 completed, 1 skipped" in done.stdout
    # shared_dict: three extracts -> transform -> load wrote what they all shared
    assert json.loads((root / "warehouse" / "report.json").read_text()) == ETL_TOTALS
    assert not (root / "staging").exists()  # cleanup ran
    assert not (root / "ALERT.txt").exists()  # one_failed: nothing failed, the alert is SKIPPED
    assert "alert: INIT -> SKIPPED (nothing upstream failed)" in done.stderr

    (run,) = run_folders(root, "etl")
    load = (run / "load.log").read_text()
    assert "attempt 1 of 3 failed (ConnectionError: warehouse busy); next in 0.1 s" in load
    assert "report written to warehouse/report.json on attempt 2" in load
    extracts = [
        window
        for region in ("eu", "us", "apac")
        for window in attempt_windows((run / f"extract[{region}].log").read_text())
    ]
    assert len(extracts) == 3
    assert most_at_once(extracts) == 2  # the `api` pool holds two


def test_the_etl_alerts_when_the_load_fails_and_r_reruns_the_load_and_what_follows(
    tmp_path: Path,
) -> None:
    root = copy_example(tmp_path, "etl")
    failed = drive(root, "--var", "busy=3")  # busy for all three attempts
    assert failed.returncode == 1, failed.stderr
    assert "load: FAILED: ConnectionError: warehouse busy" in failed.stderr
    assert "next in 0.2 s" in failed.stderr  # backoff 0.1, doubled by backoff_factor: 2
    alert = (root / "ALERT.txt").read_text()
    assert (
        alert == "the sales report was not loaded: load FAILED (ConnectionError: warehouse busy)\n"
    )
    assert not (root / "staging").exists()  # finally: cleanup ran after the failure, last
    (run,) = run_folders(root, "etl")
    cleanup, alerted = (
        attempt_windows((run / f"{n}.log").read_text())[0] for n in ("cleanup", "alert")
    )
    assert cleanup[0] >= alerted[1]
    assert not (root / "warehouse").exists()

    resumed = drive(root, "-r", "--var", "busy=0")
    assert resumed.returncode == 0, resumed.stderr
    assert (
        "4 completed kept; running 1 failed (load), "
        "2 downstream of a task that runs again (cleanup, alert)" in resumed.stderr
    )
    # the cleanup runs after the new load; the alert is judged anew: nothing failed this time
    assert "alert: INIT -> SKIPPED (nothing upstream failed)" in resumed.stderr
    assert log_names(run_folders(root, "etl")[-1]) == ["cleanup.log", "load.log"]
    # the totals came from the checkpoint's shared_dict: transform did not run again
    assert json.loads((root / "warehouse" / "report.json").read_text()) == ETL_TOTALS


FLOWMANCER = "import sys; from flowmancer._cli import main; sys.exit(main())"


def flowmancer_graph(job: Path, *args: str) -> str:
    """``flowmancer graph JOB ARGS`` (what the console script runs), as a mermaid block."""
    graph = subprocess.run(
        [sys.executable, "-c", FLOWMANCER, "graph", str(job), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert graph.returncode == 0, graph.stderr
    return f"```mermaid\n{graph.stdout.strip()}\n```"


@pytest.mark.parametrize(
    "flags",
    [["--run-from", "transform", "--skip", "alert"], ["--skip", "transform"]],
)
def test_the_etl_dry_runs_are_the_ones_in_the_readme(tmp_path: Path, flags: list[str]) -> None:
    root = copy_example(tmp_path, "etl")
    done = drive(root, "--dry-run", *flags)
    assert done.returncode == 0, done.stderr
    readme = (ROOT / "README.md").read_text()
    shown = f"main.py -j job.yaml --dry-run {' '.join(flags)}\n{done.stdout}```"
    assert shown in readme  # which tasks run, which are left out, what load waits for


def test_the_etl_graphs_are_the_mermaid_charts_in_the_readme(tmp_path: Path) -> None:
    root = copy_example(tmp_path, "etl")
    readme = (ROOT / "README.md").read_text()
    assert flowmancer_graph(root / "job.yaml") in readme
    assert drive(root, "--var", "busy=3").returncode == 1
    assert flowmancer_graph(root / "job.yaml", "--states") in readme


# -- custom logger and custom extension ---------------------------------------------------------


def test_the_custom_logger_writes_every_line_as_a_csv_row_beside_the_usual_files(
    tmp_path: Path,
) -> None:
    root = copy_example(tmp_path, "custom-logger")
    done = drive(root)
    assert done.returncode == 0, done.stderr
    with (root / "logs" / "lines.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    lines: dict[str, list[tuple[str, str]]] = {}
    for row in rows:  # the two counts ran side by side: their rows interleave
        lines.setdefault(row["task"], []).append((row["severity"], row["message"]))
    assert lines == {
        "count-poem": [
            ("INFO", "9 words"),
            ("ERROR", "longest: quick"),  # stderr lines are ERROR
            ("WARNING", "counted 9 words, with, commas"),  # self.logger.warning; CSV-quoted
        ],
        "count-motto": [
            ("INFO", "8 words"),
            ("ERROR", "longest: order,"),
            ("WARNING", "counted 8 words, with, commas"),
        ],
        "total": [("INFO", "total: 17 words")],
    }
    assert rows[-1]["task"] == "total" and rows[-1]["message"] == "total: 17 words"
    assert all(datetime.datetime.fromisoformat(r["time"]).tzinfo for r in rows)
    (run,) = run_folders(root, "words")  # the FileLogger named beside it still writes
    assert log_names(run) == ["count-motto.log", "count-poem.log", "total.log"]
    assert "total: 17 words" in (run / "total.log").read_text()


def test_the_custom_extension_writes_a_json_summary_of_states_attempts_and_durations(
    tmp_path: Path,
) -> None:
    root = copy_example(tmp_path, "custom-extension")
    done = drive(root)
    assert done.returncode == 0, done.stderr
    assert "resize: RUNNING -> PENDING (attempt 1 of 2 failed" in done.stderr  # progress lines
    summary = json.loads((root / "summary.json").read_text())
    assert summary["outcome"] == "succeeded"
    tasks = summary["tasks"]
    assert list(tasks) == ["download", "resize", "publish"]
    assert {name: (t["state"], t["attempts"]) for name, t in tasks.items()} == {
        "download": ("completed", 1),
        "resize": ("completed", 2),
        "publish": ("completed", 1),
    }
    assert 0.2 <= tasks["download"]["seconds"] < 5
    assert 0.2 <= tasks["resize"]["seconds"] < 5  # two attempts of 0.1 s
    assert 0.05 <= tasks["publish"]["seconds"] < 5

    failed = drive(root, "--var", "flaky=2")
    assert failed.returncode == 2, failed.stderr  # resize FAILED, publish DEFAULTED
    summary = json.loads((root / "summary.json").read_text())
    assert summary["outcome"] == "failed"
    assert {name: t["state"] for name, t in summary["tasks"].items()} == {
        "download": "completed",
        "resize": "failed",
        "publish": "defaulted",
    }
    assert summary["tasks"]["publish"]["attempts"] == 0
