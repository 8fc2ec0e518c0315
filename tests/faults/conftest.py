"""The fault suite: every test here is marked `faults`; `soak` says how hard to push."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

# faults_support.py lives beside this file (importlib mode does not put test folders on sys.path).
sys.path.insert(0, os.path.dirname(__file__))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    soaking = bool(config.getoption("--soak"))
    skip = pytest.mark.skip(reason="a soak case: run with --soak or FLOWMANCER_SOAK=1")
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.faults)
            if not soaking and item.get_closest_marker("soak_only"):
                item.add_marker(skip)


@pytest.fixture(scope="session")
def soak(pytestconfig: pytest.Config) -> bool:
    """True under `--soak` (or FLOWMANCER_SOAK=1): more moments, more seeds, bigger loads."""
    return bool(pytestconfig.getoption("--soak"))
