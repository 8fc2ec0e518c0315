"""The run report: one self-contained HTML page made from a run's record.

The page holds its data once, as JSON in a ``<script type="application/json">`` element, and a
small inline script renders it; CSS and SVG are inline too, and its Content-Security-Policy
lets it load nothing from anywhere (no network at view time), and run no script but its own.
Every string that comes from the run reaches the page's markup through one escaping function
(``esc`` in ``page.js``); the JSON itself is written so that no text in it can end its element.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import tempfile
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._data import earlier_runs, page_data

if TYPE_CHECKING:
    from flowmancer_log import RecordedRun

__all__ = ["REPORT_NAME", "render_page", "write_report"]

REPORT_NAME = "report.html"
_ESCAPES = {
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}


def write_report(run: RecordedRun, out: Path | None = None) -> Path:
    """Write the report of ``run`` (compared with the runs of its job before it) to ``out``,
    ``report.html`` beside its record by default; returns where it went.

    The file is replaced whole (written aside, then renamed), so a reader never sees half a page.
    """
    page = render_page(run, earlier_runs(run))
    target = out if out is not None else run.path.parent / REPORT_NAME
    folder = target.parent
    fd, temporary = tempfile.mkstemp(prefix=".report-", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(page)
        os.chmod(temporary, 0o644)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return target


def render_page(run: RecordedRun, earlier: Sequence[RecordedRun]) -> bytes:
    """The report page of ``run``, as UTF-8 bytes."""
    return _assemble(page_data(run, earlier))


def _assemble(data: dict[str, Any]) -> bytes:
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), default=str)
    for char, escape in _ESCAPES.items():
        text = text.replace(char, escape)
    assets = resources.files(__package__)
    script = assets.joinpath("page.js").read_text(encoding="utf-8")
    style = assets.joinpath("page.css").read_text(encoding="utf-8")
    template = assets.joinpath("page.html").read_text(encoding="utf-8")
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
    # One pass, so nothing substituted is ever looked at again as a placeholder.
    values = {"STYLE": style, "SCRIPT": script, "DATA": text, "SCRIPT_HASH": digest}
    out = []
    rest = template
    while "{{" in rest:
        head, _, tail = rest.partition("{{")
        key, _, rest = tail.partition("}}")
        out += [head, values[key]]
    out.append(rest)
    return "".join(out).encode("utf-8", "backslashreplace")
