"""Running an example where it lies leaves ``git status`` clean: what it writes is ignored.

Each example is run as a user would, in a copy made under ``tmp_path``; every file the runs
add is then asked of git as the path it would have in the checkout (``git check-ignore`` reads
the checkout's ignore files, the root one and the example's own, whether the file is there or
not).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"

# Each project example and the runs that write everything it can: the etl's failing run writes
# ALERT.txt, its resume the warehouse; a run stopped before its cleanup would leave staging/.
RUNS = {
    "quickstart": [[], ["-r", "--var", "fail=false"]],
    "etl": [["--var", "busy=3"], ["-r", "--var", "busy=0"]],
    "custom-logger": [[]],
    "custom-extension": [[]],
}


def files_under(folder: Path) -> set[Path]:
    return {p.relative_to(folder) for p in folder.rglob("*") if p.is_file()}


def not_ignored(paths: list[str]) -> list[str]:
    """Those of ``paths`` (relative to the checkout) that git would show in ``git status``."""
    if not paths:
        return []
    found = subprocess.run(
        ["git", "check-ignore", "--no-index", "--stdin"],
        cwd=ROOT,
        input="\n".join(paths) + "\n",
        capture_output=True,
        text=True,
        check=False,
    )
    assert found.returncode in (0, 1), found.stderr  # 1: none of them ignored
    ignored = set(found.stdout.splitlines())
    return [p for p in paths if p not in ignored]


@pytest.mark.skipif(
    shutil.which("git") is None or not (ROOT / ".git").exists(), reason="not a git checkout"
)
@pytest.mark.parametrize("name", sorted(RUNS))
def test_an_example_run_in_place_writes_only_git_ignored_files(tmp_path: Path, name: str) -> None:
    root = Path(shutil.copytree(EXAMPLES / name, tmp_path / name))
    before = files_under(root)
    for args in RUNS[name]:
        subprocess.run(
            [sys.executable, "main.py", "-j", "job.yaml", *args],
            cwd=root,
            capture_output=True,
            timeout=120,
            check=False,
        )
    # The cleanup removes staging/ on every run; a run stopped before it leaves the folder.
    if name == "etl":
        (root / "staging" / "x.csv").parent.mkdir()
        (root / "staging" / "x.csv").touch()
    written = sorted(str(Path("examples", name, p)) for p in files_under(root) - before)
    assert written, "the example wrote nothing: the runs did not happen"
    assert not_ignored(written) == []
