"""A Dask worker's fork server, driven as the worker drives it (no cluster needed): each attempt
runs the version of the project's code it names, also after the server dropped that version."""

from __future__ import annotations

import asyncio
import hashlib
import sys
import textwrap
import types
from pathlib import Path

import pytest

from flowmancer_exec import Attempt, AttemptResult, LogRecord

cloudpickle = pytest.importorskip("cloudpickle")

from flowmancer_exec._dask_code import CodeBundle, ShippedModule  # noqa: E402
from flowmancer_exec._dask_fork import ForkServer  # noqa: E402
from flowmancer_exec._dask_install import KEPT_VERSIONS  # noqa: E402
from flowmancer_exec._dask_worker import Settings, unpack  # noqa: E402

MODULE = "fork_server_project"

SOURCE = """\
from flowmancer_exec import Task


class Say(Task):
    def run(self):
        print("version {version}")
"""


def bundle(folder: Path, version: int) -> CodeBundle:
    source = textwrap.dedent(SOURCE.format(version=version)).encode()
    file = str(folder / f"{MODULE}.py")
    digest = hashlib.sha256(source).hexdigest()
    return CodeBundle(
        "project", digest, (ShippedModule(MODULE, file, source, False),), (), (str(folder),)
    )


def test_each_attempt_runs_the_version_it_names_also_one_the_server_dropped(
    tmp_path: Path,
) -> None:
    # The driver's side: the task class as the driver loaded it (pickled by reference).
    module = types.ModuleType(MODULE)
    exec(SOURCE.format(version=0), module.__dict__)
    sys.modules[MODULE] = module
    try:
        attempt = Attempt("job", "run", "say", module.Say, {}, (), 1, False, {})
        payload = cloudpickle.dumps(attempt)
    finally:
        del sys.modules[MODULE]
    versions = [*range(KEPT_VERSIONS + 2), 0, KEPT_VERSIONS + 1]

    async def run_all() -> list[tuple[AttemptResult, list[LogRecord]]]:
        server = ForkServer(asyncio.get_running_loop())
        ends = []
        try:
            for number, version in enumerate(versions):
                code = bundle(tmp_path, version)
                settings = Settings(
                    f"key-{number}", code.digest, "job", "run", "say", 1, 5.0, 10.0, False
                )
                data = await server.start(settings.key, payload, code, settings)
                ends.append(unpack(data, attempt))
        finally:
            server.close()
        return ends

    ends = asyncio.run(run_all())
    said = [[r.message for r in records if r.stream == "stdout"] for _, records in ends]
    assert [result.ok for result, _ in ends] == [True] * len(versions), ends
    # Version 0 had been dropped by the server (more than KEPT_VERSIONS after it): sent again.
    assert said == [[f"version {v}"] for v in versions]
