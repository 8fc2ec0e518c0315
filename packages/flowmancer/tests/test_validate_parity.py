"""``flowmancer validate JOB`` accepts exactly what ``python main.py -j JOB`` accepts, and
refuses the rest with the driver's own words."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
SEED = REPO / "tests" / "seed_readme"
COMPAT = REPO / "tests" / "compat" / "project"

STEP = "from flowmancer import Task, task\n\n@task\nclass Step(Task):\n    def run(self): pass\n"
TASK_JOB = "tasks:\n  t: {task: Step}\n"
MAIN = "import sys\nfrom flowmancer import Flowmancer\nsys.exit(Flowmancer().start())\n"


def tree(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


def seed_with_jobs_in_a_folder(root: Path) -> str:
    shutil.copytree(SEED, root, dirs_exist_ok=True)
    (root / "jobs").mkdir()
    (root / "job.yaml").rename(root / "jobs" / "job.yaml")
    return "jobs/job.yaml"


def include_from_the_drivers_folder(root: Path) -> str:
    # 0.12's README: include paths start at the driver's folder, wherever the job file is.
    tree(
        root,
        {
            "main.py": MAIN,
            "tasks/steps.py": STEP,
            "jobdefs/template.yaml": TASK_JOB,
            "jobdefs/complete.yaml": "include: [./jobdefs/template.yaml]\n",
        },
    )
    return "jobdefs/complete.yaml"


def project(files: dict[str, str], job: str = "job.yaml") -> object:
    def make(root: Path) -> str:
        tree(root, {"main.py": MAIN})
        tree(root, files)
        return job

    return make


CASES = {
    "seed README": lambda root: shutil.copytree(SEED, root, dirs_exist_ok=True) and "job.yaml",
    "0.12 project": lambda root: shutil.copytree(COMPAT, root, dirs_exist_ok=True) and "job.yaml",
    "job file in a folder": seed_with_jobs_in_a_folder,
    "include from the driver's folder": include_from_the_drivers_folder,
    "both spellings": project(
        {"tasks/steps.py": STEP, "job.yaml": "tasks:\n  t: {task: Step, variant: Step}\n"}
    ),
    "module fails": project(
        {"tasks/steps.py": STEP, "tasks/bad.py": "1/0\n", "job.yaml": TASK_JOB}
    ),
    "missing folder": project(
        {"tasks/steps.py": STEP, "job.yaml": "config: {extension_directories: [x]}\n" + TASK_JOB}
    ),
    "unknown class": project({"tasks/steps.py": STEP, "job.yaml": "tasks:\n  t: {variant: Stp}\n"}),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_validate_and_the_driver_agree(tmp_path: Path, case: str) -> None:
    root = tmp_path / "project"
    root.mkdir()
    job = CASES[case](root)  # type: ignore[operator]

    def run(*command: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, *command], cwd=root, capture_output=True, text=True, timeout=120
        )

    driver = run("main.py", "-j", job, "--dry-run")
    validate = run(
        "-c", "import sys; from flowmancer._cli import main; sys.exit(main())", "validate", job
    )
    assert "Traceback" not in driver.stderr + validate.stderr
    if driver.returncode == 0:
        assert validate.returncode == 0, validate.stderr
        assert validate.stdout.startswith("ok: ")
    else:
        assert (validate.returncode, validate.stderr) == (driver.returncode, driver.stderr)
    accepted = {"seed README", "0.12 project", "job file in a folder"}
    accepted.add("include from the driver's folder")
    assert (driver.returncode == 0) == (case in accepted), driver.stderr
