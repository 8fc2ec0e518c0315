"""Options for the cross-package tests: `--soak` makes the fault suite long and thorough."""

from __future__ import annotations

import os

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--soak",
        action="store_true",
        default=bool(os.environ.get("FLOWMANCER_SOAK")),
        help="run the fault suite (tests/faults) in its long soak mode (also FLOWMANCER_SOAK=1)",
    )
