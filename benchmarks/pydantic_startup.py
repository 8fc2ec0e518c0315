"""What pydantic costs a job, with the ``pydantic`` extra installed: nothing unless a task uses it.

Three one-task jobs, each a fresh ``python main.py -j job.yaml`` in a project folder (best of
``--repeat``, everything byte-compiled first, as an installed package is):

- ``plain``: a task written without pydantic, parameters converted by flowmancer-exec;
- ``typed``: the same with parameters of many types (int, float, bool, date, datetime,
  timedelta, Decimal, UUID, list, dict, a union), given as text;
- ``pydantic``: a task with a ``Field(...)`` default and a ``field_validator``, validated by
  pydantic.

For each: the wall time, and — from ``python -X importtime`` of the same run — whether any
``pydantic`` module was imported and the time spent importing everything. The claim measured:
with pydantic installed, ``plain`` and ``typed`` import no pydantic module and cost what they
cost without it; only ``pydantic`` pays for it.

    python benchmarks/pydantic_startup.py [--repeat 7]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

MAIN = "import sys\nfrom flowmancer import Flowmancer\nsys.exit(Flowmancer().start())\n"
TASKS = {
    "plain": (
        "from flowmancer.task import Task, task\n\n"
        "@task\nclass Only(Task):\n    count: int = 1\n\n    def run(self):\n        pass\n"
    ),
    "typed": (
        "import datetime, decimal, uuid\n"
        "from typing import Dict, List, Union\n"
        "from flowmancer.task import Task, task\n\n"
        "@task\nclass Only(Task):\n"
        "    n: int\n    f: float\n    b: bool\n    d: datetime.date\n"
        "    t: datetime.datetime\n    w: datetime.timedelta\n    m: decimal.Decimal\n"
        "    u: uuid.UUID\n    l: List[int]\n    k: Dict[str, float]\n    e: Union[int, str]\n\n"
        "    def run(self):\n        pass\n"
    ),
    "pydantic": (
        "from pydantic import Field, field_validator\n"
        "from flowmancer.task import Task, task\n\n"
        "@task\nclass Only(Task):\n    count: int = Field(default=1, ge=0)\n\n"
        "    @field_validator('count')\n    @classmethod\n    def small(cls, v):\n"
        "        return v\n\n    def run(self):\n        pass\n"
    ),
}
PARAMETERS = {
    "plain": "{count: '2'}",
    "typed": (
        "{n: '1', f: '1.5', b: 'yes', d: '2026-11-26', t: '2026-11-26T10:00:00Z',"
        " w: PT1H, m: '1.25', u: '12345678-1234-5678-1234-567812345678', l: ['1', 2],"
        " k: {a: '1'}, e: '5'}"
    ),
    "pydantic": "{count: '2'}",
}
IMPORT_LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \| (\s*)(\S+)")


def project(folder: Path, kind: str) -> Path:
    (folder / "tasks").mkdir(parents=True)
    (folder / "tasks" / "__init__.py").write_text("")
    (folder / "tasks" / "only.py").write_text(TASKS[kind])
    (folder / "main.py").write_text(MAIN)
    (folder / "job.yaml").write_text(
        "config: {name: bench}\nloggers: {}\nextensions: {}\n"
        f"tasks:\n  only:\n    task: Only\n    parameters: {PARAMETERS[kind]}\n"
    )
    return folder


def best(folder: Path, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "main.py", "-j", "job.yaml"], cwd=folder, capture_output=True
        )
        times.append(time.perf_counter() - start)
        if done.returncode != 0:
            raise SystemExit(f"{folder.name} failed:\n{done.stderr.decode()}")
    return min(times)


def imports(folder: Path) -> tuple[float, float]:
    """Of one run under -X importtime: (ms importing everything, ms importing pydantic's)."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "main.py", "-j", "job.yaml"],
        cwd=folder,
        capture_output=True,
        text=True,
        check=True,
    )
    total = pydantic = 0
    for line in done.stderr.splitlines():
        found = IMPORT_LINE.match(line)
        if found is None:
            continue
        own, name = int(found.group(1)), found.group(4)
        total += own
        if name.partition(".")[0] in ("pydantic", "pydantic_core"):
            pydantic += own
    return total / 1000, pydantic / 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    if importlib.util.find_spec("pydantic") is None:
        raise SystemExit("pydantic is not installed: run it with `hatch run bench:pydantic`")
    root = Path(__file__).resolve().parent.parent
    subprocess.run(
        [
            sys.executable,
            "-m",
            "compileall",
            "-q",
            sysconfig.get_paths()["purelib"],
            *(str(p / "src") for p in (root / "packages").iterdir()),
        ],
        capture_output=True,
    )
    print(
        f"Python {sys.version.split()[0]}, {os.cpu_count()} cores; pydantic installed;"
        f" one-task job, best of {args.repeat}"
    )
    print(f"  {'job':9} {'wall':>8} {'imports':>9} {'of which pydantic':>18}")
    with tempfile.TemporaryDirectory() as scratch:
        for kind in TASKS:
            folder = project(Path(scratch) / kind, kind)
            best(folder, 1)  # compiles the task module, as a second run of a project would
            wall = best(folder, args.repeat)
            total, pydantic = min((imports(folder) for _ in range(3)), key=lambda t: t[0])
            said = f"{pydantic:8.1f} ms" if pydantic else "     none"
            print(f"  {kind:9} {wall * 1000:5.0f} ms {total:6.1f} ms {said:>18}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
