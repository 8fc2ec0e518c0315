"""Every run leaves a record beside its logs; ``flowmancer runs`` lists them and ``flowmancer
report`` turns one into a page. Real drivers in real projects: failed, resumed, dry, aborted and
killed runs."""

from __future__ import annotations

import json
import re
import signal
import sys
import textwrap
from pathlib import Path

from flowmancer_log import find_records, read_record

sys.path.insert(0, str(Path(__file__).parent))
from report_support import (
    HANGS,
    SCRIPT_NAME,
    UNICODE_NAME,
    drive,
    flowmancer,
    kill_9_while_hanging,
    make_project,
    start_hanging,
)

SMALL = """
config:
  name: small
tasks:
  first:
    task: Sleep
    parameters: {seconds: 0.01}
  second:
    task: FailsWhile
    dependencies: [first]
    parameters: {path: ./broken}
  third:
    task: Sleep
    dependencies: [second]
    parameters: {seconds: 0.01}
"""


def only_record(folder: Path, job: str) -> Path:
    (path,) = find_records(folder / "logs", job)
    return path


def test_a_failed_run_records_attempts_retries_reasons_and_where_it_came_from(
    tmp_path: Path,
) -> None:
    folder = make_project(tmp_path / "project")
    done = drive(folder)
    assert done.returncode == 2, done.stderr
    run = read_record(only_record(folder, "report-demo"))
    assert (run.status, run.exit_code, run.incomplete) == ("failed", 2, False)
    assert run.counts == {"COMPLETED": 6, "FAILED": 1, "DEFAULTED": 1}
    assert run.details["job_file"] == str(folder / "job.yaml")
    assert run.details["command"][-3:] == ["main.py", "-j", "job.yaml"]
    assert run.details["executor"] == "process" and run.details["max_concurrency"] == 3
    assert run.details["host"] and run.details["versions"]["flowmancer"] == "0.13.0"
    flaky = run.tasks["flaky"]
    assert [(a.number, a.outcome) for a in flaky.attempts] == [(1, "RETRY"), (2, "COMPLETED")]
    assert flaky.attempts[0].reason == "ConnectionError: busy the first time"
    assert flaky.attempts[0].wait == 0.2
    assert flaky.attempts[1].started - flaky.attempts[0].ended >= 0.2  # type: ignore[operator]
    assert flaky.details["max_attempts"] == 3 and flaky.dependencies == (UNICODE_NAME,)
    broken, after = run.tasks["broken"], run.tasks["after-broken"]
    assert (broken.state, broken.reason) == ("FAILED", "ValueError: broken <i>on purpose</i>")
    assert after.state == "DEFAULTED" and after.attempts == []
    assert after.reason == "upstream did not complete: broken"
    assert run.tasks[SCRIPT_NAME].log is not None
    assert "line 150 of 150" in run.tasks[SCRIPT_NAME].log.read_text(encoding="utf-8")
    assert run.tasks[SCRIPT_NAME].log.parent == run.path.parent  # beside the logs


def test_secrets_in_parameters_are_masked_in_the_record(tmp_path: Path) -> None:
    folder = make_project(tmp_path / "project")
    drive(folder, "--var", "api_token=s3cr3t")
    path = only_record(folder, "report-demo")
    text = path.read_text(encoding="utf-8")
    assert "hunter2" not in text and "s3cr3t" not in text
    run = read_record(path)
    assert run.tasks["secret"].details["parameters"] == {
        "db_password": "***",
        "url": "postgres://me:***@db/x",
    }
    assert "api_token=***" in run.details["command"]


def test_runs_lists_newest_first_with_counts_and_the_run_a_resume_continued(
    tmp_path: Path,
) -> None:
    folder = make_project(tmp_path / "project", SMALL)
    (folder / "broken").touch()
    assert drive(folder).returncode == 2
    (folder / "broken").unlink()
    resumed = drive(folder, "-r")
    assert resumed.returncode == 0, resumed.stderr
    listed = flowmancer(folder, "runs", "job.yaml")
    assert listed.returncode == 0, listed.stderr
    head, newest, oldest = listed.stdout.splitlines()
    assert head.split() == ["run", "started", "took", "result", "tasks", "resumed", "from"]
    first_id = oldest.split()[0]
    assert re.search(r"succeeded\s+3 completed\s+" + first_id + "$", newest), newest
    assert "failed" in oldest and "1 completed, 1 failed, 1 defaulted" in oldest
    as_json = json.loads(flowmancer(folder, "runs", "job.yaml", "--json").stdout)
    assert [r["status"] for r in as_json] == ["succeeded", "failed"]
    assert as_json[0]["resumed_from"] == as_json[1]["run_id"] == first_id
    assert as_json[1]["exit_code"] == 2 and as_json[1]["counts"]["FAILED"] == 1
    limited = flowmancer(folder, "runs", "job.yaml", "--limit", "1").stdout.splitlines()
    assert len(limited) == 2 and limited[1].split() == newest.split()
    everything = flowmancer(folder, "runs").stdout.splitlines()  # every job under ./logs
    assert everything[0].split()[0] == "job" and everything[1].startswith("small ")


def test_command_line_mistakes_exit_2(tmp_path: Path) -> None:
    folder = make_project(tmp_path / "project", SMALL)
    for args in (["runs", "--limit", "x"], ["runs", "--bogus"], ["report", "--run"]):
        done = flowmancer(folder, *args)
        assert done.returncode == 2, (args, done.stderr)
        assert "usage: flowmancer" in done.stderr and "Traceback" not in done.stderr


def test_a_dry_run_is_recorded_with_what_each_task_would_do(tmp_path: Path) -> None:
    folder = make_project(tmp_path / "project", SMALL)
    done = drive(folder, "--dry-run", "--skip", "third")
    assert done.returncode == 0, done.stderr
    run = read_record(only_record(folder, "small"))
    assert (run.status, run.dry_run) == ("dry run", True)
    assert run.details["plan"] == {
        "first": "run",
        "second": "run",
        "third": "skip: left out by --skip/--run-from/--run-to",
    }
    assert all(not t.attempts for t in run.tasks.values())
    assert "dry run" in flowmancer(folder, "runs", "job.yaml").stdout


def test_record_false_keeps_no_record(tmp_path: Path) -> None:
    folder = make_project(
        tmp_path / "project", SMALL.replace("name: small", "name: small\n  record: false")
    )
    assert drive(folder).returncode == 0
    (run_folder,) = (folder / "logs" / "small").iterdir()
    assert (run_folder / "first.log").is_file()
    assert not list(folder.rglob("run.jsonl"))
    listed = flowmancer(folder, "runs", "job.yaml")
    assert listed.returncode == 0 and listed.stdout == ""
    assert "no runs recorded of job 'small'" in listed.stderr


def test_records_older_than_the_retention_are_pruned(tmp_path: Path) -> None:
    # With a FileLogger the record lives in its run folder and goes with it; with no logger the
    # recorder keeps its own folders under ./logs and prunes them with the default 10 days.
    for loggers in ("", "loggers: {}\n"):
        folder = make_project(tmp_path / f"project{len(loggers)}", SMALL + loggers)
        old = folder / "logs" / "small" / "2020-01-01T00-00-00.000Z"
        old.mkdir(parents=True)
        (old / "run.jsonl").write_text("{}\n")
        assert drive(folder).returncode == 0
        assert not old.exists()
        (path,) = find_records(folder / "logs", "small")
        assert read_record(path).status == "succeeded"
        assert bool(list(path.parent.glob("*.log"))) == (not loggers)


def test_config_report_writes_the_page_and_the_summary_line_names_it(tmp_path: Path) -> None:
    folder = make_project(
        tmp_path / "project", SMALL.replace("name: small", "name: small\n  report: true")
    )
    done = drive(folder)
    assert done.returncode == 0, done.stderr
    summary = next(line for line in done.stdout.splitlines() if "succeeded in" in line)
    page = Path(summary.split("; report: ")[1])
    assert page == only_record(folder, "small").parent / "report.html"
    assert read_record(only_record(folder, "small")).run_id in page.read_text(encoding="utf-8")


def test_report_writes_where_asked_and_prints_the_path_and_size(tmp_path: Path) -> None:
    folder = make_project(tmp_path / "project", SMALL)
    assert drive(folder).returncode == 0
    written = flowmancer(folder, "report", "job.yaml", "-o", "out.html")
    assert written.returncode == 0, written.stderr
    assert written.stdout == f"{folder / 'out.html'}\n"
    assert re.search(
        r"report of run \S+ of job 'small' \(succeeded, 3 tasks\): [\d.]+ kB", written.stderr
    )
    assert "<!doctype html>" in (folder / "out.html").read_text(encoding="utf-8")
    default = flowmancer(folder, "report", "job.yaml")
    assert Path(default.stdout.strip()) == only_record(folder, "small").parent / "report.html"


def test_report_says_when_there_is_no_such_run(tmp_path: Path) -> None:
    folder = make_project(tmp_path / "project", SMALL)
    none_yet = flowmancer(folder, "report", "job.yaml")
    assert none_yet.returncode == 1
    assert f"no runs recorded of job 'small' under {folder / 'logs'}" in none_yet.stderr
    assert drive(folder).returncode == 0
    unknown = flowmancer(folder, "report", "job.yaml", "--run", "nope")
    assert unknown.returncode == 2 and "--run nope: no such run of job 'small'" in unknown.stderr


def test_a_damaged_record_is_named_with_its_line_and_the_others_still_listed(
    tmp_path: Path,
) -> None:
    folder = make_project(tmp_path / "project", SMALL)
    assert drive(folder).returncode == 0
    assert drive(folder).returncode == 0
    damaged, kept = find_records(folder / "logs", "small")
    lines = damaged.read_text().splitlines(keepends=True)
    damaged.write_text("".join([*lines[:3], "{not json\n", *lines[3:-1]]))  # no end line
    listed = flowmancer(folder, "runs", "job.yaml")
    assert listed.returncode == 0
    assert f"warning: {damaged}:4: not JSON" in listed.stderr
    assert len(listed.stdout.splitlines()) == 2  # the header and the run that is whole
    report = flowmancer(folder, "report", "job.yaml")
    assert report.returncode == 1 and f"{damaged}:4: not JSON" in report.stderr
    assert "Traceback" not in listed.stderr + report.stderr


def test_a_run_killed_with_kill_9_is_listed_and_reported_as_incomplete(tmp_path: Path) -> None:
    folder = make_project(tmp_path / "project", HANGS)
    kill_9_while_hanging(folder)
    run = read_record(only_record(folder, "hangs"))
    assert (run.status, run.incomplete, run.exit_code) == ("incomplete", True, None)
    assert run.tasks["quick"].state == "COMPLETED"
    (attempt,) = run.tasks["hang"].attempts
    assert (attempt.outcome, attempt.ended) == ("RUNNING", None)
    assert run.tasks["never"].state == "INIT"
    listed = flowmancer(folder, "runs", "job.yaml")
    assert re.search(r"\sincomplete\s+1 completed, 1 running, 1 init$", listed.stdout, re.M)
    report = flowmancer(folder, "report", "job.yaml")
    assert report.returncode == 0, report.stderr
    page = Path(report.stdout.strip()).read_text(encoding="utf-8")
    assert '"status":"incomplete"' in page


def test_an_interrupted_run_is_recorded_as_aborted(tmp_path: Path) -> None:
    folder = make_project(tmp_path / "project", HANGS)
    driver = start_hanging(folder)
    driver.send_signal(signal.SIGINT)
    _, err = driver.communicate(timeout=60)
    assert driver.returncode != 0, err
    run = read_record(only_record(folder, "hangs"))
    assert (run.status, run.aborted) == ("aborted", True)
    assert run.tasks["hang"].state == "ABORTED" and run.tasks["never"].state == "ABORTED"
    assert run.tasks["hang"].attempts[0].outcome == "ABORTED"
    assert textwrap.dedent(run.tasks["hang"].reason or "") == "the run was aborted"
