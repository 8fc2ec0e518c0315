"""What ``import flowmancer_exec`` leaves unimported until it is used: the runner (and asyncio,
about 14 ms of every start), so that a module of tasks stays small (the opt-in fork server
imports the task modules before it forks each attempt). Each check is a fresh interpreter;
the modules the interpreter itself starts with (a coverage hook, say) are not counted."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

LAZY = ["asyncio", "flowmancer_exec._runner", "flowmancer_exec._run_state", "uuid"]


def fresh(code: str) -> dict[str, object]:
    """Run ``code`` in a new interpreter; it leaves a dict in ``out``, printed as JSON, with
    the modules imported by ``code`` under ``"new"``."""
    script = (
        "import json, sys\n"
        "before = set(sys.modules)\n"
        "out = {}\n"
        f"{code}\n"
        "out['new'] = sorted(set(sys.modules) - before)\n"
        "print(json.dumps(out))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout)
    return result


@pytest.mark.parametrize("module", LAZY)
def test_importing_the_package_does_not_import_the_runner(module: str) -> None:
    out = fresh("import flowmancer_exec\nout['task'] = flowmancer_exec.Task.__name__")
    assert out["task"] == "Task"
    assert module not in out["new"]  # type: ignore[operator]


def test_the_runner_is_imported_when_asked_for() -> None:
    out = fresh(
        "import flowmancer_exec\n"
        "out['runner'] = flowmancer_exec.Runner.__module__\n"
        "out['run_id'] = flowmancer_exec.new_run_id()\n"
        "from flowmancer_exec import *\n"
        "out['star'] = Runner is flowmancer_exec.Runner"
    )
    assert out["runner"] == "flowmancer_exec._runner"
    assert "asyncio" in out["new"]  # type: ignore[operator]
    assert out["star"] is True
    # As uuid4().hex[:8] gave them: the time, then eight random hex digits.
    assert re.fullmatch(r"\d{8}T\d{6}Z-[0-9a-f]{8}", str(out["run_id"]))


def test_an_unknown_name_is_still_an_attribute_error() -> None:
    out = fresh(
        "import flowmancer_exec\n"
        "try:\n"
        "    flowmancer_exec.Nope\n"
        "except AttributeError as e:\n"
        "    out['error'] = str(e)"
    )
    assert out["error"] == "module 'flowmancer_exec' has no attribute 'Nope'"
