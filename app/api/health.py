"""Health endpoint for operators and load balancers."""
from __future__ import annotations

from typing import Any

from engine import calendar_coverage

from ..runtime import get_engine
from . import Blueprint

blp = Blueprint("health", __name__, url_prefix="/api", description="运行状态")


@blp.route("/health")
@blp.response(200)
def health() -> Any:
    """Report whether the database answers and whether the holiday calendar covers the next 60 days.

    ``status`` is ``warning`` while a year within 60 days is not loaded: deadlines reaching it are provisional.
    """
    engine = get_engine()
    database = engine.ping()
    coverage = calendar_coverage(engine)
    calendar = {"ok": coverage.ok, "horizon": coverage.horizon.isoformat(),
                "missing_years": list(coverage.missing_years), "warning": coverage.warning() or None}
    return {"status": "ok" if coverage.ok else "warning", "database": database, "calendar": calendar}
