from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from flowmancer_checkpoint import Checkpointer

# Helpers live in ckpt_support.py beside this file (importlib mode does not put test folders on
# sys.path by itself).
sys.path.insert(0, os.path.dirname(__file__))

from ckpt_support import BACKENDS


@pytest.fixture(params=sorted(BACKENDS))
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def store(backend: str, tmp_path: Path) -> Checkpointer:
    return BACKENDS[backend](tmp_path)
