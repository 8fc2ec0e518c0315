"""A real browser for the report tests: Debian's chromium, driven through its chromedriver.

Nothing is downloaded: the browser and its driver are the system's (``apt-get install chromium
chromium-driver``, which ``.ci/run`` does). Where they are missing the browser tests are skipped,
saying so, except under CI (``CI`` set), where a missing browser is a failure: CI installs it.
Screenshots go to ``tests/artifacts/`` (git-ignored).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ARTIFACTS = Path(__file__).parent / "artifacts"
CHROMIUM = (
    shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
)
CHROMEDRIVER = shutil.which("chromedriver")
MISSING = (
    "Debian's chromium and chromium-driver are not installed "
    "(apt-get install chromium chromium-driver; .ci/run installs them)"
)
# No network, no updates, no first-run chores: the page must need nothing from outside.
FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
    "--window-size=1400,900",
    "--lang=en-GB",
)


def start_chromium() -> Any:
    """A headless chromium that keeps its console messages (the caller quits it).

    Raises:
        RuntimeError: chromium or its driver is not installed.
    """
    if CHROMIUM is None or CHROMEDRIVER is None:
        raise RuntimeError(MISSING)
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


def browser() -> Iterator[Any]:
    """``start_chromium()`` for a fixture: skipped where chromium is missing, failed under CI."""
    import pytest

    if CHROMIUM is None or CHROMEDRIVER is None:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the browser tests: {MISSING}")
        pytest.skip(MISSING)
    driver = start_chromium()
    try:
        yield driver
    finally:
        driver.quit()


def open_page(driver: Any, page: Path) -> None:
    """Load ``page`` and wait until its script has drawn it."""
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get_log("browser")  # forget what earlier pages said
    driver.get(page.as_uri())
    WebDriverWait(driver, 30).until(
        lambda d: d.execute_script("return document.body.dataset.ready === 'true'")
    )


def console_errors(driver: Any) -> list[str]:
    """What the page said at level SEVERE since it was opened (script errors, refused loads)."""
    return [e["message"] for e in driver.get_log("browser") if e.get("level") == "SEVERE"]


def screenshot(driver: Any, name: str) -> Path:
    """A PNG of the window, kept under ``tests/artifacts/report/``."""
    folder = ARTIFACTS / "report"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    driver.save_screenshot(str(path))
    return path
