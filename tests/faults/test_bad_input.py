"""Every broken job file and command line of the corpus (tests/faults/corpus) is refused with one
clear message naming the file and place, a non-zero exit, no traceback, and nothing run or
changed; the driver's words are those of the case's golden file."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from faults_support import run_driver, write_project
from input_support import (
    CORPUS,
    GOOD_JOB,
    NOT_AS_ROOT,
    TASKS,
    case_names,
    problems_with,
    run_case,
    validate_says,
    without_coverage,
)


def test_the_corpus_holds_every_kind_of_bad_input() -> None:
    assert len(case_names()) >= 40


# Each case's driver is bounded by its own timeout (run_driver's 60 s), so the suite-wide 300 s
# guards nothing here but only scales badly: 126 driver processes on a loaded 2-core machine
# (load 35) took longer. The bound is what the cases' own timeouts allow, 4 at a time.
@pytest.mark.timeout(2400)
def test_every_corpus_case_is_refused_clearly_and_changes_nothing(tmp_path: Path) -> None:
    names = [n for n in case_names() if not (n in NOT_AS_ROOT and os.geteuid() == 0)]
    pythonpath = without_coverage(tmp_path / "no-coverage")
    # Each case is its own driver process; two cores run them side by side well enough.
    with ThreadPoolExecutor(max_workers=4) as pool:
        outcomes = list(
            pool.map(lambda name: run_case(name, tmp_path / "cases" / name, pythonpath), names)
        )
    failures = {o.name: problems_with(o) for o in outcomes}
    report = "\n".join(
        f"{name}:\n  " + "\n  ".join(wrong) for name, wrong in failures.items() if wrong
    )
    assert not report, f"corpus cases that misbehaved:\n{report}"


def test_a_dry_run_with_fresh_clears_no_checkpoint(tmp_path: Path) -> None:
    # --fresh clears the checkpoint; under --dry-run it only says it would.
    write_project(tmp_path, TASKS, GOOD_JOB)
    checkpoint = tmp_path / ".flowmancer" / "corpus.json"
    checkpoint.parent.mkdir()
    checkpoint.write_text('{"damaged')
    done = run_driver(tmp_path, "-j", "job.yaml", "-r", "--fresh", "--dry-run")
    assert done.returncode == 0, done.stderr
    assert "checkpoint of job 'corpus' would be cleared" in done.stderr
    assert checkpoint.read_text() == '{"damaged'
    assert not list(tmp_path.glob("ran-*"))


def test_validate_says_what_the_driver_says(tmp_path: Path, soak: bool) -> None:
    if not soak:
        pytest.skip("soak only: as many processes again as the corpus")
    # The cases run as `-j job.yaml`: those of other command lines are the driver's alone.
    names = [n for n in case_names() if not (CORPUS / f"{n}.args").is_file()]
    names = [n for n in names if not (n in NOT_AS_ROOT and os.geteuid() == 0)]
    pythonpath = without_coverage(tmp_path / "no-coverage")
    with ThreadPoolExecutor(max_workers=4) as pool:
        said = dict(
            zip(
                names,
                pool.map(lambda n: validate_says(n, tmp_path / "cases" / n, pythonpath), names),
                strict=True,
            )
        )
    differ = [
        n
        for n, (status, text) in said.items()
        if f"exit: {status}\n{text}" != (CORPUS / f"{n}.expected").read_text()
    ]
    assert not differ, f"flowmancer validate and the driver disagree on: {differ}"
