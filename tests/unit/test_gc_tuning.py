"""A server worker runs with the garbage collector tuned for thousands of open streams."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from boxoffice.gc_tuning import (
    MIDDLE_GENERATION_THRESHOLD,
    OLD_GENERATION_THRESHOLD,
    YOUNG_GENERATION_THRESHOLD,
)

# Run in a process of its own: the tuning is process-wide and freezes what is loaded.
_WORKER = """
import gc, json
from boxoffice.cli import serving_app
before = gc.get_threshold()
serving_app()
print(json.dumps({"before": before, "after": gc.get_threshold(), "frozen": gc.get_freeze_count()}))
"""


def test_the_worker_factory_tunes_the_collector_and_freezes_what_it_loaded(
    tmp_path: Path,
) -> None:
    env = {"BOXOFFICE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'gc.db'}", "PATH": ""}
    done = subprocess.run(
        [sys.executable, "-c", _WORKER], env=env, capture_output=True, text=True, check=True
    )
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["before"] == [700, 10, 10]
    assert seen["after"] == [
        YOUNG_GENERATION_THRESHOLD,
        MIDDLE_GENERATION_THRESHOLD,
        OLD_GENERATION_THRESHOLD,
    ]
    # Everything the app loaded is out of the collector's way: tens of thousands of objects.
    assert seen["frozen"] > 10_000
