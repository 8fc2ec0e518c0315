from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from flowmancer_checkpoint import Checkpointer

# Helpers live in ckpt_support.py beside this file (importlib mode does not put test folders on
# sys.path by itself).
sys.path.insert(0, os.path.dirname(__file__))

from ckpt_support import BACKENDS

# As in flowmancer-dag: CI replays the same examples; locally each run explores new ones; no
# deadline (a shared machine makes timings meaningless). HYPOTHESIS_PROFILE=soak digs deeper.
settings.register_profile("ci", derandomize=True, max_examples=200, deadline=None)
settings.register_profile("dev", max_examples=100, deadline=None)
settings.register_profile(
    "soak", max_examples=5000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))


@pytest.fixture(params=sorted(BACKENDS))
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def store(backend: str, tmp_path: Path) -> Checkpointer:
    return BACKENDS[backend](tmp_path)
