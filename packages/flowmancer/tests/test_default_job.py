"""``python main.py`` and ``python main.py -r`` without ``-j``: which job file they run.

Without ``-j``: ``job.yaml`` beside the driver. With ``-r``: the job whose run is unfinished
(the driver notes which job file each run came from); several: the user chooses; none: a fresh
run of ``job.yaml``.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from driver_support import MAIN, TASKS, drive


def job(name: str, fail: bool = False) -> str:
    fail_if = ", fail_if: ./broken" if fail else ""
    return (
        f"config: {{name: {name}}}\n"
        "tasks:\n"
        f"  {name}-a: {{task: Step, parameters: {{marker: ./runs.txt}}}}\n"
        f"  {name}-b: {{task: Step, dependencies: [{name}-a], "
        f"parameters: {{marker: ./runs.txt{fail_if}}}}}\n"
        "extensions: {}\n"
    )


def project(tmp_path: Path, jobs: dict[str, str] | None = None) -> Path:
    root = tmp_path / "project"
    (root / "tasks").mkdir(parents=True)
    (root / "tasks" / "steps.py").write_text(TASKS)
    (root / "main.py").write_text(MAIN)
    for name, text in (jobs or {}).items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def ran(root: Path) -> list[str]:
    runs = root / "runs.txt"
    return runs.read_text().split() if runs.exists() else []


def test_without_j_the_driver_runs_job_yaml_beside_it_from_any_folder(tmp_path: Path) -> None:
    root = project(tmp_path, {"job.yaml": job("main")})
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    done = drive(root, cwd=elsewhere)
    assert done.returncode == 0, done.stderr
    assert ran(root) == ["main-a", "main-b"]


def test_without_j_and_without_job_yaml_the_message_names_what_was_looked_for(
    tmp_path: Path,
) -> None:
    root = project(tmp_path)
    for args in ([], ["-r"]):
        done = drive(root, *args)
        assert done.returncode == 2, done.stderr
        assert f"no job file: {root / 'job.yaml'} does not exist" in done.stderr
        assert "-j JOB" in done.stderr and "Traceback" not in done.stderr
    assert not (root / ".flowmancer").exists()


def test_r_without_a_failed_run_starts_job_yaml_fresh(tmp_path: Path) -> None:
    root = project(tmp_path, {"job.yaml": job("main")})
    done = drive(root, "-r")
    assert done.returncode == 0, done.stderr
    assert "no checkpoint for job 'main': starting a fresh run" in done.stderr
    assert ran(root) == ["main-a", "main-b"]


def test_r_alone_resumes_the_job_file_whose_run_failed(tmp_path: Path) -> None:
    root = project(
        tmp_path, {"job.yaml": job("main"), "jobs/nightly.yaml": job("nightly", fail=True)}
    )
    (root / "broken").touch()
    first = drive(root, "-j", "jobs/nightly.yaml")
    assert first.returncode == 1, first.stderr
    assert ran(root) == ["nightly-a"]
    (root / "broken").unlink()
    resumed = drive(root, "-r")
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming job 'nightly' from jobs/nightly.yaml" in resumed.stderr
    assert ran(root) == ["nightly-a", "nightly-b"]  # nightly-a is not run again
    # Finished: nothing is left to resume, so -r is a fresh run of job.yaml.
    again = drive(root, "-r")
    assert again.returncode == 0, again.stderr
    assert ran(root) == ["nightly-a", "nightly-b", "main-a", "main-b"]


def test_r_alone_with_two_unfinished_jobs_asks_which_and_runs_nothing(tmp_path: Path) -> None:
    root = project(
        tmp_path, {"job.yaml": job("main", fail=True), "other.yaml": job("other", fail=True)}
    )
    (root / "broken").touch()
    assert drive(root).returncode == 1
    assert drive(root, "-j", "other.yaml").returncode == 1
    before = ran(root)
    done = drive(root, "-r")
    assert done.returncode == 2, done.stderr
    assert "-r: 2 jobs have an unfinished run here; say which one to resume" in done.stderr
    typed = shlex.join([sys.executable, str(root / "main.py"), "-r"])  # the command given
    assert f"  {typed} -j job.yaml    (job 'main')" in done.stderr
    assert f"  {typed} -j other.yaml    (job 'other')" in done.stderr
    assert ran(root) == before


def test_a_job_renamed_since_its_failure_leaves_no_stale_unfinished_run(tmp_path: Path) -> None:
    root = project(tmp_path, {"job.yaml": job("before", fail=True)})
    (root / "broken").touch()
    assert drive(root).returncode == 1
    (root / "broken").unlink()
    (root / "job.yaml").write_text(job("after"))
    assert drive(root, "-r").returncode == 0  # the same file, under its new name: a fresh run
    assert not list((root / ".flowmancer").glob("*.jobfile"))
