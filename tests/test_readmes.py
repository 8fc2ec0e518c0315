"""Every README runs as written: its install command and its Python code.

Each README (the root one and ``packages/*/README.md``) is read for fenced code blocks:

- Its install command is the ```` ```bash ```` line ``pip install ./packages/...``. The
  packages it names must be exactly the README's own package and the siblings it declares as
  dependencies, and that command builds the README's virtual environment: a fresh venv holding
  those packages (built as wheels from this checkout, once per session, as
  ``scripts/check_isolated.py`` builds them) and what they declare, nothing else.
- A ```` ```python ```` block is run in that venv as a script (``__name__ == "__main__"``),
  from the README's scratch project folder; the ``test_*`` functions it defines are then called.
- A ```` ```python ```` or ```` ```yaml ```` block whose first line is a path comment
  (``# tasks/load.py``, ``# job.yaml``, optionally followed by two spaces and a note) is a file
  of the README's example project: it is written there before any block runs (with an
  ``__init__.py`` in each folder of Python files, as the READMEs tell users to add). A project
  with ``main.py`` and ``job.yaml`` must pass ``python main.py -j job.yaml --dry-run``.
- A ```` ```python ```` block whose first line starts with ``# not run:`` (then the reason,
  which readers see too) is never run: a fragment, or code that needs a cluster or a network.
- Every other block (``console`` transcripts, ``text``, ``bash``, ``mermaid``, ``yaml`` without
  a path) is for reading.

The venvs are made with ``uv`` when it is on PATH (it comes with hatch) and ``pip`` otherwise.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shlex
import shutil
import subprocess
import sys
import venv
from collections.abc import Iterator
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = sorted(p.name for p in (ROOT / "packages").iterdir() if (p / "pyproject.toml").is_file())
READMES = [ROOT / "README.md", *(ROOT / "packages" / p / "README.md" for p in PACKAGES)]

_FENCE = re.compile(r"^```(\S*)[^\n]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
_FILE_LINE = re.compile(r"^# ([\w.-]+(?:/[\w.-]+)*\.(?:py|ya?ml))(?:  .*)?$")
_NOT_RUN = "# not run:"
_INSTALL = re.compile(r"^\s*pip install (\./packages/.*)$", re.MULTILINE)

# Runs a block as a script, then the test functions it defines (pytest-style blocks).
_HARNESS = """\
import runpy, sys
names = runpy.run_path(sys.argv[1], run_name="__main__")
for name, value in list(names.items()):
    if name.startswith("test_") and callable(value):
        value()
"""


@dataclasses.dataclass(frozen=True)
class Block:
    """One fenced code block of a README."""

    readme: Path
    line: int  # of the opening fence
    language: str
    text: str

    @property
    def first_line(self) -> str:
        return self.text.split("\n", 1)[0]

    @property
    def file_path(self) -> str | None:
        """The project path a file block is written to (None: not a file block)."""
        if self.language not in ("python", "yaml"):
            return None
        found = _FILE_LINE.match(self.first_line)
        return found.group(1) if found else None

    @property
    def runs(self) -> bool:
        return (
            self.language == "python"
            and self.file_path is None
            and not self.first_line.startswith(_NOT_RUN)
        )

    @property
    def id(self) -> str:
        return f"{self.readme.relative_to(ROOT)}:{self.line}"


def blocks(readme: Path) -> list[Block]:
    text = readme.read_text(encoding="utf-8")
    return [
        Block(readme, text.count("\n", 0, m.start()) + 1, m.group(1), m.group(2))
        for m in _FENCE.finditer(text)
    ]


def install_command(readme: Path) -> list[str]:
    """The arguments of the README's ``pip install ./packages/...`` command."""
    for block in blocks(readme):
        if block.language != "bash":
            continue
        found = _INSTALL.search(block.text.replace("\\\n", " "))
        if found:
            return shlex.split(found.group(1), comments=True)
    raise AssertionError(f"{readme.relative_to(ROOT)}: no `pip install ./packages/...` command")


def declared_siblings(package: str) -> set[str]:
    """``package`` and every sibling it depends on, directly or not (extras left out)."""
    found = {package}
    with open(ROOT / "packages" / package / "pyproject.toml", "rb") as f:
        requirements = tomllib.load(f)["project"].get("dependencies", [])
    for requirement in requirements:
        name = re.split(r"[<>=!~;\[ @]", requirement, maxsplit=1)[0]
        if name in PACKAGES:
            found |= declared_siblings(name)
    return found


def readme_package(readme: Path) -> str:
    """The package a README is the page of (the root README's is ``flowmancer``)."""
    return readme.parent.name if readme.parent.parent.name == "packages" else "flowmancer"


def named_packages(arguments: list[str]) -> set[str]:
    return {Path(a.split("[")[0]).name for a in arguments if a.startswith("./packages/")}


class Venvs:
    """The session's wheels of this checkout, venvs built from README commands, projects."""

    def __init__(self, scratch: Path) -> None:
        self.scratch = scratch
        self.uv = shutil.which("uv")
        self._wheels: dict[str, Path] | None = None
        self._made: dict[tuple[str, ...], Path] = {}
        self._projects: dict[Path, Path] = {}

    def project_for(self, readme: Path) -> Path:
        """The README's scratch project folder, its file blocks written (made when first asked)."""
        if readme not in self._projects:
            folder = self.scratch / readme.relative_to(ROOT).parent / "project"
            folder.mkdir(parents=True)
            for block in blocks(readme):
                if block.file_path is None:
                    continue
                target = folder / block.file_path
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(block.text, encoding="utf-8")
                if target.suffix == ".py" and target.parent != folder:
                    (target.parent / "__init__.py").touch()
            self._projects[readme] = folder
        return self._projects[readme]

    def wheels(self) -> dict[str, Path]:
        if self._wheels is None:
            out = self.scratch / "wheels"
            sources = [str(ROOT / "packages" / p) for p in PACKAGES]
            if self.uv:
                for source in sources:
                    _check([self.uv, "build", "--quiet", "--wheel", "--out-dir", str(out), source])
            else:
                pip_wheel = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps"]
                _check([*pip_wheel, "--wheel-dir", str(out), *sources])
            self._wheels = {p: _only(out.glob(p.replace("-", "_") + "-*.whl")) for p in PACKAGES}
        return self._wheels

    def python_for(self, arguments: list[str]) -> Path:
        """A venv where ``pip install ARGUMENTS`` ran; ``./packages/X`` means X's wheel."""
        key = tuple(arguments)
        if key not in self._made:
            wheels = self.wheels()
            requirements = []
            for argument in arguments:
                path, bracket, extras = argument.partition("[")
                if argument.startswith("./packages/"):
                    requirements.append(f"{wheels[Path(path).name]}{bracket}{extras}")
                else:
                    requirements.append(argument)
            env = self.scratch / f"venv-{len(self._made)}"
            if self.uv:
                venv.create(env, with_pip=False)
                python = env / "bin" / "python"
                _check(
                    [self.uv, "pip", "install", "--quiet", "--python", str(python), *requirements]
                )
            else:
                venv.create(env, with_pip=True)
                python = env / "bin" / "python"
                _check([str(python), "-m", "pip", "install", "--quiet", *requirements])
            self._made[key] = python
        return self._made[key]


def _check(command: list[str]) -> None:
    result = subprocess.run(command, capture_output=True, text=True, check=False, timeout=600)
    assert result.returncode == 0, f"{shlex.join(command)}:\n{result.stdout}{result.stderr}"


def _only(paths: Iterator[Path]) -> Path:
    found = list(paths)
    assert len(found) == 1, found
    return found[0]


def installed(python: Path) -> set[str]:
    """The flowmancer distributions a venv holds."""
    code = "import importlib.metadata as m\nfor d in m.distributions(): print(d.metadata['Name'])"
    out = subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=True)
    return {n.lower() for n in out.stdout.split() if n.lower().startswith("flowmancer")}


@pytest.fixture(scope="session")
def venvs(tmp_path_factory: pytest.TempPathFactory) -> Venvs:
    return Venvs(tmp_path_factory.mktemp("readme-venvs"))


def _env() -> dict[str, str]:
    # The venv's python alone decides what is importable: nothing of the test env leaks in.
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


RUNNABLE = [block for readme in READMES for block in blocks(readme) if block.runs]
PROJECTS = [
    readme for readme in READMES if {"main.py", "job.yaml"} <= {b.file_path for b in blocks(readme)}
]


@pytest.mark.parametrize("readme", READMES, ids=lambda r: str(r.relative_to(ROOT)))
def test_readme_install_command_names_its_package_and_the_siblings_it_needs(readme: Path) -> None:
    package = readme_package(readme)
    assert named_packages(install_command(readme)) == declared_siblings(package)


@pytest.mark.parametrize("readme", READMES, ids=lambda r: str(r.relative_to(ROOT)))
def test_readme_install_command_makes_a_venv_with_only_those_packages(
    readme: Path, venvs: Venvs
) -> None:
    python = venvs.python_for(install_command(readme))
    assert installed(python) == declared_siblings(readme_package(readme))


def run_in_project(readme: Path, venvs: Venvs, *args: str) -> subprocess.CompletedProcess[str]:
    """``python ARGS`` in the README's venv, from its project folder."""
    return subprocess.run(
        [str(venvs.python_for(install_command(readme))), *args],
        cwd=venvs.project_for(readme),
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("block", RUNNABLE, ids=lambda b: b.id)
def test_readme_python_block_runs_in_its_packages_venv(block: Block, venvs: Venvs) -> None:
    script = venvs.project_for(block.readme) / f"readme_block_{block.line}.py"
    script.write_text(block.text, encoding="utf-8")
    result = run_in_project(block.readme, venvs, "-c", _HARNESS, script.name)
    assert result.returncode == 0, f"{block.id}:\n{result.stdout}{result.stderr}"


@pytest.mark.parametrize("readme", PROJECTS, ids=lambda r: str(r.relative_to(ROOT)))
def test_readme_example_project_passes_a_dry_run(readme: Path, venvs: Venvs) -> None:
    result = run_in_project(readme, venvs, "main.py", "-j", "job.yaml", "--dry-run")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "dry run" in result.stdout + result.stderr
