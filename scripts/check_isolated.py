"""Test each distribution alone: only it, its declared dependencies and the test tools installed.

Builds a wheel of every package into a scratch folder, then for each package makes a fresh
virtual environment, installs that package by name (its siblings can only come from the scratch
folder, so an undeclared sibling is simply absent) and runs the package's own tests there.

    python scripts/check_isolated.py [flowmancer-dag ...]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = [
    "flowmancer-dag",
    "flowmancer-log",
    "flowmancer-checkpoint",
    "flowmancer-exec",
    "flowmancer",
]
TEST_TOOLS = ["pytest>=8", "hypothesis>=6.100", "pytest-timeout>=2.3", "aiosmtpd>=1.4"]


def run(*command: str | Path, cwd: Path | None = None) -> None:
    print("+", " ".join(str(c) for c in command), flush=True)
    subprocess.run([str(c) for c in command], check=True, cwd=cwd)


def version_of(package: str) -> str:
    # A regex rather than tomllib, which Python 3.10 lacks.
    text = (ROOT / "packages" / package / "pyproject.toml").read_text()
    found = re.search(r'^version = "([^"]+)"', text, re.MULTILINE)
    if not found:
        raise SystemExit(f"packages/{package}/pyproject.toml: no version")
    return found.group(1)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("packages", nargs="*", metavar="PACKAGE", help=", ".join(PACKAGES))
    chosen = parser.parse_args().packages or PACKAGES
    unknown = sorted(set(chosen) - set(PACKAGES))
    if unknown:
        parser.error(f"unknown package(s): {', '.join(unknown)}; choose from {', '.join(PACKAGES)}")
    with tempfile.TemporaryDirectory(prefix="flowmancer-isolated-") as scratch:
        tmp = Path(scratch)
        wheels = tmp / "wheels"
        run(
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--wheel-dir",
            wheels,
            *(ROOT / "packages" / p for p in PACKAGES),
        )
        failed = []
        for package in chosen:
            print(f"\n=== {package} alone ===", flush=True)
            env = tmp / f"venv-{package}"
            venv.create(env, with_pip=True)
            python = env / "bin" / "python"
            # Pinning the exact version keeps the index's unrelated `flowmancer` 0.12.4 out.
            requirement = f"{package}=={version_of(package)}"
            run(
                python,
                "-m",
                "pip",
                "install",
                "--quiet",
                "--find-links",
                wheels,
                requirement,
                *TEST_TOOLS,
            )
            run(python, "-m", "pip", "list", "--format=freeze")
            tests = ROOT / "packages" / package / "tests"
            result = subprocess.run(
                [
                    str(python),
                    "-m",
                    "pytest",
                    "-p",
                    "no:cacheprovider",
                    "--rootdir",
                    str(ROOT),
                    "-c",
                    str(ROOT / "pyproject.toml"),
                    str(tests),
                ],
                cwd=tmp,
            )
            if result.returncode != 0:
                failed.append(package)
    if failed:
        print(f"\nfailed alone: {', '.join(failed)}", file=sys.stderr)
        return 1
    print(f"\nall {len(chosen)} packages pass alone")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except subprocess.CalledProcessError as error:
        print(f"\nstep failed (exit {error.returncode}): {' '.join(error.cmd)}", file=sys.stderr)
        sys.exit(1)
