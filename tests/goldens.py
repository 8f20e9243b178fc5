"""Golden case histories (issue 7): scenario tests record the cases they drive as history files.

``record_golden(name, app_or_engine, case_id)`` at the end of a scenario writes
``tests/data/histories/<name>.json`` when ``TONGBAN_WRITE_GOLDEN=1`` and does nothing otherwise, so an
ordinary run never rewrites a golden; ``tests/integration/test_golden_histories.py`` replays every file.
Regenerate after a deliberate behaviour change (see the README's test section):
``TONGBAN_WRITE_GOLDEN=1 .venv/bin/pytest tests/scenarios --db=sqlite -n 0``.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from engine import load_case_history, write_history

HISTORIES = Path(__file__).resolve().parent / "data" / "histories"


def writing_goldens() -> bool:
    """Whether this run records goldens (``TONGBAN_WRITE_GOLDEN=1``)."""
    return os.environ.get("TONGBAN_WRITE_GOLDEN") == "1"


def record_golden(name: str, app_or_engine: Any, case_id: int) -> Path | None:
    """Write case ``case_id``'s history as golden ``name`` when recording; return the file written, if any."""
    if not writing_goldens():
        return None
    engine = app_or_engine.extensions["tongban"] if hasattr(app_or_engine, "extensions") else app_or_engine
    path = HISTORIES / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    write_history(load_case_history(engine.database, case_id), path)
    return path
