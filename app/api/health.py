"""Health endpoint for operators and load balancers."""
from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint

from ..runtime import get_engine

blp = Blueprint("health", __name__, url_prefix="/api", description="运行状态")


@blp.route("/health")
@blp.response(200)
def health() -> Any:
    """Report whether the database answers."""
    return {"status": "ok", "database": get_engine().ping()}
