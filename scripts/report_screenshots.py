"""Make the README's pictures of the run report: docs/report-graph.png and report-timeline.png.

Runs ``examples/etl`` in a copy three times (the warehouse busy once, once, then for every
attempt, so the last run retries and fails), writes the last run's report, and photographs its
graph and timeline in Debian's headless chromium (``apt-get install chromium chromium-driver``).

    hatch run bench:python scripts/report_screenshots.py     # or any env with selenium
"""

from __future__ import annotations

import importlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FLOWMANCER = "import sys; from flowmancer._cli import main; sys.exit(main())"


def main() -> int:
    sys.path.insert(0, str(ROOT / "tests"))
    driver = importlib.import_module("browser_support").start_chromium()
    try:
        with tempfile.TemporaryDirectory() as scratch:
            etl = Path(scratch) / "etl"
            shutil.copytree(ROOT / "examples" / "etl", etl)
            # `python main.py ...` as a user types it (the report shows the command).
            path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
            for busy in ("1", "1", "3"):
                subprocess.run(
                    ["python", "main.py", "-j", "job.yaml", "--var", f"busy={busy}"],
                    cwd=etl,
                    capture_output=True,
                    check=False,
                    env={**os.environ, "PATH": path},
                )
            written = subprocess.run(
                [sys.executable, "-c", FLOWMANCER, "report", "job.yaml"],
                cwd=etl,
                capture_output=True,
                text=True,
                check=True,
            )
            driver.set_window_size(1280, 620)
            driver.get(Path(written.stdout.strip()).as_uri())
            for view in ("graph", "timeline"):
                driver.find_element("css selector", f'#tabs button[data-view="{view}"]').click()
                target = ROOT / "docs" / f"report-{view}.png"
                target.parent.mkdir(exist_ok=True)
                driver.save_screenshot(str(target))
                print(target)
    finally:
        driver.quit()
    return 0


if __name__ == "__main__":
    sys.exit(main())
