"""``import flowmancer_log`` leaves the run records' reader (``read_record``, ``find_records``
and their classes) unimported until asked for: a run writes its record but never reads one."""

from __future__ import annotations

import json
import subprocess
import sys


def test_the_record_reader_is_imported_when_asked_for() -> None:
    script = (
        "import json, sys\n"
        "import flowmancer_log\n"
        "out = {'before': 'flowmancer_log._history' in sys.modules}\n"
        "out['class'] = flowmancer_log.RecordedRun.__module__\n"
        "from flowmancer_log import *\n"
        "out['star'] = read_record is flowmancer_log.read_record\n"
        "try:\n"
        "    flowmancer_log.Nope\n"
        "except AttributeError as e:\n"
        "    out['error'] = str(e)\n"
        "print(json.dumps(out))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out == {
        "before": False,
        "class": "flowmancer_log._history",
        "star": True,
        "error": "module 'flowmancer_log' has no attribute 'Nope'",
    }
